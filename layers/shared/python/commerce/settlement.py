"""Cancelling an order and expiring its reservation, the same way whoever asks: a customer or
staff (orders API), the order workflow's compensation, the reservation expiry and the Stripe
webhook (checkout), the reconciler.

A cancellation is three steps, each safe to repeat and to run concurrently with itself:
`CANCELLING` with the stock given back (one write, refused if the order moved), the money
released at Stripe (void or refund, idempotent), the money mark; then the final status. Any
actor that finds an order CANCELLING may resume it (`finish`), and the reconciler does for
those left behind. The rule for a late payment: an order that has started cancelling is never
honoured; a payment authorized afterwards is voided, one captured is refunded."""

from __future__ import annotations

from typing import Protocol

from commerce.errors import NotFound
from commerce.orders import (
    ENDED,
    Change,
    OrderState,
    OrderStatus,
    PaymentState,
    authorized,
    cancel_finished,
    cancelling,
    late_payment_released,
    money_settled,
)

ATTEMPTS = 5


class Ledger(Protocol):
    def state(self, order_id: str) -> OrderState | None: ...
    def apply(self, change: Change) -> bool: ...


class Money(Protocol):
    def release(self, intent_id: str, order_id: str) -> PaymentState: ...
    def authorized_for(self, intent_id: str, order: OrderState) -> bool: ...


def _state(ledger: Ledger, order_id: str) -> OrderState:
    order = ledger.state(order_id)
    if order is None:
        raise NotFound("No such order.", code="order_not_found")
    return order


def cancel(
    ledger: Ledger, money: Money, order_id: str, reason: str, *, end_as: OrderStatus = OrderStatus.CANCELLED
) -> OrderState:
    """Cancel a cancellable order (409 `invalid_state` otherwise) and carry the cancellation as
    far as it goes now. A Stripe failure leaves it CANCELLING (raised for the caller to report;
    resumed by the next attempt or the reconciler); an order already cancelling or ended is
    resumed or returned as it is."""
    for _ in range(ATTEMPTS):
        order = _state(ledger, order_id)
        if order.status is OrderStatus.CANCELLING or order.status in ENDED:
            break
        if ledger.apply(cancelling(order, reason, end_as=end_as)):
            break
    return finish(ledger, money, order_id)


def finish(ledger: Ledger, money: Money, order_id: str) -> OrderState:
    """Resume a CANCELLING order: release its money, record it, end it. Anything else is
    returned as it is."""
    for _ in range(ATTEMPTS):
        order = _state(ledger, order_id)
        if order.status is not OrderStatus.CANCELLING:
            return order
        holds_money = order.payment_intent_id and order.payment_state not in (
            PaymentState.VOIDED,
            PaymentState.REFUNDED,
        )
        if holds_money:
            outcome = money.release(str(order.payment_intent_id), order.order_id)
            ledger.apply(money_settled(order, outcome))
            continue
        ledger.apply(cancel_finished(order))
    return _state(ledger, order_id)


def release_late_payment(ledger: Ledger, money: Money, order: OrderState) -> str:
    """A payment authorized for an order that had already ended (a client confirming an old
    intent): voided, or refunded when captured, and recorded on the order."""
    if order.payment_state in (PaymentState.VOIDED, PaymentState.REFUNDED) or not order.payment_intent_id:
        return f"order is {order.status.value}; nothing held"
    outcome = money.release(order.payment_intent_id, order.order_id)
    ledger.apply(late_payment_released(order, outcome))
    return f"{outcome.value.lower()}: the order had already ended"


def expire(ledger: Ledger, money: Money, order_id: str) -> OrderState:
    """The reservation ran out. An order still PENDING_PAYMENT whose payment is not authorized
    starts cancelling (refused, and nothing voided, if a payment moved it meanwhile); one whose
    payment was authorized at the last moment is paid instead (the caller starts its workflow)."""
    order = _state(ledger, order_id)
    if order.status is OrderStatus.PENDING_PAYMENT:
        intent = order.payment_intent_id
        if intent and money.authorized_for(intent, order):
            ledger.apply(authorized(order, intent))
            return _state(ledger, order_id)
        ledger.apply(cancelling(order, "reservation expired unpaid"))
    return finish(ledger, money, order_id)
