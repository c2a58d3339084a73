"""PynamoDB helpers every service's adapters share."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from commerce.config import region, setting
from commerce.errors import TransientError

_T = TypeVar("_T")
_log = logging.getLogger("commerce.dynamo")


def bind(table_setting: str, *models: Any) -> None:
    """Point PynamoDB models at the table a setting names, on first use rather than at import,
    and let them share one botocore client (`share_client`)."""
    for model in models:
        if model.Meta.table_name is None:
            model.Meta.table_name = setting(table_setting)
            model.Meta.region = region()
        share_client(model)


@cache
def _connection(region_name: str) -> Any:
    from pynamodb.connection import Connection

    return Connection(region=region_name)


def client() -> Any:
    """The process's one DynamoDB client (botocore's, that of `transaction()` and every PynamoDB
    model), for code that calls DynamoDB itself (the idempotency store, analytics' counters): a
    client built in a session of its own costs about 90 ms of CPU on a cold start."""
    return _connection(region()).client


def share_client(model: Any) -> None:
    """Give a model's PynamoDB connection the process's one DynamoDB client. PynamoDB builds a
    botocore session and client per model class (each about 90 ms of CPU on a cold start: a
    request reading an order, its shipments, returns and invoice built four); every model here
    uses PynamoDB's default client settings, so one client (that of `transaction()`) serves all."""
    connection = model._get_connection().connection
    if connection._client is None:
        connection._client = _connection(model.Meta.region or region()).client


def transaction() -> Any:
    """A PynamoDB TransactWrite on one Connection per process (a new Connection builds a new
    botocore client: about 90 ms of CPU each time)."""
    from pynamodb.transactions import TransactWrite

    return TransactWrite(connection=_connection(region()))


def plain(value: Any) -> Any:
    """A PynamoDB attribute value (raw MapAttribute, list, dict) as plain Python data."""
    from pynamodb.attributes import MapAttribute

    if isinstance(value, MapAttribute):
        return {k: plain(v) for k, v in value.attribute_values.items()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def key_to_cursor(key: dict[str, Any] | None) -> dict[str, Any] | None:
    """A LastEvaluatedKey of string attributes (DynamoDB JSON) as plain JSON, for a list cursor."""
    return {name: next(iter(value.values())) for name, value in key.items()} if key else None


def key_from_cursor(
    key: dict[str, Any] | None, names: tuple[str, ...], fixed: dict[str, str] | None = None
) -> dict[str, Any] | None:
    """The inverse of `key_to_cursor`: an ExclusiveStartKey, if the cursor's key has exactly the
    key attributes `names` of the table or index read, all strings, and the values of `fixed`
    (the partition the query reads); anything else is the caller's error (422), never a request
    DynamoDB would refuse."""
    from commerce.errors import ValidationFailed

    if not key:
        return None
    valid = set(key) == set(names) and all(isinstance(v, str) and 0 < len(v) <= 1024 for v in key.values())
    if not valid or any(key.get(name) != value for name, value in (fixed or {}).items()):
        raise ValidationFailed(
            "The cursor is not valid for this list.", errors=[{"field": "cursor", "message": "unknown cursor"}]
        )
    return {name: {"S": str(value)} for name, value in key.items()}


# --- conflicts and throttling ----------------------------------------------------------------

RETRYABLE_ERROR_CODES = frozenset(
    {
        "TransactionConflictException",
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
    }
)
"""Error codes of a DynamoDB request that was refused before it applied anything: a single-item
write that met a transaction in progress, or throttling (hot partition, account request limit)."""

RETRYABLE_CANCELLATION_CODES = frozenset({"TransactionConflict", "ProvisionedThroughputExceeded", "ThrottlingError"})
"""Cancellation reasons of a TransactWriteItems that make it worth running again: a cancelled
transaction applied nothing, so the same conditional transaction is safe to repeat."""

RETRY_ATTEMPTS = 5
RETRY_BASE_SECONDS = 0.05
RETRY_CAP_SECONDS = 0.8
"""Full-jitter exponential backoff: attempt n waits up to min(cap, base * 2**n), so the four
waits of five attempts add up to at most 0.05 + 0.1 + 0.2 + 0.4 = 0.75 s (under 2 s with the
requests themselves)."""


def error_code(exc: BaseException) -> str | None:
    """The DynamoDB error code of a PynamoDB exception or a botocore ClientError."""
    code = getattr(exc, "cause_response_code", None)
    if code:
        return str(code)
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        found = (response.get("Error") or {}).get("Code")
        return str(found) if found else None
    return None


def cancellation_codes(exc: BaseException) -> set[str]:
    """The reasons a transaction was cancelled ("None" entries left out)."""
    reasons: Any = None
    try:
        reasons = getattr(exc, "cancellation_reasons", None)
    except AttributeError:
        reasons = None
    codes: set[str] = set()
    for reason in reasons or []:
        code = getattr(reason, "code", None) if reason is not None else None
        if code and code != "None":
            codes.add(str(code))
    response = getattr(exc, "response", None)
    if not codes and isinstance(response, dict):
        for reason in response.get("CancellationReasons") or []:
            code = reason.get("Code") if isinstance(reason, dict) else None
            if code and code != "None":
                codes.add(str(code))
    return codes


def is_retryable(exc: BaseException) -> bool:
    """True for a conflict or throttle that applied nothing. A failed condition is an answer,
    not a conflict: a transaction cancelled only by conditions is not retryable."""
    if cancellation_codes(exc) & RETRYABLE_CANCELLATION_CODES:
        return True
    return error_code(exc) in RETRYABLE_ERROR_CODES


def refused_by_condition(exc: Any) -> bool:
    """True when a cancelled transaction failed only on conditions (not throttling or conflicts)."""
    return cancellation_codes(exc) == {"ConditionalCheckFailed"}


def backoff_delay(attempt: int, *, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after failed attempt `attempt` (1-based): full jitter, capped."""
    return rand() * min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** (attempt - 1))


def retrying(
    write: Callable[[], _T],
    *,
    what: str = "database write",
    attempts: int = RETRY_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
    on_retry: Callable[[BaseException, int], None] | None = None,
) -> _T:
    """Run `write` (a whole conditional write or transaction, safe to repeat because a refused
    request applied nothing) until it is not refused by a conflict or throttle, at most
    `attempts` times. Other errors, failed conditions among them, pass through at once. Still
    refused after the last attempt: `TransientError` (a 503 over HTTP, retried by the workflows)."""
    for attempt in range(1, attempts + 1):
        try:
            return write()
        except Exception as exc:
            if not is_retryable(exc):
                raise
            if attempt == attempts:
                raise TransientError(
                    f"The {what} met a conflict or throttling {attempts} times; retry shortly.", retry_after=1
                ) from exc
            if on_retry is not None:
                on_retry(exc, attempt)
            _log.warning(
                "dynamodb retry: %s refused (%s), attempt %d of %d",
                what,
                ",".join(sorted(cancellation_codes(exc))) or error_code(exc),
                attempt,
                attempts,
            )
            sleep(backoff_delay(attempt, rand=rand))
    raise AssertionError("unreachable")
