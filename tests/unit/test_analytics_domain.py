"""The analytics aggregates: what each event adds, in any order of arrival, once."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import pytest

from analytics.domain import aggregates as agg
from analytics.domain.aggregates import MalformedEvent
from tests.unit.analytics_fakes import FakeAggregates


def event(name: str, at: str, data: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "detail-type": name,
        "detail": {
            "id": event_id or f"{name}-{data.get('orderId') or data.get('cartId')}",
            "occurredAt": at,
            "data": data,
        },
    }


def confirmed(
    order_id: str, at: str, *lines: tuple[str, int, int], currency: str = "usd", **who: str
) -> dict[str, Any]:
    total = sum(amount for _, _, amount in lines) + 500
    data = {
        "orderId": order_id,
        "total": {"amount": total, "currency": currency},
        "lines": [{"sku": sku, "quantity": qty, "amount": amount} for sku, qty, amount in lines],
        "invoiceNumber": "INV-1",
        **who,
    }
    return event("OrderConfirmed", at, data)


def refunded(return_id: str, order_id: str, at: str, sku: str, qty: int, amount: int) -> dict[str, Any]:
    data = {
        "returnId": return_id,
        "orderId": order_id,
        "lines": [{"sku": sku, "quantity": qty, "amount": amount}],
        "amount": {"amount": amount, "currency": "usd"},
        "restocked": True,
    }
    return event("RefundIssued", at, data)


class Counters(FakeAggregates):
    def apply_envelope(self, envelope: dict[str, Any]) -> None:
        self.apply(agg.effects_of(envelope))

    def sweep_at(self, now: str, idle: int) -> None:
        self.sweep(datetime.fromisoformat(now.replace("Z", "+00:00")), idle)


ORDER_A = confirmed("A", "2026-12-01T10:00:00Z", ("MUG", 2, 2000), ("TEE", 1, 2500), customerId="ada")
REFUND_A = refunded("R1", "A", "2026-12-03T09:00:00Z", "MUG", 1, 1080)
ORDER_B = confirmed("B", "2026-12-02T11:00:00Z", ("MUG", 1, 1000), customerId="ada")
ORDER_EUR = confirmed("C", "2026-12-01T12:00:00Z", ("MUG", 1, 900), currency="eur", email="Guest@Example.com")


@pytest.mark.parametrize("order", list(itertools.permutations([ORDER_A, REFUND_A, ORDER_B, ORDER_EUR])))
def test_every_order_of_arrival_and_every_duplicate_gives_the_same_totals(order: tuple[dict[str, Any], ...]) -> None:
    counters = Counters()
    for envelope in (*order, *order):  # each delivered twice
        counters.apply_envelope(envelope)
    assert counters.counts("SALES#2026-12", "2026-12-01#usd") == {
        "orders": 1,
        "gross": 5000,
        "units": 3,
        "newCustomers": 1,
    }
    assert counters.counts("SALES#2026-12", "2026-12-02#usd") == {
        "orders": 1,
        "gross": 1500,
        "units": 1,
        "returningCustomers": 1,
    }
    assert counters.counts("SALES#2026-12", "2026-12-03#usd") == {"refunds": 1080, "refundCount": 1}
    assert counters.counts("SALES#2026-12", "2026-12-01#eur") == {
        "orders": 1,
        "gross": 1400,
        "units": 1,
        "newCustomers": 1,
    }
    assert counters.counts("PRODUCT#2026-12", "2026-12-01#MUG#usd") == {"units": 2, "revenue": 2000}
    assert counters.counts("PRODUCT#2026-12", "2026-12-03#MUG#usd") == {"refunds": 1080, "returnedUnits": 1}
    assert counters.counts("DAY#2026-12-01", "EVENT#OrderConfirmed") == {"count": 2}


def test_reports_derive_net_revenue_average_order_value_and_never_add_currencies() -> None:
    rows = [
        ("2026-12-01", "usd", {"orders": 2, "gross": 5000, "units": 3, "refunds": 1000, "newCustomers": 2}),
        ("2026-12-02", "usd", {"orders": 1, "gross": 1500, "units": 1, "returningCustomers": 1}),
        ("2026-12-01", "eur", {"orders": 1, "gross": 900, "units": 1}),
    ]
    report = agg.sales_report(rows)
    assert report["totals"]["usd"] | {} == {
        "orders": 3,
        "gross": 6500,
        "revenue": 6500,
        "units": 4,
        "refunds": 1000,
        "refundCount": 0,
        "netRevenue": 5500,
        "averageOrderValue": 2166,
        "newCustomers": 2,
        "returningCustomers": 1,
    }
    assert report["totals"]["eur"]["gross"] == 900
    assert [d["date"] for d in report["days"]] == ["2026-12-01", "2026-12-02"]
    assert set(report["days"][0]["currencies"]) == {"eur", "usd"}


def test_top_products_by_units_or_revenue_with_return_rate() -> None:
    rows = [
        ("MUG", "usd", {"units": 4, "revenue": 4000, "returnedUnits": 1, "refunds": 1000}),
        ("TEE", "usd", {"units": 1, "revenue": 5000}),
        ("MUG", "usd", {"units": 1, "revenue": 1000}),
        ("CAP", "usd", {"units": 2, "revenue": 500}),
    ]
    by_units = agg.products_report(rows, by="units", limit=2)["usd"]
    assert [(p["sku"], p["units"]) for p in by_units] == [("MUG", 5), ("CAP", 2)]
    assert by_units[0]["returnRate"] == 0.2
    assert [p["sku"] for p in agg.products_report(rows, by="revenue", limit=1)["usd"]] == ["MUG"]


def cart(cart_id: str, at: str, items: int, email: str | None = None) -> dict[str, Any]:
    return event("CartUpdated", at, {"cartId": cart_id, "itemCount": items, "email": email}, f"u-{cart_id}-{at}")


def test_the_funnel_counts_each_cart_once_in_any_order_and_abandoned_carts_by_their_last_day() -> None:
    counters = Counters()
    checkout = event("CheckoutStarted", "2026-12-01T10:05:00Z", {"orderId": "A", "cartId": "c1", "total": {}})
    for envelope in (
        event("CartCreated", "2026-12-01T10:00:00Z", {"cartId": "c1", "signedIn": False}),
        checkout,  # arrives before the cart's item events
        cart("c1", "2026-12-01T10:01:00Z", 1),
        cart("c1", "2026-12-01T10:02:00Z", 2),
        event("CartCreated", "2026-12-01T11:00:00Z", {"cartId": "c2", "signedIn": True}),
        cart("c2", "2026-12-01T11:01:00Z", 1, "ada@example.com"),
        event("CartCreated", "2026-12-01T12:00:00Z", {"cartId": "c3", "signedIn": False}),  # never filled
    ):
        counters.apply_envelope(envelope)
    counters.sweep_at("2026-12-01T11:30:00Z", idle=60)
    assert counters.counts("FUNNEL#2026-12", "2026-12-01") == {
        "cartsCreated": 3,
        "cartsWithItems": 2,
        "checkoutsStarted": 1,
    }
    counters.sweep_at("2026-12-02T00:30:00Z", idle=60)
    assert counters.counts("FUNNEL#2026-12", "2026-12-01")["abandonedCarts"] == 1
    assert counters.carts["c2"].abandoned_day == "2026-12-01" and counters.carts["c2"].email == "ada@example.com"
    counters.sweep_at("2026-12-02T01:30:00Z", idle=60)
    assert counters.counts("FUNNEL#2026-12", "2026-12-01")["abandonedCarts"] == 1, "counted once"

    counters.apply_envelope(cart("c2", "2026-12-02T09:00:00Z", 2))  # the shopper came back
    assert "abandonedCarts" not in counters.counts("FUNNEL#2026-12", "2026-12-01")
    counters.sweep_at("2026-12-02T11:00:00Z", idle=60)
    assert counters.counts("FUNNEL#2026-12", "2026-12-02") == {"abandonedCarts": 1}

    report = agg.funnel_report([counters.counts("FUNNEL#2026-12", d) for d in ("2026-12-01", "2026-12-02")])
    assert report["cartsCreated"] == 3 and report["abandonedCarts"] == 1
    assert report["conversion"]["cartsCreatedToCartsWithItems"] == round(2 / 3, 4)


def test_an_earlier_order_arriving_late_takes_the_new_customer_from_the_later_one() -> None:
    later = agg.Order("B", "id:ada", "2026-12-05T10:00:00Z", "usd")
    earlier = agg.Order("A", "id:ada", "2026-12-01T10:00:00Z", "eur")
    kept, moves = agg.first_order(later, earlier)
    assert kept == earlier
    assert moves == (
        agg.sales("2026-12-01", "eur", newCustomers=1),
        agg.sales("2026-12-05", "usd", newCustomers=-1, returningCustomers=1),
    )


def test_a_guest_is_known_by_a_hash_of_their_email_and_an_erased_one_not_at_all() -> None:
    key = agg.customer_key({"email": " Ada@Example.com"})
    assert key == agg.customer_key({"email": "ada@example.com"}) and key is not None and "ada" not in key
    assert agg.customer_key({"email": "erased@invalid"}) is None


@pytest.mark.parametrize(
    "envelope",
    [
        {"detail-type": "OrderConfirmed"},
        event("OrderConfirmed", "2026-12-01T00:00:00Z", {"orderId": "A", "total": {"amount": "1", "currency": "usd"}}),
        event("RefundIssued", "2026-12-01T00:00:00Z", {"amount": {"amount": 1, "currency": "usd"}, "lines": [{}]}),
        event("CartUpdated", "2026-12-01T00:00:00Z", {"itemCount": 1}),
    ],
)
def test_malformed_events_are_refused(envelope: dict[str, Any]) -> None:
    with pytest.raises(MalformedEvent):
        agg.effects_of(envelope)


def test_a_confirmed_order_cancelled_with_its_payment_refunded_counts_as_a_refund() -> None:
    counters = Counters()
    lines = [{"sku": "MUG", "quantity": 2, "amount": 2000}]
    refunded = {"orderId": "A", "total": {"amount": 2500, "currency": "usd"}, "reason": "customer", "lines": lines}
    counters.apply_envelope(
        event("OrderCancelled", "2026-12-04T08:00:00Z", {**refunded, "refund": {"amount": 2500, "currency": "usd"}})
    )
    voided = {**refunded, "orderId": "B", "refund": {"amount": 0, "currency": "usd"}}
    counters.apply_envelope(event("OrderCancelled", "2026-12-04T09:00:00Z", voided))
    assert counters.counts("SALES#2026-12", "2026-12-04#usd") == {"refunds": 2500, "refundCount": 1}
    assert counters.counts("PRODUCT#2026-12", "2026-12-04#MUG#usd") == {"refunds": 2000}
