"""The order lifecycle every service agrees on (API.md "Order status"), as one state machine.

An order item carries three states that move together: its `status`, its `stockState` (what its
lines hold of the Products counters) and its `paymentState` (what Stripe holds of the
customer's money). Every change to an order is a `Change` planned here from the order as the
caller read it, and written by `commerce.ledger` as one conditional transaction: the status, the
stock counters with `stockState`, and the money marks at once, refused when the order is no
longer where the caller believed. Work that leaves the system (voiding or refunding a payment)
goes through an intermediate status (`CANCELLING`, `REFUNDING`) written first, so every
concurrent actor (webhook, expiry, workflow, staff, customer) sees it and yields; whoever
resumes reaches the final status. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from commerce.errors import Conflict


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "PENDING_PAYMENT"
    PAID = "PAID"
    CONFIRMED = "CONFIRMED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    CANCELLING = "CANCELLING"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    CANCELLED = "CANCELLED"
    RETURN_REQUESTED = "RETURN_REQUESTED"
    REFUNDING = "REFUNDING"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"


class StockState(StrEnum):
    RESERVED = "RESERVED"
    """Counted in `reserved` (and out of `available`) of each line's product."""
    COMMITTED = "COMMITTED"
    """Taken off `onHand` and `reserved`: the goods are the customer's."""
    RELEASED = "RELEASED"
    """A reservation given back to `available`."""
    RESTORED = "RESTORED"
    """Committed goods put back on hand (a cancellation after confirmation)."""


class PaymentState(StrEnum):
    PENDING = "PENDING"
    AUTHORIZED = "AUTHORIZED"
    CAPTURED = "CAPTURED"
    VOIDED = "VOIDED"
    REFUNDED = "REFUNDED"


S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.PAYMENT_FAILED, S.CANCELLING}),
    S.PAID: frozenset({S.CONFIRMED, S.CANCELLING}),
    S.CONFIRMED: frozenset({S.SHIPPED, S.CANCELLING}),
    S.CANCELLING: frozenset({S.CANCELLED, S.PAYMENT_FAILED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset({S.RETURN_REQUESTED}),
    S.RETURN_REQUESTED: frozenset({S.REFUNDING}),
    S.REFUNDING: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED, S.RETURN_REQUESTED}),
    S.PARTIALLY_REFUNDED: frozenset({S.RETURN_REQUESTED, S.REFUNDING}),
    S.PAYMENT_FAILED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REFUNDED: frozenset(),
}

CANCELLABLE = frozenset({S.PENDING_PAYMENT, S.PAID, S.CONFIRMED})
ENDED = frozenset({S.CANCELLED, S.PAYMENT_FAILED})
TERMINAL = frozenset(status for status, onward in TRANSITIONS.items() if not onward)
IN_FLIGHT = frozenset({S.PENDING_PAYMENT, S.PAID, S.CANCELLING, S.REFUNDING})
"""Statuses the system itself must move on from (the reconciler's work when one is stuck);
CONFIRMED, SHIPPED, DELIVERED and RETURN_REQUESTED wait for people (staff, carriers, customers)."""

SETTLED_PAYMENT = frozenset({PaymentState.PENDING, PaymentState.VOIDED, PaymentState.REFUNDED})
"""Payment states in which the shop holds none of the customer's money."""


class StockMove(StrEnum):
    """A move of every line's counters, named by the `stockState` it leads to."""

    RELEASE = "RELEASE"  # RESERVED -> RELEASED: reserved -q, available +q
    COMMIT = "COMMIT"  # RESERVED -> COMMITTED: onHand -q, reserved -q
    RESTORE = "RESTORE"  # COMMITTED -> RESTORED: onHand +q, available +q


STOCK_MOVES: dict[StockMove, tuple[StockState, StockState, dict[str, int]]] = {
    StockMove.RELEASE: (StockState.RESERVED, StockState.RELEASED, {"reserved": -1, "available": 1}),
    StockMove.COMMIT: (StockState.RESERVED, StockState.COMMITTED, {"onHand": -1, "reserved": -1}),
    StockMove.RESTORE: (StockState.COMMITTED, StockState.RESTORED, {"onHand": 1, "available": 1}),
}
"""Each move: the stockState it requires, the one it leaves, and the sign per counter."""


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One line of an order as checkout priced it (amounts in the order's currency's minor unit):
    the order item's `lines` entry, which every service reads the same way."""

    sku: str
    name: str
    quantity: int
    unit_price: int

    @property
    def line_total(self) -> int:
        return self.unit_price * self.quantity

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> OrderLine:
        return cls(str(item["sku"]), str(item["name"]), int(item["quantity"]), int(item["unitPrice"]))

    def to_item(self) -> dict[str, Any]:
        return {"sku": self.sku, "name": self.name, "quantity": self.quantity, "unitPrice": self.unit_price}

    def to_json(self, currency: str, *, name_as: str = "name") -> dict[str, Any]:
        """The line in a cart, order or invoice body (an invoice calls its name `description`)."""
        return {
            "sku": self.sku,
            name_as: self.name,
            "quantity": self.quantity,
            "unitPrice": {"amount": self.unit_price, "currency": currency},
            "lineTotal": {"amount": self.line_total, "currency": currency},
        }


