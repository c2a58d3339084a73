"""Which integration events a committed change to the Orders table stands for.

The Orders table's stream is the outbox: an event is published if and only if the change it
describes was committed. Event ids derive from what happened (order and status; shipment,
status and time), so a record delivered twice publishes a duplicate that consumers drop.
Pure: no I/O."""

from __future__ import annotations

from typing import Any

from commerce.events import DomainEvent
from commerce.ids import stable_id

CHECKOUT, ORDERS = "shopstack.checkout", "shopstack.orders"

STATUS_EVENTS: dict[str, tuple[str, str]] = {
    "PAID": (CHECKOUT, "PaymentAuthorized"),
    "PAYMENT_FAILED": (CHECKOUT, "PaymentFailed"),
    "CONFIRMED": (ORDERS, "OrderConfirmed"),
    "CANCELLED": (ORDERS, "OrderCancelled"),
    "SHIPPED": (ORDERS, "OrderShipped"),
    "DELIVERED": (ORDERS, "OrderDelivered"),
}
"""Statuses that stand for an event of their own; RETURN_REQUESTED and the refund statuses are
announced by the return items (ReturnRequested, RefundIssued), which carry the details."""


def _money(image: dict[str, Any], key: str) -> dict[str, Any]:
    return {"amount": int(image.get(key) or 0), "currency": image.get("currency") or "usd"}


def _order_data(image: dict[str, Any]) -> dict[str, Any]:
    return {"orderId": image["orderId"], "total": _money(image, "totalAmount")}


def _lines(image: dict[str, Any]) -> list[dict[str, Any]]:
    """What the order holds: units and the line's price before tax and shipping."""
    return [
        {"sku": str(x["sku"]), "quantity": int(x["quantity"]), "amount": int(x["unitPrice"]) * int(x["quantity"])}
        for x in image.get("lines") or []
    ]


def _last_note(image: dict[str, Any]) -> str | None:
    """Why the order reached its status: the note of its CANCELLING step when it went through
    one (who cancelled, or which step failed), else the note of its last step."""
    history = image.get("history") or []
    cancelling = [h for h in history if h.get("status") == "CANCELLING" and h.get("note")]
    if cancelling:
        return str(cancelling[-1]["note"])
    return str(history[-1].get("note")) if history and history[-1].get("note") else None


def _status_extras(status: str, image: dict[str, Any]) -> dict[str, Any]:
    if status == "PAID":
        return {"paymentIntentId": image.get("paymentIntentId") or ""}
    if status == "PAYMENT_FAILED":
        return {"declineCode": image.get("declineCode"), "reason": _last_note(image)}
    if status == "CANCELLED":
        confirmed = any(h.get("status") == "CONFIRMED" for h in image.get("history") or [])
        refund = _money(image, "totalAmount")
        if not (confirmed and image.get("paymentState") == "REFUNDED"):
            refund["amount"] = 0
        return {"reason": _last_note(image) or "cancelled", "refund": refund, "lines": _lines(image)}
    if status == "CONFIRMED":
        owner = image.get("owner")
        return {
            "invoiceNumber": image.get("invoiceNumber"),
            "email": image.get("email"),
            "customerId": owner if owner and owner != "erased" else None,
            "lines": _lines(image),
        }
    return {}


def _order_events(old: dict[str, Any] | None, new: dict[str, Any]) -> list[tuple[str, DomainEvent]]:
    order_id = str(new["orderId"])
    if old is None:
        event = DomainEvent(
            "CheckoutStarted",
            {**_order_data(new), "cartId": new.get("cartId")},
            id=stable_id(order_id, "CheckoutStarted"),
            correlation_id=_correlation(new),
        )
        return [(CHECKOUT, event)]
    status = str(new.get("status"))
    if old.get("status") == status or status not in STATUS_EVENTS:
        return []
    source, name = STATUS_EVENTS[status]
    data = {**_order_data(new), **_status_extras(status, new)}
    return [(source, DomainEvent(name, data, id=stable_id(order_id, name), correlation_id=_correlation(new)))]


def _correlation(order: dict[str, Any]) -> str:
    """The correlation id of the checkout request that placed the order (its id for an order
    placed before orders carried one)."""
    return str(order.get("correlationId") or order["orderId"])


def _shipment_events(old: dict[str, Any] | None, new: dict[str, Any]) -> list[tuple[str, DomainEvent]]:
    seen = {(e.get("status"), e.get("at")) for e in (old or {}).get("events") or []}
    shipment_id, order_id = str(new["shipmentId"]), str(new["orderId"])
    published = []
    for event in new.get("events") or []:
        if (event.get("status"), event.get("at")) in seen:
            continue
        data = {
            "shipmentId": shipment_id,
            "orderId": order_id,
            "carrier": new.get("carrier"),
            "trackingNumber": new.get("trackingNumber"),
            "status": event.get("status"),
            "at": event.get("at"),
            "location": event.get("location"),
        }
        event_id = stable_id(shipment_id, str(event.get("status")), str(event.get("at")))
        published.append((ORDERS, DomainEvent("ShipmentUpdated", data, id=event_id, correlation_id=order_id)))
    return published


def _return_events(old: dict[str, Any] | None, new: dict[str, Any]) -> list[tuple[str, DomainEvent]]:
    return_id, order_id = str(new["returnId"]), str(new["orderId"])
    lines = [
        {"sku": str(x.get("sku")), "quantity": int(x.get("quantity") or 0), "reason": str(x.get("reason") or "")}
        for x in new.get("lines") or []
    ]
    data: dict[str, Any] = {"returnId": return_id, "orderId": order_id, "lines": lines}
    if old is None:
        event = DomainEvent(
            "ReturnRequested", data, id=stable_id(return_id, "ReturnRequested"), correlation_id=order_id
        )
        return [(ORDERS, event)]
    if new.get("status") == "REFUNDED" and old.get("status") != "REFUNDED":
        amount = {"amount": int(new.get("refundAmount") or 0), "currency": new.get("currency") or "usd"}
        data = {**data, "amount": amount, "restocked": new.get("restocked") == "true"}
        return [
            (
                ORDERS,
                DomainEvent("RefundIssued", data, id=stable_id(return_id, "RefundIssued"), correlation_id=order_id),
            )
        ]
    return []


def events_for_change(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[tuple[str, DomainEvent]]:
    """The events a stream record stands for (none for deletions and unrelated items)."""
    if new is None:
        return []
    kind = str(new.get("sk", ""))
    if kind == "ORDER" and new.get("orderId"):
        return _order_events(old, new)
    if kind.startswith("SHIPMENT#") and new.get("shipmentId"):
        return _shipment_events(old, new)
    if kind.startswith("RETURN#") and new.get("returnId"):
        return _return_events(old, new)
    return []
