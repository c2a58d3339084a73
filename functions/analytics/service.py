"""Analytics use cases behind one port: count an event once, sweep abandoned carts, and read the
reports of docs/api.md for any date range (a few Queries of the month partitions, never a scan
of orders)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from analytics.domain import aggregates
from analytics.domain.aggregates import Effects
from commerce.errors import ValidationFailed

MAX_RANGE_DAYS = 366
REPORT_BY = ("units", "revenue")


class Aggregates(Protocol):
    def apply(self, effects: Effects) -> bool: ...
    def sweep(self, now: datetime, idle_minutes: int) -> int: ...
    def rows(self, prefix: str, start: date, end: date) -> list[tuple[str, dict[str, int]]]: ...
    def abandoned_carts(
        self, start: date, end: date, limit: int, after: str | None
    ) -> tuple[list[dict[str, Any]], str | None]: ...


def record(store: Aggregates, envelope: Mapping[str, Any]) -> bool:
    """Count one event (an EventBridge envelope); False when it was counted before."""
    return store.apply(aggregates.effects_of(envelope))


def date_range(start: str | None, end: str | None, *, today: date) -> tuple[date, date]:
    """`from`/`to` (YYYY-MM-DD, inclusive; default: the last 30 days to today), at most
    MAX_RANGE_DAYS long."""
    try:
        last = date.fromisoformat(end) if end else today
        first = date.fromisoformat(start) if start else last - timedelta(days=29)
    except ValueError as exc:
        raise ValidationFailed("`from` and `to` are dates: YYYY-MM-DD.", code="invalid_date_range") from exc
    if first > last:
        raise ValidationFailed("`from` is after `to`.", code="invalid_date_range")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise ValidationFailed(f"A report covers at most {MAX_RANGE_DAYS} days.", code="invalid_date_range")
    return first, last


def sales(store: Aggregates, first: date, last: date) -> dict[str, Any]:
    rows = [(sk[:10], sk[11:], counts) for sk, counts in store.rows("SALES", first, last)]
    return {"from": first.isoformat(), "to": last.isoformat(), **aggregates.sales_report(rows)}


def products(store: Aggregates, first: date, last: date, *, by: str, limit: int) -> dict[str, Any]:
    if by not in REPORT_BY:
        raise ValidationFailed(f"`by` is one of {', '.join(REPORT_BY)}.", code="validation_error")
    rows = []
    for sk, counts in store.rows("PRODUCT", first, last):
        _, sku, currency = sk.split("#", 2)
        rows.append((sku, currency, counts))
    top = aggregates.products_report(rows, by=by, limit=limit)
    return {"from": first.isoformat(), "to": last.isoformat(), "by": by, "currencies": top}


def funnel(store: Aggregates, first: date, last: date) -> dict[str, Any]:
    report = aggregates.funnel_report([counts for _, counts in store.rows("FUNNEL", first, last)])
    return {"from": first.isoformat(), "to": last.isoformat(), **report}
