"""Wires the order use cases to their adapters, once per process, on first use."""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING

from orders.service import Orders

if TYPE_CHECKING:
    from orders.adapters.messaging import SqsRetryLater


@cache
def orders() -> Orders:
    from commerce.ledger import DynamoLedger
    from commerce.stripe_money import StripeMoney
    from orders.adapters.dynamodb import DynamoOrderStore
    from orders.adapters.messaging import SesMailer, SqsFulfilment
    from orders.adapters.payments import StripeOrderPayments
    from orders.adapters.workflows import StepFunctionsWorkflows

    shop = os.environ.get("SHOP_NAME", "shopstack")
    return Orders(
        store=DynamoOrderStore(),
        ledger=DynamoLedger(),
        payments=StripeOrderPayments(),
        money=StripeMoney(),
        workflows=StepFunctionsWorkflows(),
        mailer=SesMailer(),
        fulfilment=SqsFulfilment(),
        shop_name=shop,
        return_window_days=int(os.environ.get("RETURN_WINDOW_DAYS", "30")),
        seller={
            "name": shop,
            "address": os.environ.get("SELLER_ADDRESS", ""),
            "email": os.environ.get("SELLER_EMAIL", ""),
        },
    )


@cache
def retry_later() -> SqsRetryLater:
    from orders.adapters.messaging import SqsRetryLater

    return SqsRetryLater()
