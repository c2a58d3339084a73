"""The warehouse side of fulfilment: accepts each requested order once (SQS, partial batch
failures; a message that keeps failing goes to the queue's DLQ)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from commerce.observability import logger, observed, per_record
from orders import bootstrap


@per_record
def record_handler(record: SQSRecord) -> None:
    order_id = str(json.loads(record.body)["orderId"])
    deps = bootstrap.orders()
    deps.store.mark(deps.order(order_id), "fulfilmentAcceptedAt")
    logger().info("fulfilment accepted", extra={"orderId": order_id})


@observed
def handler(event: dict[str, Any], context: Any) -> Any:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=BatchProcessor(EventType.SQS), context=context
    )
