"""Step Functions tasks of the checkout service: `{"task": <name>, ...}` in, the result out."""

from __future__ import annotations

from typing import Any

from checkout import bootstrap, service
from commerce.observability import logger, observed


class UnknownTask(Exception):
    pass


@observed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("task") != "expire_reservation":
        raise UnknownTask(f"unknown task {event.get('task')!r}")
    logger().append_keys(orderId=event.get("orderId"), task="expire_reservation")
    result = service.expire_reservation(bootstrap.checkout(), str(event["orderId"]))
    logger().info("workflow task done", extra={"result": result["status"], "expired": result["expired"]})
    return result
