"""The business metrics one integration event is counted as (CloudWatch, namespace `Shopstack`,
dimension `service=analytics`). Pure: no I/O.

They are counted where every event arrives once: the analytics consumer emits them only for an
event it had not seen, so a redelivered event is never counted twice. Money is in minor units
(cents) per currency, as everywhere in shopstack; `declineCode` and `currency` are the only extra
dimensions, since each of their values is a metric billed by the month."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

EXPIRED_REASON = "reservation expired"
"""How an order cancelled by its reservation's expiry begins its reason (`commerce.settlement`)."""


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    value: float = 1
    unit: str = "Count"
    dimensions: Mapping[str, str] = field(default_factory=dict)


def _money(data: Mapping[str, Any], key: str) -> tuple[int, str]:
    money = data.get(key) or {}
    return int(money.get("amount") or 0), str(money.get("currency") or "unknown")


def metrics_of(envelope: Mapping[str, Any]) -> list[Metric]:
    """The metrics an event (`{"detail-type", "detail": {"data", ...}}`) is counted as."""
    name = str(envelope.get("detail-type") or "")
    data = (envelope.get("detail") or {}).get("data") or {}
    if name == "CheckoutStarted":
        return [Metric("OrdersPlaced")]
    if name == "OrderConfirmed":
        amount, currency = _money(data, "total")
        return [Metric("OrdersConfirmed"), Metric("Revenue", amount, "None", {"currency": currency})]
    if name == "PaymentFailed":
        code = str(data.get("declineCode") or "unknown")
        return [Metric("PaymentDeclines"), Metric("PaymentDeclinesByCode", 1, "Count", {"declineCode": code})]
    if name == "OrderCancelled":
        found = [Metric("OrdersCancelled")]
        if str(data.get("reason") or "").startswith(EXPIRED_REASON):
            found.append(Metric("ReservationsExpired"))
        amount, currency = _money(data, "refund")
        return found + _refund(amount, currency)
    if name == "RefundIssued":
        amount, currency = _money(data, "amount")
        return _refund(amount, currency)
    return []


def _refund(amount: int, currency: str) -> list[Metric]:
    if amount <= 0:
        return []
    return [Metric("Refunds"), Metric("RefundedAmount", amount, "None", {"currency": currency})]
