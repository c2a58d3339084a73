"""The outbox publisher: every committed change of the Orders table (its DynamoDB stream)
becomes its integration events on EventBridge. A failed record is reported alone, so the
stream retries from it without republishing what went before."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from commerce.eventbridge import EventBridgePublisher
from commerce.observability import logger, observed, per_record
from orders.domain.events import events_for_change

_publisher = EventBridgePublisher()


@per_record
def record_handler(record: DynamoDBRecord) -> None:
    change = record.dynamodb
    if change is None:
        return
    for source, event in events_for_change(change.old_image or None, change.new_image or None):
        _publisher.publish(source, [event])
        logger().info(
            "event published", extra={"event": event.name, "eventId": event.id, "orderId": event.data.get("orderId")}
        )


@observed
def handler(event: dict[str, Any], context: Any) -> Any:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=BatchProcessor(EventType.DynamoDBStreams), context=context
    )
