"""The order as checkout creates it, and the payment outcomes that move it. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checkout.domain.pricing import Totals
from commerce.orders import OrderLine, OrderState, OrderStatus


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str
    status: OrderStatus
    email: str
    owner: str | None
    cart_id: str
    lines: tuple[OrderLine, ...]
    totals: Totals
    shipping_address: dict[str, Any]
    token_hash: str
    created_at: str
    payment_intent_id: str | None = None
    history: tuple[dict[str, str], ...] = field(default_factory=tuple)
    state: OrderState | None = None
    """The lifecycle's view of the order as read (None for an order not yet written)."""
    correlation_id: str | None = None
    """The checkout request's correlation id, which the order's workflow, events and messages carry."""


class PaymentStatus:
    """Stripe PaymentIntent statuses checkout acts on."""

    AUTHORIZED = "requires_capture"
    SUCCEEDED = "succeeded"
    REQUIRES_ACTION = "requires_action"
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    CANCELED = "canceled"


@dataclass(frozen=True, slots=True)
class Payment:
    intent_id: str
    status: str
    client_secret: str | None = None
    amount: int = 0
    currency: str = "usd"
    order_id: str | None = None
    decline_code: str | None = None
    decline_message: str | None = None

    @property
    def authorized(self) -> bool:
        return self.status in (PaymentStatus.AUTHORIZED, PaymentStatus.SUCCEEDED)

    @property
    def declined(self) -> bool:
        return self.decline_code is not None or self.status == PaymentStatus.CANCELED

    def matches(self, order: Order) -> bool:
        """The intent pays exactly this order: same order id, amount and currency."""
        return (
            self.order_id == order.order_id
            and self.amount == order.totals.total
            and self.currency == order.totals.currency
        )


def outcome_status(payment: Payment) -> OrderStatus | None:
    """Where a payment moves a PENDING_PAYMENT order, if anywhere."""
    if payment.authorized:
        return OrderStatus.PAID
    if payment.declined:
        return OrderStatus.PAYMENT_FAILED
    return None
