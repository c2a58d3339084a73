"""Checkout's other items in the Carts table: the Stripe webhook log (`FakeWebhookLog` and
`DynamoWebhookLog`) remembers each handled event, and the guest hold counter (`FakeHoldCounter`
and `DynamoHoldCounter`) grants at most `limit` holds per key and window, on moto and in memory
alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.unit.contracts.conftest import BACKENDS, Tables

WINDOW = 10**9
"""Seconds: a window no test run crosses (the next one starts in 2033)."""


@dataclass
class Store:
    log: Any
    holds: Any


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "fake":
        from tests.unit.checkout_fakes import FakeHoldCounter, FakeWebhookLog

        return Store(FakeWebhookLog(), FakeHoldCounter())
    from checkout.adapters.dynamodb import DynamoHoldCounter, DynamoWebhookLog, HoldRecord, WebhookRecord
    from commerce.ledger import OrderItem
    from commerce.records.carts import CartRecord
    from commerce.records.products import ProductItem

    tables: Tables = request.getfixturevalue("dynamo")
    tables.table("CARTS_TABLE", CartRecord, WebhookRecord, HoldRecord)
    tables.table("ORDERS_TABLE", OrderItem)
    tables.table("PRODUCTS_TABLE", ProductItem)
    return Store(DynamoWebhookLog(), DynamoHoldCounter())


def test_a_handled_stripe_event_is_remembered(store: Store) -> None:
    assert store.log.seen("evt_1") is False
    store.log.remember("evt_1", "order o-1 paid")
    assert store.log.seen("evt_1") is True
    assert store.log.seen("evt_2") is False
    store.log.remember("evt_1", "replayed")  # a redelivery handled again is no error
    assert store.log.seen("evt_1") is True


def test_holds_are_granted_up_to_the_limit_per_key(store: Store) -> None:
    assert [store.holds.take("email:ada", 2, WINDOW) for _ in range(3)] == [True, True, False]
    assert store.holds.take("client:10.0.0.1", 2, WINDOW) is True
    assert store.holds.take("email:ada", 3, WINDOW) is True  # a higher limit leaves room again
    assert store.holds.take("email:ada", 3, WINDOW) is False


def test_a_limit_of_zero_grants_nothing(store: Store) -> None:
    assert store.holds.take("email:ada", 0, WINDOW) is False
    assert store.holds.take("email:ada", 1, WINDOW) is True
