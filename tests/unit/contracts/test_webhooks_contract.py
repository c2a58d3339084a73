"""The outbound webhook ports: `tests.unit.integrations_fakes` (FakeSubscriptions,
FakeDeliveries) and `integrations.adapters.dynamodb` (DynamoSubscriptions, DynamoDeliveries on
moto) answer alike: a subscription id is taken once and a deleted subscription is never written
back; a delivery is created once and each attempt is recorded only over the attempts read."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest
from pynamodb.exceptions import PutError

from integrations.domain import webhooks as wh
from integrations.service import Attempt, Delivery, DeliveryStatus
from tests.unit.contracts.conftest import BACKENDS, Tables


@dataclass
class Store:
    subscriptions: Any
    deliveries: Any


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "fake":
        from tests.unit.integrations_fakes import FakeDeliveries, FakeSubscriptions

        return Store(FakeSubscriptions(), FakeDeliveries())
    from integrations.adapters.dynamodb import (
        DeliveryRecord,
        DynamoDeliveries,
        DynamoSubscriptions,
        SubscriptionRecord,
    )

    tables: Tables = request.getfixturevalue("dynamo")
    tables.table("WEBHOOKS_TABLE", SubscriptionRecord, DeliveryRecord)
    return Store(DynamoSubscriptions(), DynamoDeliveries())


def subscription(webhook_id: str = "wh_1", **more: Any) -> wh.Subscription:
    return wh.Subscription(
        webhook_id=webhook_id,
        url="https://hooks.example.com/in",
        events=("order.paid", "order.shipped"),
        secrets=(wh.Secret("whsec_new"), wh.Secret("whsec_old", "2026-01-02T00:00:00Z")),
        created_at="2026-01-01T00:00:00Z",
        description="the warehouse",
        **more,
    )


def delivery(delivery_id: str = "d-1", webhook_id: str = "wh_1", created_at: str = "2026-01-01T00:00:00Z") -> Delivery:
    return Delivery(
        delivery_id=delivery_id,
        webhook_id=webhook_id,
        event_id=f"evt-{delivery_id}",
        event_type="order.paid",
        body='{"type": "order.paid", "data": {"orderId": "o-1"}}',
        created_at=created_at,
        next_attempt_at=created_at,
    )


def attempt(number: int, status_code: int | None = 503, error: str | None = None) -> Attempt:
    return Attempt(number, f"2026-01-01T00:0{number}:00Z", status_code, 120, "busy", error)


# --- subscriptions -----------------------------------------------------------------------------


def test_a_subscription_reads_back_as_added(store: Store) -> None:
    assert store.subscriptions.get("wh_1") is None
    assert store.subscriptions.all() == []
    store.subscriptions.add(subscription())
    assert store.subscriptions.get("wh_1") == subscription()


def test_a_subscription_id_is_taken_once(store: Store) -> None:
    store.subscriptions.add(subscription())
    with pytest.raises(PutError):
        store.subscriptions.add(replace(subscription(), url="https://other.example.com/in"))
    assert store.subscriptions.get("wh_1") == subscription()


def test_saving_changes_a_subscription(store: Store) -> None:
    store.subscriptions.add(subscription())
    disabled = subscription(status=wh.SubscriptionStatus.DISABLED, failing_since="2026-01-03T00:00:00Z")
    store.subscriptions.save(disabled)
    assert store.subscriptions.get("wh_1") == disabled
    rotated = replace(disabled, secrets=(wh.Secret("whsec_newer"),), failing_since=None)
    store.subscriptions.save(rotated)
    assert store.subscriptions.get("wh_1") == rotated


def test_a_deleted_subscription_is_never_written_back(store: Store) -> None:
    store.subscriptions.add(subscription())
    store.subscriptions.delete("wh_1")
    assert store.subscriptions.get("wh_1") is None
    with pytest.raises(PutError):
        store.subscriptions.save(subscription(failing_since="2026-01-03T00:00:00Z"))
    assert store.subscriptions.get("wh_1") is None
    store.subscriptions.delete("wh_1")  # again: nothing to do


def test_all_subscriptions_by_id(store: Store) -> None:
    for webhook_id in ("wh_c", "wh_a", "wh_b"):
        store.subscriptions.add(subscription(webhook_id))
    assert [s.webhook_id for s in store.subscriptions.all()] == ["wh_a", "wh_b", "wh_c"]


# --- deliveries --------------------------------------------------------------------------------


def test_a_delivery_is_created_once(store: Store) -> None:
    assert store.deliveries.get("d-1") is None
    assert store.deliveries.create(delivery()) is True
    assert store.deliveries.get("d-1") == delivery()
    assert store.deliveries.create(replace(delivery(), body="{}")) is False
    assert store.deliveries.get("d-1") == delivery()


def test_an_attempt_is_recorded_over_the_attempts_read_only(store: Store) -> None:
    store.deliveries.create(delivery())
    first = replace(delivery(), attempts=(attempt(1),), next_attempt_at="2026-01-01T00:05:00Z")
    assert store.deliveries.record(first, 0) is True
    assert store.deliveries.get("d-1") == first
    # another worker recorded attempt 1 meanwhile: this one, read at 0 attempts, is refused
    assert store.deliveries.record(replace(first, attempts=(attempt(1, None, "timed out"),)), 0) is False
    assert store.deliveries.get("d-1") == first
    done = replace(first, status=DeliveryStatus.DELIVERED, attempts=(attempt(1), attempt(2, 200)), next_attempt_at=None)
    assert store.deliveries.record(done, 1) is True
    assert store.deliveries.get("d-1") == done


def test_an_attempt_of_a_missing_delivery_is_refused(store: Store) -> None:
    assert store.deliveries.record(replace(delivery("ghost"), attempts=(attempt(1),)), 0) is False
    assert store.deliveries.get("ghost") is None


def test_a_subscriptions_deliveries_newest_first(store: Store) -> None:
    for n in range(1, 6):
        store.deliveries.create(delivery(f"d-{n}", created_at=f"2026-01-0{n}T00:00:00Z"))
    store.deliveries.create(delivery("d-9", webhook_id="wh_2"))
    assert [d.delivery_id for d in store.deliveries.of_webhook("wh_1", 3)] == ["d-5", "d-4", "d-3"]
    assert [d.delivery_id for d in store.deliveries.of_webhook("wh_1", 10)] == ["d-5", "d-4", "d-3", "d-2", "d-1"]
    assert [d.delivery_id for d in store.deliveries.of_webhook("wh_2", 10)] == ["d-9"]
    assert store.deliveries.of_webhook("wh_3", 10) == []
