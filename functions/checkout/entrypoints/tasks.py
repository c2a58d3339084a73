"""The ReservationExpiry queue's consumer: each message names an unpaid order and when its
reservation runs out (SQS, partial batch failures; a message that keeps failing goes to the
queue's DLQ, and the reconciler expires the order anyway)."""

from __future__ import annotations

import json
import time
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from checkout import bootstrap, service
from commerce.observability import logger, observed, per_record


@per_record
def record_handler(record: SQSRecord) -> None:
    message = json.loads(record.body)
    order_id = str(message["orderId"])
    logger().append_keys(orderId=order_id, task="expire_reservation")
    result = service.reservation_due(
        bootstrap.checkout(), order_id, int(message["expiresAt"]), time.time(), message.get("correlationId")
    )
    logger().info("reservation expiry done", extra={"result": result["status"], "expired": result["expired"]})


@observed
def handler(event: dict[str, Any], context: Any) -> Any:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=BatchProcessor(EventType.SQS), context=context
    )
