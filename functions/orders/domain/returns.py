"""Returns and refunds: what may be returned, and what a return refunds. Pure: no I/O."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from commerce.errors import Conflict, ValidationFailed
from commerce.orders import OrderStatus
from orders.domain.model import Order

RETURNABLE = frozenset({OrderStatus.DELIVERED, OrderStatus.RETURN_REQUESTED, OrderStatus.PARTIALLY_REFUNDED})


class ReturnStatus(StrEnum):
    REQUESTED = "REQUESTED"
    REFUNDING = "REFUNDING"
    """The refund is being paid out (the order is REFUNDING too); resumed if interrupted."""
    REFUNDED = "REFUNDED"


@dataclass(frozen=True, slots=True)
class ReturnLine:
    sku: str
    quantity: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"sku": self.sku, "quantity": self.quantity, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Return:
    return_id: str
    order_id: str
    status: ReturnStatus
    lines: tuple[ReturnLine, ...]
    created_at: str
    refund_amount: int | None = None
    refunded_at: str | None = None
    restocked: bool = False

    def to_json(self, currency: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "returnId": self.return_id,
            "orderId": self.order_id,
            "status": self.status.value,
            "lines": [line.to_json() for line in self.lines],
            "createdAt": self.created_at,
        }
        if self.refund_amount is not None:
            body["refund"] = {"amount": self.refund_amount, "currency": currency}
            body["refundedAt"] = self.refunded_at
            body["restocked"] = self.restocked
        return body


def delivered_at(order: Order) -> datetime | None:
    stamps = [h.get("at") for h in order.history if h.get("status") == OrderStatus.DELIVERED.value]
    if not stamps or not stamps[-1]:
        return None
    return datetime.fromisoformat(str(stamps[-1]).replace("Z", "+00:00"))


def returned_so_far(returns: list[Return]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for ret in returns:
        for line in ret.lines:
            counts[line.sku] += line.quantity
    return counts


def check_return(
    order: Order, lines: list[ReturnLine], returns: list[Return], *, now: datetime, window_days: int
) -> None:
    """Delivered lines, within the window, never more than bought less what is already returned."""
    if order.status not in RETURNABLE:
        raise Conflict(f"An order that is {order.status.value} cannot be returned.", code="invalid_state")
    delivered = delivered_at(order)
    if delivered is None or now - delivered > timedelta(days=window_days):
        raise Conflict(f"Returns are accepted within {window_days} days of delivery.", code="return_window_closed")
    bought = Counter({line.sku: line.quantity for line in order.lines})
    already = returned_so_far(returns)
    asked: Counter[str] = Counter()
    for line in lines:
        asked[line.sku] += line.quantity
    errors = [
        {"sku": sku, "requested": qty, "returnable": max(bought.get(sku, 0) - already.get(sku, 0), 0)}
        for sku, qty in sorted(asked.items())
        if qty > bought.get(sku, 0) - already.get(sku, 0)
    ]
    if errors:
        raise ValidationFailed("More than was bought and not yet returned.", code="return_exceeds_order", errors=errors)


def refund_amount(order: Order, ret: Return) -> int:
    """The returned lines' share: their price plus the tax charged on them (shipping is kept),
    in minor units, rounded half up."""
    prices = {line.sku: line.unit_price for line in order.lines}
    goods = sum(prices[line.sku] * line.quantity for line in ret.lines)
    tax = (goods * order.tax * 2 + order.subtotal) // (order.subtotal * 2) if order.subtotal else 0
    return goods + tax


def status_after_refund(order: Order, returns_after: list[Return]) -> OrderStatus:
    """REFUNDED once every unit bought has been refunded; PARTIALLY_REFUNDED before that."""
    refunded = returned_so_far([r for r in returns_after if r.status is ReturnStatus.REFUNDED])
    everything = all(refunded.get(line.sku, 0) >= line.quantity for line in order.lines)
    return OrderStatus.REFUNDED if everything else OrderStatus.PARTIALLY_REFUNDED
