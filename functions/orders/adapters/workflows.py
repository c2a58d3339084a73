"""The order workflow's restarts, for the reconciler. The first execution of an order is named
after it (checkout starts it); a restart is named `<order id>-r<attempt>`, the attempt counted on
the order, so each execution's logs name the order and the try."""

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
    def restart(self, order_id: str, attempt: int, correlation_id: str | None) -> None:
        _sfn().start_execution(
            stateMachineArn=setting("ORDER_WORKFLOW_ARN"),
            name=execution_name(order_id, attempt),
            input=json.dumps({"orderId": order_id, **({"correlationId": correlation_id} if correlation_id else {})}),
        )
