"""The order workflow (Step Functions, Express) and the reservation expiry (an SQS delayed message).

An Express execution is at-least-once and its name is not unique: a second start with the same
name runs a second execution. Every task of the workflow is idempotent, so a duplicate changes
nothing twice; checkout still starts it only from the write that made the order PAID, so a
duplicate is rare. A start that fails is logged and counted (`WorkflowStartsFailed`); the order
stays PAID and the reconciler starts its workflow once no execution of it can be running.

The expiry is one message per unpaid order, delayed until its reservation runs out (SQS delays up
to 15 minutes; the consumer sends a longer one on again). No execution waits, so nothing is
stopped when the order is paid: the message arrives, finds the order settled and does nothing.
"""

from __future__ import annotations

import json
import time
from functools import cache
from typing import Any

from commerce.config import setting
from commerce.observability import count, logger

MAX_DELAY_SECONDS = 900
"""SQS's longest delivery delay."""


@cache
def _client(service: str) -> Any:
    import boto3

    return boto3.client(service)


def expiry_message(order_id: str, expires_at: int, correlation_id: str | None) -> dict[str, Any]:
    """The ReservationExpiry message: the order and when (epoch seconds) its reservation runs out."""
    message: dict[str, Any] = {"orderId": order_id, "expiresAt": expires_at}
    if correlation_id:
        message["correlationId"] = correlation_id
    return message


def send_expiry(message: dict[str, Any], now: float) -> None:
    """Queue `message` to arrive when its reservation runs out, or in 15 minutes if that is later."""
    delay = max(0, min(MAX_DELAY_SECONDS, int(message["expiresAt"] - now)))
    _client("sqs").send_message(
        QueueUrl=setting("RESERVATION_QUEUE_URL"), MessageBody=json.dumps(message), DelaySeconds=delay
    )


class AwsWorkflows:
    def start_order(self, order_id: str, correlation_id: str | None) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        from commerce.observability import current_correlation_id

        correlation = correlation_id or current_correlation_id()
        payload = {"orderId": order_id, **({"correlationId": correlation} if correlation else {})}
        try:
            _client("stepfunctions").start_execution(
                stateMachineArn=setting("ORDER_WORKFLOW_ARN"), name=order_id, input=json.dumps(payload)
            )
        except (BotoCoreError, ClientError) as exc:
            count("WorkflowStartsFailed")
            logger().error("could not start the order workflow", extra={"orderId": order_id, "error": str(exc)})

    def schedule_expiry(self, order_id: str, seconds: int, correlation_id: str | None) -> None:
        now = time.time()
        send_expiry(expiry_message(order_id, int(now) + seconds, correlation_id), now)
