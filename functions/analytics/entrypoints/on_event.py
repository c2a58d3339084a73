"""Consumes every shopstack event from the analytics queue (EventBridge -> SQS) in batches,
reporting failed records only, so one bad record never re-runs the batch; a record that keeps
failing ends in the queue's dead-letter queue. An event counted for the first time is also
counted as its business metrics (`analytics.domain.metrics`)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from analytics import bootstrap, service
from analytics.domain.metrics import metrics_of
from commerce.observability import count, logger, observed, per_record


@per_record
def record_handler(record: SQSRecord) -> None:
    envelope = json.loads(record.body)
    counted = service.record(bootstrap.aggregates(), envelope)
    logger().info("event counted" if counted else "event seen before", extra={"event": envelope.get("detail-type")})
    if counted:  # the business metrics of an event, once
        for metric in metrics_of(envelope):
            count(metric.name, metric.value, unit=metric.unit, **metric.dimensions)


@observed
def handler(event: dict[str, Any], context: Any) -> Any:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=BatchProcessor(EventType.SQS), context=context
    )
