"""Wires the checkout use cases to their adapters, once per process, on first use."""

from __future__ import annotations

import os
from functools import cache

from checkout.domain.pricing import rules_from_json
from checkout.service import Checkout, HoldLimits, WebhookLog
from commerce.config import int_setting
from commerce.eventbridge import EventBridgePublisher


@cache
def checkout() -> Checkout:
    from checkout.adapters.dynamodb import DynamoCarts, DynamoCatalog, DynamoHoldCounter, DynamoOrders
    from checkout.adapters.stripe_payments import StripePayments
    from checkout.adapters.workflows import AwsWorkflows
    from commerce.ledger import DynamoLedger
    from commerce.stripe_money import StripeMoney

    return Checkout(
        carts=DynamoCarts(),
        catalog=DynamoCatalog(),
        orders=DynamoOrders(),
        ledger=DynamoLedger(),
        payments=StripePayments(),
        money=StripeMoney(),
        workflows=AwsWorkflows(),
        publisher=EventBridgePublisher(),
        rules=rules_from_json(os.environ.get("PRICING_RULES")),
        reservation_seconds=int_setting("RESERVATION_TTL_SECONDS", 900),
        default_country=os.environ.get("DEFAULT_COUNTRY", "US"),
        holds=DynamoHoldCounter(),
        hold_limits=hold_limits(os.environ.get("GUEST_HOLD_LIMITS")),
    )


def hold_limits(raw: str | None) -> HoldLimits:
    """cdk.json `guestHoldLimits` (JSON: maxUnits, perEmail, perClient, windowSeconds,
    unpaidHoldSeconds); unset keys keep their defaults."""
    import json

    data = json.loads(raw) if raw else {}
    names = {
        "maxUnits": "max_units",
        "perEmail": "per_email",
        "perClient": "per_client",
        "windowSeconds": "window_seconds",
        "unpaidHoldSeconds": "unpaid_hold_seconds",
    }
    return HoldLimits(**{names[k]: int(v) for k, v in data.items() if k in names})


@cache
def webhook_log() -> WebhookLog:
    from checkout.adapters.dynamodb import DynamoWebhookLog

    return DynamoWebhookLog()