@dataclass(frozen=True, slots=True)
class OrderState:
    """What the lifecycle needs to know of an order, as read (consistently) by the caller."""

    order_id: str
    status: OrderStatus
    lines: tuple[tuple[str, int], ...]
    total: int
    currency: str = "usd"
    stock_state: StockState = StockState.RESERVED
    payment_state: PaymentState = PaymentState.PENDING
    payment_intent_id: str | None = None
    refunded: int = 0
    returns_version: int = 0
    end_as: OrderStatus | None = None
    refunding_return: str | None = None
    updated_at: str = ""
    correlation_id: str | None = None
    """The checkout request's correlation id (None for an order placed before orders kept one)."""


@dataclass(frozen=True, slots=True)
class Change:
    """One conditional write: from `order` (its status, and its stock and payment states when
    they move) to the new states, with the history note and facts recorded alongside."""

    order: OrderState
    note: str
    status: OrderStatus | None = None
    stock: StockMove | None = None
    payment: PaymentState | None = None
    facts: dict[str, str] = field(default_factory=dict)
    refund: int = 0
    """Added to `refundedAmount`, conditioned on staying within the order's total."""
    returns_version: bool = False
    """Bump `returnsVersion`, conditioned on the value read (new returns are checked against the
    returns read with it)."""
    restock: tuple[tuple[str, int], ...] = ()
    """Returned goods back on hand (onHand +q, available +q)."""

    @property
    def stock_target(self) -> StockState | None:
        return STOCK_MOVES[self.stock][1] if self.stock else None


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise Conflict(f"An order in {current} cannot become {target}.", code="invalid_state")


def _move(order: OrderState, target: OrderStatus, note: str, **changes: object) -> Change:
    check_transition(order.status, target)
    return Change(order=order, note=note, status=target, **changes)  # type: ignore[arg-type]


# --- payment ----------------------------------------------------------------------------------


def authorized(order: OrderState, intent_id: str) -> Change:
    """PENDING_PAYMENT -> PAID: the payment is authorized and the stock stays reserved."""
    return _move(
        order, S.PAID, "payment authorized", payment=PaymentState.AUTHORIZED, facts={"paymentIntentId": intent_id}
    )


def declined(order: OrderState, decline_code: str | None, why: str) -> Change:
    """PENDING_PAYMENT -> PAYMENT_FAILED with the reservation released in the same write. Nothing
    is held at Stripe (a declined or canceled intent holds no money)."""
    if order.status is not S.PENDING_PAYMENT:
        raise Conflict(f"An order that is {order.status.value} is not waiting for payment.", code="invalid_state")
    return _move(
        order,
        S.PAYMENT_FAILED,
        f"payment failed: {why}",
        stock=_release(order),
        facts={"declineCode": decline_code} if decline_code else {},
    )


def captured(order: OrderState) -> Change:
    """The workflow captured the payment of a PAID order (the status does not move)."""
    if order.status is not S.PAID or order.payment_state is not PaymentState.AUTHORIZED:
        raise Conflict(f"order {order.order_id} is {order.status}/{order.payment_state}", code="invalid_state")
    return Change(order=order, note="payment captured", payment=PaymentState.CAPTURED)


def committed(order: OrderState) -> Change:
    """The workflow committed a PAID order's reserved stock (the status does not move)."""
    if order.status is not S.PAID or order.stock_state is not StockState.RESERVED:
        raise Conflict(f"order {order.order_id} is {order.status}/{order.stock_state}", code="invalid_state")
    return Change(order=order, note="stock committed", stock=StockMove.COMMIT)


def confirmed(order: OrderState) -> Change:
    """PAID -> CONFIRMED, only with the payment captured and the stock committed."""
    if order.payment_state is not PaymentState.CAPTURED or order.stock_state is not StockState.COMMITTED:
        raise Conflict(
            f"order {order.order_id} cannot be confirmed: payment {order.payment_state}, stock {order.stock_state}",
            code="invalid_state",
        )
    return _move(order, S.CONFIRMED, "captured, stock committed, invoice issued")


# --- cancellation -----------------------------------------------------------------------------


def _release(order: OrderState) -> StockMove | None:
    if order.stock_state is StockState.RESERVED:
        return StockMove.RELEASE
    if order.stock_state is StockState.COMMITTED:
        return StockMove.RESTORE
    return None


