"""Consumes every shopstack event from the analytics queue (EventBridge -> SQS) in batches,
reporting failed records only, so one bad record never re-runs the batch; a record that keeps
failing ends in the queue's dead-letter queue."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from analytics import bootstrap, service


def record_handler(record: SQSRecord) -> None:
    service.record(bootstrap.aggregates(), json.loads(record.body))


def handler(event: dict[str, Any], context: Any) -> Any:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=BatchProcessor(EventType.SQS), context=context
    )
