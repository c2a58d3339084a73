"""Consumes every shopstack event from the analytics queue (EventBridge -> SQS) in batches,
reporting failed records only, so one bad record never re-runs the batch."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from analytics.domain.counters import tally_of


@cache
def _counters() -> Any:
    from analytics.adapters.dynamodb import DynamoCounters

    return DynamoCounters()


def record_handler(record: SQSRecord) -> None:
    _counters().record(tally_of(json.loads(record.body)))


def handler(event: dict[str, Any], context: Any) -> Any:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=BatchProcessor(EventType.SQS), context=context
    )
