"""Outbound webhooks through their ports (fakes): fan-out once per subscription, signed attempts,
retries on the schedule, the log, dead-lettering, redelivery, rotation and disabling."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from commerce.errors import Conflict, NotFound, ValidationFailed
from integrations import service
from integrations.domain import webhooks as wh
from tests.unit.integrations_fakes import FakeDeliveries, FakeQueue, ScriptedSender, integrations

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
EVENT: dict[str, Any] = {
    "detail-type": "OrderConfirmed",
    "detail": {"id": "ev-1", "occurredAt": "2026-12-01T11:59:00.000Z", "data": {"orderId": "o1"}, "metadata": {}},
}


def run_due(deps: service.Integrations, now: datetime) -> None:
    """Deliver every queued message that is due by `now`, as the delivery consumer would."""
    queue = deps.queue
    assert isinstance(queue, FakeQueue)
    due = [m for m in queue.scheduled if m[2] <= now]
    queue.scheduled = [m for m in queue.scheduled if m[2] > now]
    for delivery_id, number, _ in due:
        service.attempt(deps, delivery_id, number, now)


def test_an_event_is_delivered_once_per_subscription_signed_with_its_secret() -> None:
    sender = ScriptedSender()
    deps = integrations(sender)
    confirmed, secret = service.register(
        deps, url="https://hooks.example.com/in", events=["OrderConfirmed"], description="", now=NOW
    )
    service.register(deps, url="https://other.example.com/in", events=["OrderShipped"], description="", now=NOW)
    assert service.fan_out(deps, EVENT, NOW) == 1
    assert service.fan_out(deps, EVENT, NOW) == 1, "a redelivered event re-queues the delivery not yet attempted"
    run_due(deps, NOW)
    (url, body, headers) = sender.received[0]
    assert len(sender.received) == 1, "the duplicate message made no second attempt"
    assert url == "https://hooks.example.com/in"
    assert json.loads(body) == {
        "id": "ev-1",
        "type": "OrderConfirmed",
        "occurredAt": EVENT["detail"]["occurredAt"],
        "data": {"orderId": "o1"},
    }
    assert headers["X-Shopstack-Event-Id"] == "ev-1" and headers["X-Shopstack-Event-Type"] == "OrderConfirmed"
    assert wh.verify(secret, headers["X-Shopstack-Signature"], body, now=int(NOW.timestamp()))
    assert service.fan_out(deps, EVENT, NOW) == 0, "an attempted delivery is not queued again"
    (delivery,) = deps.deliveries.of_webhook(confirmed.webhook_id, 10)
    assert delivery.status is service.DeliveryStatus.DELIVERED and delivery.attempts[0].status_code == 200


def test_a_503_is_retried_on_the_schedule_and_both_attempts_are_logged() -> None:
    sender = ScriptedSender(503, 200)
    deps = integrations(sender)
    sub, _ = service.register(deps, url="https://hooks.example.com/in", events=["*"], description="", now=NOW)
    service.fan_out(deps, EVENT, NOW)
    run_due(deps, NOW)
    (delivery,) = deps.deliveries.of_webhook(sub.webhook_id, 10)
    assert delivery.status is service.DeliveryStatus.PENDING and delivery.next_attempt_at is not None
    run_due(deps, NOW + timedelta(seconds=wh.SCHEDULE_SECONDS[0] * 0.6))  # jitter takes off a quarter at most
    assert len(sender.received) == 1, "not before its time"
    run_due(deps, NOW + timedelta(seconds=wh.SCHEDULE_SECONDS[0]))
    (delivery,) = deps.deliveries.of_webhook(sub.webhook_id, 10)
    assert [a.status_code for a in delivery.attempts] == [503, 200]
    assert delivery.attempts[0].response == "busy" and delivery.status is service.DeliveryStatus.DELIVERED
    assert sender.received[0][2]["X-Shopstack-Delivery-Id"] == sender.received[1][2]["X-Shopstack-Delivery-Id"]


def test_a_receiver_that_never_answers_ends_in_the_dead_letter_queue_is_disabled_and_can_be_redelivered() -> None:
    sender = ScriptedSender(*[None] * (len(wh.SCHEDULE_SECONDS) + 1))
    deps = integrations(sender)
    sub, _ = service.register(deps, url="https://hooks.example.com/in", events=["*"], description="", now=NOW)
    service.fan_out(deps, EVENT, NOW)
    moment = NOW
    for _ in range(len(wh.SCHEDULE_SECONDS) + 1):
        run_due(deps, moment)
        moment += timedelta(hours=7)
    (delivery,) = deps.deliveries.of_webhook(sub.webhook_id, 10)
    assert delivery.status is service.DeliveryStatus.EXHAUSTED
    queue = deps.queue
    assert isinstance(queue, FakeQueue) and queue.dead == [delivery.delivery_id]
    disabled = deps.subscriptions.get(sub.webhook_id)
    assert disabled is not None and disabled.status is wh.SubscriptionStatus.DISABLED
    assert [e.name for _, e in deps.publisher.published] == ["WebhookDisabled"]  # type: ignore[attr-defined]
    attempts_made = len(sender.received)
    assert attempts_made < len(wh.SCHEDULE_SECONDS) + 1, "attempts stop once the subscription is disabled"
    assert service.fan_out(deps, EVENT | {"detail": EVENT["detail"] | {"id": "ev-2"}}, moment) == 0

    service.enable(deps, sub.webhook_id)
    sender.statuses = [200]
    again = service.redeliver(deps, sub.webhook_id, delivery.delivery_id, moment)
    assert again.status is service.DeliveryStatus.PENDING
    run_due(deps, moment)
    (delivery,) = deps.deliveries.of_webhook(sub.webhook_id, 10)
    assert delivery.status is service.DeliveryStatus.DELIVERED and delivery.attempts[-1].status_code == 200
    service.redeliver(deps, sub.webhook_id, delivery.delivery_id, moment)
    with pytest.raises(Conflict):
        service.redeliver(deps, sub.webhook_id, delivery.delivery_id, moment)  # still being attempted
    with pytest.raises(NotFound):
        service.redeliver(deps, sub.webhook_id, "nope", moment)


def test_the_same_attempt_recorded_twice_counts_once() -> None:
    deps = integrations(ScriptedSender(500, 500))
    service.register(deps, url="https://hooks.example.com/in", events=["*"], description="", now=NOW)
    service.fan_out(deps, EVENT, NOW)
    (delivery_id, number, _) = deps.queue.scheduled[0]  # type: ignore[attr-defined]
    assert service.attempt(deps, delivery_id, number, NOW) is not None
    assert service.attempt(deps, delivery_id, number, NOW) is None
    deliveries = deps.deliveries
    assert isinstance(deliveries, FakeDeliveries) and len(deliveries.items[delivery_id].attempts) == 1


def test_a_rotated_secret_and_the_old_one_both_sign_during_the_grace() -> None:
    sender = ScriptedSender()
    deps = integrations(sender)
    sub, old = service.register(deps, url="https://hooks.example.com/in", events=["*"], description="", now=NOW)
    _, new = service.rotate_secret(deps, sub.webhook_id, NOW)
    service.fan_out(deps, EVENT, NOW)
    run_due(deps, NOW)
    _, body, headers = sender.received[0]
    for secret in (old, new):
        assert wh.verify(secret, headers["X-Shopstack-Signature"], body, now=int(NOW.timestamp()))
    assert "secrets" not in service.subscription_json(deps.subscriptions.get(sub.webhook_id))  # type: ignore[arg-type]


def test_a_private_destination_is_refused_at_registration() -> None:
    deps = integrations()
    with pytest.raises(ValidationFailed):
        service.register(deps, url="https://intranet.example.com/", events=["*"], description="", now=NOW)
    assert deps.subscriptions.all() == []


def test_a_deleted_subscriptions_delivery_ends_without_retries_or_dead_letter() -> None:
    sender = ScriptedSender()
    deps = integrations(sender)
    sub, _ = service.register(deps, url="https://hooks.example.com/in", events=["*"], description="", now=NOW)
    service.fan_out(deps, EVENT, NOW)
    deps.subscriptions.delete(sub.webhook_id)
    run_due(deps, NOW)
    queue = deps.queue
    assert isinstance(queue, FakeQueue) and queue.scheduled == [] and queue.dead == []
    deliveries = deps.deliveries
    assert isinstance(deliveries, FakeDeliveries)
    (ended,) = deliveries.items.values()
    assert ended.status is service.DeliveryStatus.EXHAUSTED
    assert ended.attempts[0].error == "the subscription was deleted"
    assert sender.received == []
