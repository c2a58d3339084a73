"""The orders API's response bodies as JSON: an order as `GET /orders/{orderId}` answers it (the
`OrderOut` model of `orders.entrypoints.schemas` documents it)."""

from __future__ import annotations

from typing import Any

from orders.domain.model import Order, Shipment


def order_json(
    order: Order,
    shipments: list[Shipment],
    invoice: dict[str, Any] | None,
    returns: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "orderId": order.order_id,
        "status": order.status.value,
        "email": order.email,
        "lines": [line.to_json(order.currency) for line in order.lines],
        **order.money,
        "shippingAddress": order.shipping_address,
        "createdAt": order.created_at,
        "history": [dict(h) for h in order.history],
        "shipments": [s.to_json() for s in shipments],
        "invoice": {"invoiceNumber": invoice["invoiceNumber"], "issuedAt": invoice["issuedAt"]} if invoice else None,
        "returns": returns or [],
    }
