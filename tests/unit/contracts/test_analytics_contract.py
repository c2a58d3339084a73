"""The analytics `Aggregates` port: `tests.unit.analytics_fakes.FakeAggregates` and
`analytics.adapters.dynamodb.DynamoAggregates` on moto answer alike: each event is counted
once, a customer's first order is decided whatever the order of arrival, idle carts are counted
abandoned once, and the reports read the counters of the range asked for, a page at a time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from analytics.domain import aggregates as agg
from tests.unit.contracts.conftest import BACKENDS, Tables

INDEXES = [
    # infra/stacks/analytics.py: add_keys_only_index("byPending"), add_index("byAbandoned")
    {
        "IndexName": "byPending",
        "KeySchema": [
            {"AttributeName": "pending", "KeyType": "HASH"},
            {"AttributeName": "pendingAt", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    },
    {
        "IndexName": "byAbandoned",
        "KeySchema": [
            {"AttributeName": "abandonedMonth", "KeyType": "HASH"},
            {"AttributeName": "abandonedKey", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    },
]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Any:
    if request.param == "fake":
        from tests.unit.analytics_fakes import FakeAggregates

        return FakeAggregates()
    from analytics.adapters.dynamodb import DynamoAggregates

    tables: Tables = request.getfixturevalue("dynamo")
    tables.table("ANALYTICS_TABLE", keys=("pk", "sk"), indexes=INDEXES)
    return DynamoAggregates()


def rows(store: Any, prefix: str, start: date, end: date) -> list[tuple[str, dict[str, int]]]:
    """The rows as the reports use them: each counter summed, so a counter moved back to zero
    and one never counted read alike."""
    return [(sk, {k: v for k, v in counts.items() if v}) for sk, counts in store.rows(prefix, start, end)]


def sale(event_id: str, at: str, *, order_id: str, customer: str, total: int = 5000) -> agg.Effects:
    day = at[:10]
    return agg.Effects(
        event_id,
        (
            agg.sales(day, "usd", orders=1, gross=total, units=2),
            agg.product(day, "TEA-1", "usd", units=2, revenue=total),
        ),
        order=agg.Order(order_id, customer, at, "usd"),
    )


def cart(event_id: str, cart_id: str, at: str, *, items: bool = True, checked_out: bool = False) -> agg.Effects:
    """A cart event; times as events carry them (`commerce.clock.rfc3339`, milliseconds: the
    sweep compares them as strings with its own cutoff)."""
    return agg.Effects(
        event_id,
        (agg.funnel(at[:10], cartsCreated=1),),
        cart=agg.Cart(cart_id, at, items, filled=items, checked_out=checked_out, email=f"{cart_id}@example.com"),
    )


def test_an_event_is_counted_once(store: Any) -> None:
    effects = sale("evt-1", "2026-03-05T10:00:00.000Z", order_id="o-1", customer="id:sub-1")
    assert store.apply(effects) is True
    assert store.apply(effects) is False
    assert rows(store, "SALES", date(2026, 3, 1), date(2026, 3, 31)) == [
        ("2026-03-05#usd", {"orders": 1, "gross": 5000, "units": 2, "newCustomers": 1})
    ]
    assert rows(store, "PRODUCT", date(2026, 3, 1), date(2026, 3, 31)) == [
        ("2026-03-05#TEA-1#usd", {"units": 2, "revenue": 5000})
    ]


def test_adds_to_one_counter_in_one_event_are_summed(store: Any) -> None:
    day = "2026-03-05"
    effects = agg.Effects("evt-1", (agg.funnel(day, cartsCreated=1), agg.funnel(day, cartsCreated=2, ordersPaid=1)))
    assert store.apply(effects) is True
    assert rows(store, "FUNNEL", date(2026, 3, 5), date(2026, 3, 5)) == [(day, {"cartsCreated": 3, "ordersPaid": 1})]


def test_a_customers_first_order_whatever_the_order_of_arrival(store: Any) -> None:
    assert store.apply(sale("evt-2", "2026-03-07T10:00:00.000Z", order_id="o-2", customer="id:sub-1")) is True
    assert store.apply(sale("evt-1", "2026-03-05T10:00:00.000Z", order_id="o-1", customer="id:sub-1")) is True
    assert store.apply(sale("evt-3", "2026-03-09T10:00:00.000Z", order_id="o-3", customer="id:sub-1")) is True
    assert store.apply(sale("evt-4", "2026-03-09T11:00:00.000Z", order_id="o-4", customer="id:sub-2")) is True
    counted = {
        sk: (counts.get("newCustomers", 0), counts.get("returningCustomers", 0))
        for sk, counts in rows(store, "SALES", date(2026, 3, 1), date(2026, 3, 31))
    }
    assert counted == {"2026-03-05#usd": (1, 0), "2026-03-07#usd": (0, 1), "2026-03-09#usd": (1, 1)}


def test_reports_read_the_range_asked_for_across_months(store: Any) -> None:
    for n, at in enumerate(
        ["2026-01-31T23:00:00.000Z", "2026-02-01T00:00:00.000Z", "2026-02-15T00:00:00.000Z", "2026-03-01T00:00:00.000Z"]
    ):
        store.apply(agg.Effects(f"evt-{n}", (agg.funnel(at[:10], ordersPaid=1),)))
    assert [sk for sk, _ in rows(store, "FUNNEL", date(2026, 1, 31), date(2026, 2, 28))] == [
        "2026-01-31",
        "2026-02-01",
        "2026-02-15",
    ]
    assert [sk for sk, _ in rows(store, "FUNNEL", date(2026, 2, 2), date(2026, 3, 1))] == ["2026-02-15", "2026-03-01"]
    assert rows(store, "FUNNEL", date(2026, 4, 1), date(2026, 4, 30)) == []
    assert rows(store, "SALES", date(2026, 1, 1), date(2026, 3, 31)) == []


def test_an_idle_cart_is_counted_abandoned_once(store: Any) -> None:
    store.apply(cart("evt-1", "c-1", "2026-03-05T10:00:00.000Z"))
    store.apply(cart("evt-2", "c-2", "2026-03-05T10:50:00.000Z"))  # not idle long enough
    store.apply(cart("evt-3", "c-3", "2026-03-05T09:00:00.000Z", items=False))  # empty
    store.apply(cart("evt-4", "c-4", "2026-03-05T09:00:00.000Z", checked_out=True))
    now = datetime(2026, 3, 5, 11, 0, tzinfo=UTC)
    assert store.sweep(now, 60) == 1
    assert store.sweep(now, 60) == 0
    page, cursor = store.abandoned_carts(date(2026, 3, 1), date(2026, 3, 31), 10, None)
    assert page == [
        {
            "cartId": "c-1",
            "date": "2026-03-05",
            "lastActivityAt": "2026-03-05T10:00:00.000Z",
            "email": "c-1@example.com",
        }
    ]
    assert cursor is None
    funnel = dict(rows(store, "FUNNEL", date(2026, 3, 5), date(2026, 3, 5)))["2026-03-05"]
    assert (funnel["abandonedCarts"], funnel["cartsWithItems"]) == (1, 3)


def test_a_cart_checked_out_after_all_is_no_longer_abandoned(store: Any) -> None:
    store.apply(cart("evt-1", "c-1", "2026-03-05T10:00:00.000Z"))
    assert store.sweep(datetime(2026, 3, 5, 12, 0, tzinfo=UTC), 60) == 1
    checkout = agg.Effects("evt-2", (), cart=agg.Cart("c-1", "2026-03-05T12:30:00.000Z", True, True, checked_out=True))
    assert store.apply(checkout) is True
    assert store.abandoned_carts(date(2026, 3, 1), date(2026, 3, 31), 10, None) == ([], None)
    assert store.sweep(datetime(2026, 3, 6, 12, 0, tzinfo=UTC), 60) == 0
    funnel = dict(rows(store, "FUNNEL", date(2026, 3, 5), date(2026, 3, 5)))["2026-03-05"]
    assert funnel.get("abandonedCarts", 0) == 0


@pytest.mark.parametrize("count", [5, 4])
def test_abandoned_carts_page_through_every_cart_once_by_day(store: Any, count: int) -> None:
    """Pages of two, the last one short (5 carts) or full (4: the adapter may answer a cursor
    to an empty page, the fake none; either way the walk ends with every cart listed once)."""
    days = ["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-01", "2026-03-03"][:count]
    for n, day in enumerate(days):
        store.apply(cart(f"evt-{n}", f"c-{n}", f"{day}T10:00:00.000Z"))
    store.apply(cart("evt-9", "c-9", "2026-04-01T10:00:00.000Z"))
    assert store.sweep(datetime(2026, 4, 2, tzinfo=UTC), 60) == count + 1

    listed: list[tuple[str, str]] = []
    cursor = None
    for _ in range(10):
        page, cursor = store.abandoned_carts(date(2026, 2, 1), date(2026, 3, 31), 2, cursor)
        assert len(page) <= 2
        listed += [(c["date"], c["cartId"]) for c in page]
        if cursor is None:
            break
    assert cursor is None, "the cursor never ends"
    expected = [("2026-02-27", "c-0"), ("2026-02-28", "c-1"), ("2026-03-01", "c-2"), ("2026-03-01", "c-3")]
    assert listed == [*expected, ("2026-03-03", "c-4")][:count]
    short, none_after = store.abandoned_carts(date(2026, 2, 28), date(2026, 2, 28), 2, None)
    assert [c["cartId"] for c in short] == ["c-1"]
    assert none_after is None  # a page that is not full is the last
