"""Step Functions tasks of the checkout service: `{"task": <name>, ...}` in, the result out."""

from __future__ import annotations

from typing import Any

from checkout import bootstrap, service


class UnknownTask(Exception):
    pass


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("task") != "expire_reservation":
        raise UnknownTask(f"unknown task {event.get('task')!r}")
    return service.expire_reservation(bootstrap.checkout(), str(event["orderId"]))
