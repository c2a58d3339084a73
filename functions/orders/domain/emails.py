"""The emails an order sends its customer. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

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
