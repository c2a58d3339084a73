"""The order workflow's executions, for the reconciler: is one running, and start another.

The first execution of an order is named after it (checkout starts it, exactly once); the
reconciler's restarts are named `<order id>-r<attempt>`, the attempt counted on the order."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from commerce.config import setting


@cache
def _sfn() -> Any:
    import boto3

    return boto3.client("stepfunctions")


def execution_name(order_id: str, attempt: int) -> str:
    return order_id if attempt == 0 else f"{order_id}-r{attempt}"


class StepFunctionsWorkflows:
    def running(self, order_id: str, attempt: int) -> bool:
        machine = setting("ORDER_WORKFLOW_ARN")
        arn = machine.replace(":stateMachine:", ":execution:", 1) + f":{execution_name(order_id, attempt)}"
        client = _sfn()
        try:
            return bool(client.describe_execution(executionArn=arn)["status"] == "RUNNING")
        except client.exceptions.ExecutionDoesNotExist:
            return False

    def restart(self, order_id: str, attempt: int, correlation_id: str | None) -> None:
        client = _sfn()
        try:
            client.start_execution(
                stateMachineArn=setting("ORDER_WORKFLOW_ARN"),
                name=execution_name(order_id, attempt),
                input=json.dumps(
                    {"orderId": order_id, **({"correlationId": correlation_id} if correlation_id else {})}
                ),
            )
        except client.exceptions.ExecutionAlreadyExists:
            return
