"""Step Functions tasks of the order workflow: `{"task": <name>, ...}` in, the task's output out.
Errors leave by their class name (e.g. `OrderNotFound`) for the state machine's Catch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orders import bootstrap, service


def _load_order(event: dict[str, Any]) -> dict[str, Any]:
    return service.load_order(bootstrap.orders(), str(event["orderId"]))


TASKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {"load_order": _load_order}


class UnknownTask(Exception):
    pass


def run(event: dict[str, Any]) -> dict[str, Any]:
    task = TASKS.get(str(event.get("task")))
    if task is None:
        raise UnknownTask(f"unknown task {event.get('task')!r}")
    return task(event)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run(event)
