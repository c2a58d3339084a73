"""The emails an order sends its customer, and which order event warrants which. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from commerce.orders import OrderStatus
from orders.domain.model import Order, Shipment


@dataclass(frozen=True, slots=True)
class Email:
    to: str
    subject: str
    text: str

    @property
    def html(self) -> str:
        paragraphs = "".join(f"<p>{escape(p)}</p>" for p in self.text.split("\n\n"))
        return f"<!doctype html><html><body>{paragraphs}</body></html>"


def _amount(order: Order) -> str:
    return f"{order.total / 100:,.2f} {order.currency.upper()}"


def _lines(order: Order) -> str:
    return "\n".join(f"  {line.quantity} x {line.name} ({line.sku})" for line in order.lines)


def confirmation(order: Order, shop: str) -> Email:
    return Email(
        order.email,
        f"{shop}: order {order.order_id} confirmed",
        f"Thank you for your order.\n\n{_lines(order)}\n\nTotal charged: {_amount(order)}. "
        f"Invoice {order.invoice_number or 'to follow'}.\n\nWe will email you when it ships.",
    )


def shipped(order: Order, shipment: Shipment, shop: str) -> Email:
    return Email(
        order.email,
        f"{shop}: order {order.order_id} has shipped",
        f"Your order is on its way with {shipment.carrier}, tracking number {shipment.tracking_number}.",
    )


def delivered(order: Order, shop: str) -> Email:
    return Email(
        order.email,
        f"{shop}: order {order.order_id} was delivered",
        "Your order was delivered. We hope you enjoy it.\n\nReturns are accepted within 30 days.",
    )


def cancelled(order: Order, shop: str, reason: str) -> Email:
    return Email(
        order.email,
        f"{shop}: order {order.order_id} was cancelled",
        f"Your order was cancelled ({reason}). Any payment taken has been voided or refunded in full.",
    )


MAIL_EVENTS = ("OrderConfirmed", "OrderCancelled", "OrderShipped", "OrderDelivered", "ShipmentUpdated")
"""The order events that may warrant an email (ShipmentUpdated only for a shipment's SHIPPED event)."""

ERASED_DOMAIN = "@invalid"


def _was_paid(order: Order) -> bool:
    return any(entry.get("status") == "PAID" for entry in order.history)


def for_event(
    name: str, data: dict[str, Any], order: Order, shipments: list[Shipment], shop: str
) -> list[tuple[str, Email]]:
    """The emails (each with the name it is marked under on the order) that the event `name`
    with `data` warrants for `order` as it is now. Pure: decides, sends nothing.

    A confirmation is not sent for an order cancelled meanwhile; a cancellation only for an order
    that had been paid (an unpaid checkout that expires or never reached the payment provider
    mails nobody); a shipment's email once per shipment, whichever of OrderShipped and its own
    ShipmentUpdated arrives first; nothing to an erased customer."""
    if not order.email or order.email.endswith(ERASED_DOMAIN):
        return []
    if name == "OrderConfirmed":
        return [] if order.status is OrderStatus.CANCELLED else [("confirmation", confirmation(order, shop))]
    if name == "OrderCancelled":
        if order.status is not OrderStatus.CANCELLED or not _was_paid(order):
            return []
        reason = str(data.get("reason") or (order.history[-1].get("note") if order.history else "") or "cancelled")
        return [("cancellation", cancelled(order, shop, reason[:200]))]
    if name == "OrderDelivered":
        return [("delivered", delivered(order, shop))]
    if name == "OrderShipped":
        return [(f"shipped-{s.shipment_id}", shipped(order, s, shop)) for s in shipments]
    if name == "ShipmentUpdated" and data.get("status") == "SHIPPED":
        return [
            (f"shipped-{s.shipment_id}", shipped(order, s, shop))
            for s in shipments
            if s.shipment_id == data.get("shipmentId")
        ]
    return []
