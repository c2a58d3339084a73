"""The analytics reports as API Gateway invokes them (REST proxy events), with the port in memory."""

from __future__ import annotations

from typing import Any

import pytest

from analytics import bootstrap
from analytics.domain.aggregates import effects_of
from analytics.entrypoints import api
from tests.unit.analytics_fakes import FakeAggregates
from tests.unit.apigw import invoke, proxy_event
from tests.unit.test_analytics_domain import ORDER_A, ORDER_B, ORDER_EUR, REFUND_A, cart, event

STAFF = {"sub": "staff-1", "email": "staff@example.com", "cognito:groups": "admin"}
ADA = {"sub": "ada", "email": "ada@example.com"}


@pytest.fixture(autouse=True)
def store(monkeypatch: pytest.MonkeyPatch) -> FakeAggregates:
    fake = FakeAggregates()
    for envelope in (ORDER_A, REFUND_A, ORDER_B, ORDER_EUR):
        fake.apply(effects_of(envelope))
    fake.apply(effects_of(event("CartCreated", "2026-12-01T11:00:00Z", {"cartId": "c2", "signedIn": True})))
    fake.apply(effects_of(cart("c2", "2026-12-01T11:01:00Z", 1, "ada@example.com")))
    monkeypatch.setattr(bootstrap, "aggregates", lambda: fake)
    return fake


def call(path: str, query: dict[str, str] | None = None, claims: dict[str, str] | None = STAFF) -> tuple[int, Any]:
    return invoke(api.handler, proxy_event("GET", path, path, query=query, claims=claims), "AnalyticsApi")


def test_sales_per_day_and_currency_for_a_range() -> None:
    status, report = call("/admin/analytics/sales", {"from": "2026-12-01", "to": "2026-12-02"})
    assert status == 200, report
    assert (report["from"], report["to"]) == ("2026-12-01", "2026-12-02")
    assert report["totals"]["usd"]["orders"] == 2 and report["totals"]["usd"]["gross"] == 6500
    assert report["totals"]["usd"]["refunds"] == 0, "the refund was on 2026-12-03, outside the range"
    assert report["totals"]["eur"]["gross"] == 1400
    status, report = call("/admin/analytics/sales", {"from": "2026-12-01", "to": "2026-12-03"})
    assert report["totals"]["usd"]["netRevenue"] == 6500 - 1080


def test_top_products_and_funnel() -> None:
    status, top = call("/admin/analytics/products", {"from": "2026-12-01", "to": "2026-12-31", "by": "units"})
    assert status == 200, top
    assert [(p["sku"], p["units"]) for p in top["currencies"]["usd"]] == [("MUG", 3), ("TEE", 1)]
    status, funnel = call("/admin/analytics/funnel", {"from": "2026-12-01", "to": "2026-12-01"})
    assert status == 200, funnel
    assert (funnel["cartsCreated"], funnel["cartsWithItems"]) == (1, 1)


def test_abandoned_carts_are_listed_with_the_email_when_known(store: FakeAggregates) -> None:
    from datetime import UTC, datetime

    store.sweep(datetime(2026, 12, 2, tzinfo=UTC), 60)
    status, page = call("/admin/analytics/abandoned-carts", {"from": "2026-12-01", "to": "2026-12-01"})
    assert status == 200, page
    assert page["items"] == [
        {"cartId": "c2", "date": "2026-12-01", "lastActivityAt": "2026-12-01T11:01:00Z", "email": "ada@example.com"}
    ]
    assert page["nextCursor"] is None


@pytest.mark.parametrize(
    "query",
    [{"from": "2026-12-05", "to": "2026-12-01"}, {"from": "2025-01-01", "to": "2026-12-01"}, {"from": "2026-13-01"}],
)
def test_a_bad_range_is_422(query: dict[str, str]) -> None:
    status, problem = call("/admin/analytics/sales", query)
    assert status == 422, problem


def test_reports_are_for_staff() -> None:
    assert call("/admin/analytics/sales", claims=ADA)[0] == 403
    assert call("/admin/analytics/sales", claims=None)[0] == 401
