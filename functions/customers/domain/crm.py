"""What staff see about a customer: their stats and a timeline of everything that happened.
Built from the Orders table's items as they are stored (the orders service owns their layout:
`ORDER#<id>` / `ORDER`, `SHIPMENT#<id>`, `RETURN#<id>`, `INVOICE`). Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from customers.domain.profile import Interaction, Profile

NOT_REVENUE = frozenset({"CANCELLED", "PAYMENT_FAILED", "PENDING_PAYMENT"})
"""Orders that never brought money in: cancelled, declined, or not yet paid."""
EMAIL_STATUS = {"confirmation": "CONFIRMED", "cancellation": "CANCELLED", "delivered": "DELIVERED"}
"""The order status each email is sent for, which dates it (the order only marks it as sent)."""
INTERNAL = frozenset({"pk", "sk", "orderTokenHash", "tokenHash"})
"""Key and capability-token hashes: not data about the customer, never shown."""


@dataclass(frozen=True, slots=True)
class OrderBundle:
    """An order item and every other item under its partition (shipments, returns, invoice)."""

    order: dict[str, Any]
    related: tuple[dict[str, Any], ...] = field(default=())

    @property
    def order_id(self) -> str:
        return str(self.order.get("orderId") or str(self.order.get("pk", "")).removeprefix("ORDER#"))

    @property
    def currency(self) -> str:
        return str(self.order.get("currency") or "usd")

    def of_kind(self, prefix: str) -> list[dict[str, Any]]:
        return [item for item in self.related if str(item.get("sk", "")).startswith(prefix)]

    @property
    def returns(self) -> list[dict[str, Any]]:
        return self.of_kind("RETURN#")

    @property
    def shipments(self) -> list[dict[str, Any]]:
        return self.of_kind("SHIPMENT#")

    @property
    def invoice(self) -> dict[str, Any] | None:
        found = self.of_kind("INVOICE")
        return found[0] if found else None


def money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": int(amount), "currency": currency}


def _amount(value: Any) -> int:
    if isinstance(value, dict):
        value = value.get("amount")
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def refunded(bundle: OrderBundle) -> int:
    return sum(_amount(r.get("refundAmount")) for r in bundle.returns if r.get("refundAmount") is not None)


def stats(bundles: list[OrderBundle]) -> dict[str, Any]:
    """Orders placed, and their lifetime value: what paid orders brought in less what was refunded."""
    currency = bundles[0].currency if bundles else "usd"
    value = sum(
        _amount(b.order.get("totalAmount")) - refunded(b)
        for b in bundles
        if b.currency == currency and str(b.order.get("status")) not in NOT_REVENUE
    )
    refunds = sum(refunded(b) for b in bundles if b.currency == currency)
    return {"orders": len(bundles), "lifetimeValue": money(value, currency), "refunded": money(refunds, currency)}


def _status_at(bundle: OrderBundle, status: str) -> str | None:
    stamps = [str(h.get("at")) for h in bundle.order.get("history") or [] if h.get("status") == status and h.get("at")]
    return stamps[-1] if stamps else None


def _email_at(bundle: OrderBundle, name: str) -> str:
    if name.startswith("shipped-"):
        shipment_id = name.removeprefix("shipped-")
        for shipment in bundle.shipments:
            if shipment.get("shipmentId") == shipment_id and shipment.get("createdAt"):
                return str(shipment["createdAt"])
    status = EMAIL_STATUS.get(name)
    stamp = _status_at(bundle, status) if status else None
    return stamp or str(bundle.order.get("updatedAt") or bundle.order.get("createdAt") or "")


def order_entries(bundle: OrderBundle) -> list[dict[str, Any]]:
    order, order_id, currency = bundle.order, bundle.order_id, bundle.currency
    entries: list[dict[str, Any]] = [
        {
            "type": "order",
            "at": str(order.get("createdAt") or ""),
            "orderId": order_id,
            "status": order.get("status"),
            "total": money(_amount(order.get("totalAmount")), currency),
        }
    ]
    for index, change in enumerate(order.get("history") or []):
        if index == 0 and change.get("status") == "PENDING_PAYMENT":
            continue  # the order's creation, already the entry above
        entry = {"type": "order_status", "at": str(change.get("at") or ""), "orderId": order_id}
        entry.update(status=change.get("status"), note=change.get("note"))
        entries.append(entry)
    for ret in bundle.returns:
        entries.append(
            {
                "type": "return",
                "at": str(ret.get("createdAt") or ""),
                "orderId": order_id,
                "returnId": ret.get("returnId"),
                "status": ret.get("status"),
                "lines": ret.get("lines") or [],
            }
        )
        if ret.get("refundAmount") is not None:
            entries.append(
                {
                    "type": "refund",
                    "at": str(ret.get("refundedAt") or ret.get("createdAt") or ""),
                    "orderId": order_id,
                    "returnId": ret.get("returnId"),
                    "amount": money(_amount(ret.get("refundAmount")), str(ret.get("currency") or currency)),
                }
            )
    for name in sorted(order.get("emailsSent") or []):
        entries.append({"type": "email", "at": _email_at(bundle, str(name)), "orderId": order_id, "email": name})
    return entries


def timeline(
    profile: Profile | None, bundles: list[OrderBundle], interactions: list[Interaction]
) -> list[dict[str, Any]]:
    """Every order, status change, return, refund, email and interaction, newest first."""
    entries: list[dict[str, Any]] = []
    if profile is not None:
        entries.append({"type": "registered", "at": profile.created_at})
    for bundle in bundles:
        entries.extend(order_entries(bundle))
    for interaction in interactions:
        entries.append({"type": "interaction", "at": interaction.at, **interaction.to_json()})
    order = {"registered": 0, "order": 1, "order_status": 2, "return": 3, "refund": 4, "email": 5, "interaction": 6}
    return sorted(entries, key=lambda e: (e["at"], order.get(e["type"], 9)), reverse=True)


def customer_view(
    customer_id: str, profile: Profile | None, bundles: list[OrderBundle], interactions: list[Interaction]
) -> dict[str, Any]:
    return {
        "customerId": customer_id,
        "status": "ACTIVE",
        "profile": profile.to_json() if profile else None,
        "stats": stats(bundles),
        "timeline": timeline(profile, bundles, interactions),
    }


def erased_view(customer_id: str, erased_at: str) -> dict[str, Any]:
    """What is left of an erased customer: the fact and time of the erasure, nothing personal."""
    return {
        "customerId": customer_id,
        "status": "ERASED",
        "erasedAt": erased_at,
        "profile": None,
        "stats": stats([]),
        "timeline": [{"type": "erased", "at": erased_at}],
    }


def public_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in INTERNAL}


def order_export(bundle: OrderBundle) -> dict[str, Any]:
    """An order as held, with its shipments, returns and invoice (keys and token hashes left out)."""
    invoice = bundle.invoice
    known = ("SHIPMENT#", "RETURN#", "INVOICE")
    return {
        **public_item(bundle.order),
        "shipments": [public_item(s) for s in bundle.shipments],
        "returns": [public_item(r) for r in bundle.returns],
        "invoice": public_item(invoice) if invoice else None,
        "otherRecords": [public_item(i) for i in bundle.related if not str(i.get("sk", "")).startswith(known)],
    }
