"""Step Functions tasks of the order workflow: `{"task": <name>, "orderId": ...}` in, a small
result out. Errors leave by their class name (`OrderNotFound`, `OrderNotActive`,
`TransientError`) for the state machine's Retry and Catch."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from commerce.observability import count, logger, observed
from orders import bootstrap, service


def _reason(error: Any) -> str:
    if not isinstance(error, dict):
        return "workflow step failed"
    cause = error.get("Cause") or ""
    try:
        message = json.loads(cause).get("errorMessage") if cause.startswith("{") else cause
    except ValueError:
        message = cause
    return f"{error.get('Error', 'Error')}: {message}"[:500]


def _compensate(event: dict[str, Any]) -> dict[str, Any]:
    return service.compensate(
        bootstrap.orders(), str(event["orderId"]), str(event["outcome"]), _reason(event.get("error"))
    )


def _simple(step: Callable[[service.Orders, str], dict[str, Any]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda event: step(bootstrap.orders(), str(event["orderId"]))


TASKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "capture_payment": _simple(service.capture_payment),
    "commit_stock": _simple(service.commit_stock),
    "issue_invoice": _simple(service.issue_invoice),
    "request_fulfilment": _simple(service.request_fulfilment),
    "confirm_order": _simple(service.confirm_order),
    "compensate": _compensate,
}


class UnknownTask(Exception):
    pass


COMPENSATIONS = "Compensations"
COMPENSATIONS_FAILED = "CompensationsFailed"
"""Attempts of the workflow's compensation, and those that raised (Step Functions retries them; a
compensation that never succeeds fails the execution and leaves the order to the reconciler)."""


@observed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    name = str(event.get("task"))
    task = TASKS.get(name)
    if task is None:
        raise UnknownTask(f"unknown task {event.get('task')!r}")
    logger().append_keys(orderId=event.get("orderId"), task=name)
    compensating = name == "compensate"
    if compensating:
        count(COMPENSATIONS)
    try:
        result = task(event)
    except Exception as exc:
        if compensating:
            count(COMPENSATIONS_FAILED)
        logger().warning("workflow task failed", extra={"error": type(exc).__name__})
        raise
    logger().info("workflow task done", extra={"result": result.get("status")})
    return result
