"""Conflicts and throttling of DynamoDB writes: classified once (commerce.dynamo), retried with
bounded jittered backoff, surfaced as TransientError; failed conditions keep their meaning."""

from __future__ import annotations

from typing import Any

import pytest
from pynamodb.exceptions import CancellationReason, PutError, TransactWriteError, UpdateError, VerboseClientError

from commerce.dynamo import (
    RETRY_ATTEMPTS,
    backoff_delay,
    is_retryable,
    refused_by_condition,
    retrying,
)
from commerce.errors import DependencyUnavailable, TransientError
from commerce.http import problem_response, unexpected_problem


def _client_error(code: str, reasons: list[str] | None = None) -> VerboseClientError:
    return VerboseClientError(
        {"Error": {"Code": code, "Message": code}},
        "TransactWriteItems",
        cancellation_reasons=[None if r == "None" else CancellationReason(code=r) for r in reasons or []],
    )


def cancelled(*reasons: str) -> TransactWriteError:
    return TransactWriteError(
        "Failed to write transaction items", _client_error("TransactionCanceledException", list(reasons))
    )


def refused(kind: type[Exception], code: str) -> Exception:
    return kind("Failed", _client_error(code))


@pytest.mark.parametrize(
    "exc",
    [
        cancelled("None", "TransactionConflict"),
        cancelled("ConditionalCheckFailed", "TransactionConflict"),
        cancelled("ThrottlingError"),
        cancelled("ProvisionedThroughputExceeded", "None"),
        refused(UpdateError, "TransactionConflictException"),
        refused(PutError, "ProvisionedThroughputExceededException"),
        refused(UpdateError, "ThrottlingException"),
        refused(PutError, "RequestLimitExceeded"),
    ],
)
def test_conflicts_and_throttles_are_retryable(exc: Exception) -> None:
    assert is_retryable(exc)
    assert not refused_by_condition(exc)


@pytest.mark.parametrize(
    "exc",
    [
        cancelled("None", "ConditionalCheckFailed"),
        refused(UpdateError, "ConditionalCheckFailedException"),
        refused(PutError, "ValidationException"),
        cancelled("ValidationError"),
        ValueError("not a DynamoDB error"),
    ],
)
def test_conditions_and_other_errors_are_not(exc: Exception) -> None:
    assert not is_retryable(exc)


def test_a_transaction_refused_only_by_conditions_keeps_its_meaning() -> None:
    assert refused_by_condition(cancelled("None", "ConditionalCheckFailed", "None"))
    assert not refused_by_condition(cancelled("ConditionalCheckFailed", "TransactionConflict"))


def test_botocore_client_errors_are_classified_too() -> None:
    from botocore.exceptions import ClientError

    conflict = ClientError(
        {
            "Error": {"Code": "TransactionCanceledException"},
            "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
        },
        "TransactWriteItems",
    )
    assert is_retryable(conflict)
    assert is_retryable(ClientError({"Error": {"Code": "ThrottlingException"}}, "UpdateItem"))
    assert not is_retryable(ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "UpdateItem"))


class Flaky:
    """Fails with the given errors, then returns 'done'."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def test_a_conflict_is_retried_until_the_write_goes_through() -> None:
    waits: list[float] = []
    write = Flaky(cancelled("TransactionConflict"), refused(UpdateError, "ThrottlingException"))
    assert retrying(write, sleep=waits.append, rand=lambda: 1.0) == "done"
    assert write.calls == 3 and waits == [0.05, 0.1]


def test_a_failed_condition_is_not_retried() -> None:
    write = Flaky(cancelled("ConditionalCheckFailed"))
    with pytest.raises(TransactWriteError):
        retrying(write, sleep=lambda _: None)
    assert write.calls == 1


def test_exhausted_retries_surface_as_transient_error_a_503_with_retry_after() -> None:
    waits: list[float] = []
    write = Flaky(*[cancelled("TransactionConflict") for _ in range(10)])
    with pytest.raises(TransientError) as raised:
        retrying(write, sleep=waits.append, rand=lambda: 1.0, what="stock reservation")
    assert write.calls == RETRY_ATTEMPTS
    assert sum(waits) < 2.0 and len(waits) == RETRY_ATTEMPTS - 1
    error = raised.value
    assert type(error).__name__ == "TransientError", "the workflows' Retry matches the class name"
    assert isinstance(error, DependencyUnavailable) and error.status == 503
    response = problem_response(error)
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert "TransactionConflict" not in error.detail


def test_backoff_is_full_jitter_bounded() -> None:
    assert [backoff_delay(n, rand=lambda: 1.0) for n in range(1, 8)] == [0.05, 0.1, 0.2, 0.4, 0.8, 0.8, 0.8]
    assert backoff_delay(3, rand=lambda: 0.0) == 0.0


def test_reads_throttled_after_botocore_retries_are_a_503_not_a_500() -> None:
    from pynamodb.exceptions import GetError

    throttled: Any = refused(GetError, "ProvisionedThroughputExceededException")
    assert unexpected_problem(throttled).status == 503
    assert unexpected_problem(ValueError("bug")).status == 500


def test_the_idempotency_store_retries_its_writes_through_conflicts() -> None:
    from botocore.exceptions import ClientError

    from commerce.idempotency import RetryingWrites

    class Client:
        def __init__(self) -> None:
            self.calls = 0
            self.exceptions = "modelled exceptions"

        def put_item(self, **kwargs: Any) -> dict[str, Any]:
            self.calls += 1
            if self.calls == 1:
                raise ClientError({"Error": {"Code": "TransactionConflictException"}}, "PutItem")
            return {"put": kwargs}

        def delete_item(self, **kwargs: Any) -> None:
            raise ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "DeleteItem")

    client = Client()
    wrapped = RetryingWrites(client)
    assert wrapped.put_item(TableName="t") == {"put": {"TableName": "t"}} and client.calls == 2
    assert wrapped.exceptions == "modelled exceptions"
    with pytest.raises(ClientError):
        wrapped.delete_item(TableName="t")


def test_a_wrapped_transient_error_is_still_a_503() -> None:
    class PersistenceError(Exception):
        pass

    try:
        try:
            raise TransientError("busy", retry_after=1)
        except TransientError as inner:
            raise PersistenceError("Failed to save in progress record") from inner
    except PersistenceError as outer:
        assert unexpected_problem(outer).status == 503
