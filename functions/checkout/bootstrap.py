"""Wires the checkout use cases to their adapters, once per process, on first use."""

from __future__ import annotations

import os
from functools import cache

from checkout.domain.pricing import rules_from_json
from checkout.service import Checkout, WebhookLog
from commerce.config import int_setting
from commerce.events import EventBridgePublisher


@cache
def checkout() -> Checkout:
    from checkout.adapters.dynamodb import DynamoCarts, DynamoCatalog, DynamoOrders
    from checkout.adapters.stripe_payments import StripePayments
    from checkout.adapters.workflows import StepFunctionsWorkflows
    from commerce.ledger import DynamoLedger
    from commerce.stripe_money import StripeMoney

    return Checkout(
        carts=DynamoCarts(),
        catalog=DynamoCatalog(),
        orders=DynamoOrders(),
        ledger=DynamoLedger(),
        payments=StripePayments(),
        money=StripeMoney(),
        workflows=StepFunctionsWorkflows(),
        publisher=EventBridgePublisher(),
        rules=rules_from_json(os.environ.get("PRICING_RULES")),
        reservation_seconds=int_setting("RESERVATION_TTL_SECONDS", 900),
        default_country=os.environ.get("DEFAULT_COUNTRY", "US"),
    )


@cache
def webhook_log() -> WebhookLog:
    from checkout.adapters.dynamodb import DynamoWebhookLog

    return DynamoWebhookLog()
