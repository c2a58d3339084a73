"""Emails the customer from the order events (EventBridge -> the OrderNotifications SQS queue),
off the order workflow's critical path.

Each record is one EventBridge event (`detail-type` = the event name, `detail` =
`{id, occurredAt, data, metadata}`); `orders.service.notify` sends what it warrants once per
order mark. A send that fails raises: the record alone is reported as a batch item failure and
made visible again after a backoff (2 s, 4 s, 8 s, 16 s: ChangeMessageVisibility), and its last
failed receive leaves it for the queue's redrive policy to move to the dead-letter queue at once,
where an alarm watches it. Each failed send is also an EMF metric (`OrderEmailsFailed`, and
`OrderEmailsDeadLettered` on the last try) in the functions' metrics namespace, flushed when the
batch ends."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from commerce.config import int_setting, setting
from commerce.observability import count, logger, observed, per_record
from orders import bootstrap, service

FAILED_METRIC = "OrderEmailsFailed"
DEAD_LETTERED_METRIC = "OrderEmailsDeadLettered"
RETRY_BASE_SECONDS = 2
RETRY_MAX_SECONDS = 300
DEFAULT_MAX_RECEIVES = 5


def retry_delay(receive_count: int, max_receives: int) -> int:
    """Seconds before a failed message is received again: doubling from 2 s; 0 after its last
    allowed receive, so the next receive moves it to the dead-letter queue without waiting."""
    if receive_count >= max_receives:
        return 0
    return int(min(RETRY_BASE_SECONDS * 2 ** max(receive_count - 1, 0), RETRY_MAX_SECONDS))


@per_record
def record_handler(record: SQSRecord) -> list[str]:
    event = json.loads(record.body)
    detail = event.get("detail") or {}
    data = dict(detail.get("data") or {})
    sent = service.notify(bootstrap.orders(), str(event.get("detail-type")), data)
    for name in sent:
        logger().info(
            "order email sent",
            extra={"template": name, "orderId": data.get("orderId"), "event": event.get("detail-type")},
        )
    return sent


class RetryWithBackoff(BatchProcessor):
    """Partial batch failures whose records come back after `retry_delay` instead of the queue's
    visibility timeout."""

    def failure_handler(self, record: Any, exception: Any) -> Any:
        receives = int(record.attributes.approximate_receive_count or 1)
        delay = retry_delay(receives, int_setting("NOTIFY_MAX_RECEIVES", DEFAULT_MAX_RECEIVES))
        logger().warning(
            "order email not sent",
            extra={
                "messageId": record.message_id,
                "receiveCount": receives,
                "retryIn": delay,
                "error": repr(exception[1]),
            },
        )
        count(FAILED_METRIC)
        if delay == 0:
            count(DEAD_LETTERED_METRIC)
        try:
            bootstrap.retry_later().later(setting("NOTIFY_QUEUE_URL", record.queue_url), record.receipt_handle, delay)
        except Exception:
            logger().exception("could not shorten the message's visibility; it returns after the queue's timeout")
        return super().failure_handler(record, exception)


@observed
def handler(event: dict[str, Any], context: Any) -> Any:
    return process_partial_response(
        event=event,
        record_handler=record_handler,
        processor=RetryWithBackoff(EventType.SQS, raise_on_entire_batch_failure=False),
        context=context,
    )
