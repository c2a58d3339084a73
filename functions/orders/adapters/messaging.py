"""Email through Amazon SES, fulfilment requests through SQS, and retry backoff for queued work."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from commerce.config import setting
from commerce.observability import current_correlation_id
from orders.domain.emails import Email
from orders.domain.model import Order


@cache
def _client(name: str) -> Any:
    import boto3

    return boto3.client(name)


class SesMailer:
    def send(self, email: Email) -> None:
        _client("sesv2").send_email(
            FromEmailAddress=setting("MAIL_FROM"),
            Destination={"ToAddresses": [email.to]},
            Content={
                "Simple": {
                    "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": email.text, "Charset": "UTF-8"},
                        "Html": {"Data": email.html, "Charset": "UTF-8"},
                    },
                }
            },
        )


class SqsRetryLater:
    """A received SQS message made visible again after `seconds` (its consumer failed it)."""

    def later(self, queue_url: str, receipt_handle: str, seconds: int) -> None:
        _client("sqs").change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )


class SqsFulfilment:
    def request(self, order: Order) -> None:
        body = {
            "orderId": order.order_id,
            "lines": [{"sku": line.sku, "quantity": line.quantity} for line in order.lines],
            "shippingAddress": order.shipping_address,
        }
        correlation = current_correlation_id()
        if correlation:  # the workflow task's: the order's own
            body["correlationId"] = correlation
        _client("sqs").send_message(QueueUrl=setting("FULFILMENT_QUEUE_URL"), MessageBody=json.dumps(body))
