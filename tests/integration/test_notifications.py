"""An email never decides an order's fate: with SES in the sandbox (the recipient unverified, so
every send is refused with MessageRejected) a paid order still ends CONFIRMED and captured once;
its confirmation email is retried by the OrderNotifications queue and lands in its dead-letter
queue after the set receives."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from shopstack.harness import LocalCloud
from shopstack.waiting import eventually
from tests.integration.test_checkout import intents_for
from tests.integration.test_orders import _intents, buy, mail_to, product, view, wait_for

pytestmark = pytest.mark.integration

__all__ = ["product"]

MAX_RECEIVES = 5
DLQ_TIMEOUT_SECONDS = 90
"""The consumer backs a failed email off 2, 4, 8 and 16 s (30 s in all) before the fifth and last
receive; the next receive moves it to the dead-letter queue."""


def _dead_letters(aws: Any, url: str, order_id: str) -> list[dict[str, Any]]:
    """The order's events in the dead-letter queue (read without hiding them from other readers)."""
    sqs = aws("sqs")
    found: dict[str, dict[str, Any]] = {}
    for _ in range(5):
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        for message in messages:
            body = json.loads(message["Body"])
            if (body.get("detail") or {}).get("data", {}).get("orderId") == order_id:
                found.setdefault(message["MessageId"], message)
        if not messages:
            break
    return list(found.values())


def test_a_paid_order_whose_email_fails_ends_confirmed_captured_once_and_its_email_is_dead_lettered(
    cloud: LocalCloud, product: Any, aws: Any, outputs: dict[str, str]
) -> None:
    dlq_url = outputs["OrderNotificationsDlqUrl"]
    before = cloud.ses_mode()
    cloud.set_ses_mode("sandbox")
    try:
        sku = product(5)
        began = time.monotonic()
        order = buy(cloud, sku, 1)
        confirmed = wait_for(cloud, order, "CONFIRMED", "CANCELLED")
        assert confirmed["status"] == "CONFIRMED", confirmed["history"]
        assert [h["status"] for h in confirmed["history"]] == ["PENDING_PAYMENT", "PAID", "CONFIRMED"]
        (intent,) = _intents(cloud, order["orderId"])
        assert intent["status"] == "succeeded" and intent["amount_received"] == intent["amount"]
        assert intent["latest_charge"]["refunded"] is False and intent["latest_charge"]["amount_refunded"] == 0
        assert len(intents_for(cloud, order["orderId"])) == 1

        (message,) = eventually(
            lambda: _dead_letters(aws, dlq_url, order["orderId"]), timeout=DLQ_TIMEOUT_SECONDS, interval=1.0
        )
        print(f"\ncheckout to the email dead-lettered: {time.monotonic() - began:.1f} s")
        body = json.loads(message["Body"])
        assert body["detail-type"] == "OrderConfirmed" and body["source"] == "shopstack.orders"
        assert int(message["Attributes"]["ApproximateReceiveCount"]) >= MAX_RECEIVES, "retried before giving up"
        assert not [m for m in mail_to(cloud, "ada@example.com") if order["orderId"] in m["subject"]]
        final = view(cloud, order).json
        assert final["status"] == "CONFIRMED" and [h["status"] for h in final["history"]] == [
            "PENDING_PAYMENT",
            "PAID",
            "CONFIRMED",
        ]
    finally:
        cloud.set_ses_mode(before)