def cancelling(order: OrderState, reason: str, *, end_as: OrderStatus = S.CANCELLED) -> Change:
    """A cancellable order -> CANCELLING: its stock goes back in the same write (reserved to
    available, committed back on hand); the money follows (`money_settled`) and then the end
    (`cancel_finished`). From here the order is never honoured: a payment authorized or captured
    later is voided or refunded."""
    if order.status not in CANCELLABLE:
        raise Conflict(f"An order that is {order.status.value} can no longer be cancelled.", code="invalid_state")
    return _move(order, S.CANCELLING, reason[:500], stock=_release(order), facts={"endAs": end_as.value})


def money_settled(order: OrderState, outcome: PaymentState) -> Change:
    """A CANCELLING order's payment was voided or refunded (or there was none)."""
    if order.status is not S.CANCELLING or outcome not in SETTLED_PAYMENT:
        raise Conflict(f"order {order.order_id} is {order.status}, payment {outcome}", code="invalid_state")
    refund = order.total - order.refunded if outcome is PaymentState.REFUNDED else 0
    return Change(order=order, note=f"payment {outcome.value.lower()}", payment=outcome, refund=refund)


def late_payment_released(order: OrderState, outcome: PaymentState) -> Change:
    """A payment authorized after its order had ended was voided (or refunded): recorded on the
    ended order, whose status does not move."""
    if order.status not in ENDED or outcome not in SETTLED_PAYMENT:
        raise Conflict(f"order {order.order_id} is {order.status}", code="invalid_state")
    refund = order.total - order.refunded if outcome is PaymentState.REFUNDED else 0
    return Change(order=order, note=f"late payment {outcome.value.lower()}", payment=outcome, refund=refund)


def cancel_finished(order: OrderState) -> Change:
    """CANCELLING -> CANCELLED (or PAYMENT_FAILED), once stock and money are both back."""
    if order.status is not S.CANCELLING:
        raise Conflict(f"order {order.order_id} is {order.status}, not CANCELLING", code="invalid_state")
    if order.payment_state not in SETTLED_PAYMENT or order.stock_state in (StockState.RESERVED, StockState.COMMITTED):
        raise Conflict(f"order {order.order_id} still holds stock or money", code="invalid_state")
    target = order.end_as or S.CANCELLED
    return _move(order, target, "cancelled" if target is S.CANCELLED else "payment failed")


# --- fulfilment -------------------------------------------------------------------------------


def shipped(order: OrderState, carrier: str) -> Change:
    """CONFIRMED -> SHIPPED with the first shipment; a later shipment keeps SHIPPED."""
    if order.status is S.SHIPPED:
        return Change(order=order, note=f"shipped with {carrier}")
    if order.status is not S.CONFIRMED:
        raise Conflict(f"An order that is {order.status.value} cannot be shipped.", code="invalid_state")
    return _move(order, S.SHIPPED, f"shipped with {carrier}")


def delivered(order: OrderState, carrier: str) -> Change:
    return _move(order, S.DELIVERED, f"delivered by {carrier}")


# --- returns and refunds ------------------------------------------------------------------------

RETURNABLE = frozenset({S.DELIVERED, S.RETURN_REQUESTED, S.PARTIALLY_REFUNDED})


def return_requested(order: OrderState, return_id: str) -> Change:
    """A return joins the order: RETURN_REQUESTED, checked against the returns read with
    `returns_version` (the write is refused if another return was added meanwhile)."""
    if order.status not in RETURNABLE:
        raise Conflict(f"An order that is {order.status.value} cannot be returned.", code="invalid_state")
    note = f"return {return_id} requested"
    if order.status is S.RETURN_REQUESTED:
        return Change(order=order, note=note, returns_version=True)
    return _move(order, S.RETURN_REQUESTED, note, returns_version=True)


def refunding(order: OrderState, return_id: str, amount: int) -> Change:
    """-> REFUNDING before the money leaves: one refund at a time per order, never above what
    was captured and not yet refunded."""
    if order.payment_state is not PaymentState.CAPTURED:
        raise Conflict("Only a captured payment can be refunded.", code="invalid_state")
    if order.status is S.REFUNDING:
        raise Conflict("Another refund of this order is in progress; retry shortly.", code="refund_in_progress")
    if amount <= 0 or order.refunded + amount > order.total:
        raise Conflict("The refund would exceed what was captured and not yet refunded.", code="refund_exceeds_payment")
    return _move(order, S.REFUNDING, f"refunding return {return_id}", facts={"refundingReturn": return_id})


def refund_finished(
    order: OrderState, return_id: str, amount: int, target: OrderStatus, restock: tuple[tuple[str, int], ...]
) -> Change:
    """REFUNDING -> PARTIALLY_REFUNDED or REFUNDED: the amount recorded (within the total) and the
    returned goods back on hand when asked, in the same write as the return's own REFUNDED."""
    if order.status is not S.REFUNDING or order.refunding_return != return_id:
        raise Conflict(f"order {order.order_id} is not refunding return {return_id}", code="invalid_state")
    return _move(order, target, f"return {return_id} refunded", refund=amount, restock=restock)
