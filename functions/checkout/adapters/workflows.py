"""Step Functions: the order workflow and the reservation expiry, one execution per order,
named after it, so a repeated start is a no-op."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from commerce.config import setting
from commerce.observability import logger


@cache
def _sfn() -> Any:
    import boto3

    return boto3.client("stepfunctions")


def _start(machine_setting: str, name: str, payload: dict[str, Any], correlation_id: str | None) -> None:
    """Start one execution; its input carries the order's correlation id (or the caller's own)."""
    from commerce.observability import current_correlation_id

    correlation = correlation_id or current_correlation_id()
    if correlation:
        payload = {**payload, "correlationId": correlation}
    client = _sfn()
    try:
        client.start_execution(stateMachineArn=setting(machine_setting), name=name, input=json.dumps(payload))
    except client.exceptions.ExecutionAlreadyExists:
        return


class StepFunctionsWorkflows:
    def start_order(self, order_id: str, correlation_id: str | None) -> None:
        _start("ORDER_WORKFLOW_ARN", order_id, {"orderId": order_id}, correlation_id)

    def schedule_expiry(self, order_id: str, seconds: int, correlation_id: str | None) -> None:
        _start("RESERVATION_WORKFLOW_ARN", order_id, {"orderId": order_id, "expiresInSeconds": seconds}, correlation_id)

    def cancel_expiry(self, order_id: str) -> None:
        """Stop the order's waiting expiry execution. Best effort: the expiry task checks the order's
        status anyway, so a failure here is logged and never fails the payment that settled it."""
        from botocore.exceptions import ClientError

        machine = setting("RESERVATION_WORKFLOW_ARN")
        execution = machine.replace(":stateMachine:", ":execution:", 1) + f":{order_id}"
        try:
            _sfn().stop_execution(executionArn=execution, cause="the order is no longer waiting for payment")
        except ClientError as exc:
            logger().warning("could not stop the expiry of order", extra={"orderId": order_id, "error": str(exc)})
