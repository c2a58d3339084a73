"""Idempotency-Key handling on top of Powertools idempotency (DynamoDB persistence).

Keys are scoped to the caller and the operation; the request body is validated so the same
key with another body is refused; the stored first response is replayed byte for byte."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from typing import Any

from commerce.config import setting
from commerce.dynamo import retrying
from commerce.errors import Conflict, ValidationFailed

HEADER = "idempotency-key"
MAX_WAIT_SECONDS = 10.0
EXPIRES_AFTER_SECONDS = 24 * 3600


def idempotency_key(headers: dict[str, str] | None) -> str:
    key = next((v for k, v in (headers or {}).items() if k.lower() == HEADER), None)
    if key is None or not 1 <= len(key) <= 255:
        raise ValidationFailed(
            "An Idempotency-Key header of 1 to 255 characters is required.",
            errors=[{"field": "Idempotency-Key", "message": "required, 1-255 characters"}],
        )
    return key


class RetryingWrites:
    """A DynamoDB client whose writes go through `commerce.dynamo.retrying`: the idempotency
    record's conditional put, update and delete are run again when DynamoDB refused them with a
    conflict or throttle (nothing applied); everything else is the wrapped client's."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_item(self, **kwargs: Any) -> Any:
        return retrying(lambda: self._client.put_item(**kwargs), what="idempotency record write")

    def update_item(self, **kwargs: Any) -> Any:
        return retrying(lambda: self._client.update_item(**kwargs), what="idempotency record write")

    def delete_item(self, **kwargs: Any) -> Any:
        return retrying(lambda: self._client.delete_item(**kwargs), what="idempotency record write")


@cache
def _persistence() -> Any:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from commerce.dynamo import client as dynamodb_client

    client = RetryingWrites(dynamodb_client())
    return DynamoDBPersistenceLayer(table_name=setting("IDEMPOTENCY_TABLE"), boto3_client=client)


def run_once(
    *,
    scope: str,
    operation: str,
    key: str,
    body: Any,
    fn: Callable[[], dict[str, Any]],
    lambda_context: Any = None,
) -> dict[str, Any]:
    """Run `fn` once per (scope, operation, key); later calls get its stored result."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    config = IdempotencyConfig(
        event_key_jmespath="[scope, operation, key]",
        payload_validation_jmespath="body",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=EXPIRES_AFTER_SECONDS,
    )
    if lambda_context is not None:
        config.register_lambda_context(lambda_context)

    def once(request: dict[str, Any]) -> dict[str, Any]:
        return fn()

    guarded = idempotent_function(
        once, data_keyword_argument="request", persistence_store=_persistence(), config=config
    )
    request = {"scope": scope, "operation": operation, "key": key, "body": body}
    deadline = time.monotonic() + _wait_budget(lambda_context)
    pause = 0.05
    while True:
        try:
            result: dict[str, Any] = guarded(request=request)
            return result
        except IdempotencyAlreadyInProgressError as exc:
            # A copy sent at the same moment: wait for the first to finish and answer with its
            # stored response, rather than make the client retry.
            if time.monotonic() + pause > deadline:
                raise Conflict(
                    "A request with this Idempotency-Key is still being processed.",
                    code="idempotency_in_progress",
                    retry_after=1,
                ) from exc
            time.sleep(pause)
            pause = min(pause * 2, 0.5)
        except IdempotencyValidationError as exc:
            raise ValidationFailed(
                "This Idempotency-Key was already used with another request body.",
                code="idempotency_key_reused",
            ) from exc


def _wait_budget(lambda_context: Any) -> float:
    """How long a duplicate may wait for the first copy: up to 10 s, leaving 2 s of the
    function's own time to answer."""
    if lambda_context is None:
        return MAX_WAIT_SECONDS
    remaining = lambda_context.get_remaining_time_in_millis() / 1000 - 2
    return max(0.0, min(MAX_WAIT_SECONDS, remaining))
