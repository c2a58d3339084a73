"""Consumes the delivery queue: each message is one attempt of one delivery. A batch's attempts
run at the same time, each bounded by the sender's timeout, so a slow receiver delays no other;
a message not yet due is sent again with the rest of its wait. Only records that failed to run
(not deliveries that failed: those are retried by their own schedule) are reported back."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from commerce.clock import now
from commerce.observability import correlate, count, logger, observed
from integrations import bootstrap, service

WEBHOOK_FAILED = "WebhookDeliveriesFailed"
"""Attempts that did not reach a 2xx (each is retried on its schedule until it is exhausted)."""


def _one(record: dict[str, Any]) -> str | None:
    """The record's message id when it could not be handled (SQS redelivers it), else None."""
    from integrations.adapters.delivery import early

    correlate(record)
    try:
        body = json.loads(record["body"])
        moment = now()
        if not early(body, moment):
            done = service.attempt(bootstrap.integrations(), str(body["deliveryId"]), int(body["attempt"]), moment)
            if done is not None and done.attempts:
                _report(done)
    except Exception:
        logger().exception("delivery record failed")
        return str(record.get("messageId"))
    finally:
        logger().thread_safe_clear_keys()
    return None


def _report(done: service.Delivery) -> None:
    last = done.attempts[-1]
    if done.status is not service.DeliveryStatus.DELIVERED:
        count(WEBHOOK_FAILED)
    logger().info(
        "webhook delivery attempt",
        extra={
            "webhookId": done.webhook_id,
            "event": done.event_type,
            "eventId": done.event_id,
            "attempt": last.number,
            "statusCode": last.status_code,
            "status": done.status.value,
        },
    )


@observed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records") or []
    with ThreadPoolExecutor(max_workers=max(1, len(records))) as pool:
        failed = [m for m in pool.map(_one, records) if m]
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}
