"""Consumes every shopstack event from the webhook events queue (EventBridge -> SQS) and queues
one delivery per subscription that wants it; failed records only are retried."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from commerce.clock import now
from commerce.observability import logger, observed, per_record
from integrations import bootstrap, service


@per_record
def record_handler(record: SQSRecord) -> None:
    envelope = json.loads(record.body)
    queued = service.fan_out(bootstrap.integrations(), envelope, now())
    logger().info("webhook deliveries queued", extra={"event": envelope.get("detail-type"), "deliveries": queued})


@observed
def handler(event: dict[str, Any], context: Any) -> Any:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=BatchProcessor(EventType.SQS), context=context
    )
