"""The outbound webhook ports in memory: for unit tests only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from urllib.parse import urlsplit

from pynamodb.exceptions import PutError

from integrations.domain import webhooks as wh
from integrations.service import Delivery, Integrations, Response
from tests.unit.fakes import RecordingPublisher


class FakeSubscriptions:
    def __init__(self) -> None:
        self.items: dict[str, wh.Subscription] = {}

    def add(self, subscription: wh.Subscription) -> None:
        """A new id only: the table's conditional put refuses an id taken (PutError)."""
        if subscription.webhook_id in self.items:
            raise PutError(f"webhook {subscription.webhook_id} exists")
        self.items[subscription.webhook_id] = subscription

    def get(self, webhook_id: str) -> wh.Subscription | None:
        return self.items.get(webhook_id)

    def all(self) -> list[wh.Subscription]:
        """By webhook id, as the one partition's sort key reads them."""
        return [self.items[k] for k in sorted(self.items)]

    def save(self, subscription: wh.Subscription) -> None:
        """An existing subscription only: a deleted one is never written back (PutError)."""
        if subscription.webhook_id not in self.items:
            raise PutError(f"no webhook {subscription.webhook_id}")
        self.items[subscription.webhook_id] = subscription

    def delete(self, webhook_id: str) -> None:
        self.items.pop(webhook_id, None)


class FakeDeliveries:
    def __init__(self) -> None:
        self.items: dict[str, Delivery] = {}

    def create(self, delivery: Delivery) -> bool:
        if delivery.delivery_id in self.items:
            return False
        self.items[delivery.delivery_id] = delivery
        return True

    def get(self, delivery_id: str) -> Delivery | None:
        return self.items.get(delivery_id)

    def record(self, delivery: Delivery, attempts_before: int) -> bool:
        """Only over the attempts read; a missing delivery is refused as well."""
        current = self.items.get(delivery.delivery_id)
        if current is None or len(current.attempts) != attempts_before:
            return False
        self.items[delivery.delivery_id] = delivery
        return True

    def of_webhook(self, webhook_id: str, limit: int) -> list[Delivery]:
        found = [d for d in self.items.values() if d.webhook_id == webhook_id]
        return sorted(found, key=lambda d: d.created_at, reverse=True)[:limit]


class FakeQueue:
    def __init__(self) -> None:
        self.scheduled: list[tuple[str, int, datetime]] = []
        self.dead: list[str] = []

    def schedule(self, delivery_id: str, attempt: int, due: datetime) -> None:
        self.scheduled.append((delivery_id, attempt, due))

    def dead_letter(self, delivery: Delivery) -> None:
        self.dead.append(delivery.delivery_id)


class ScriptedSender:
    """Answers each POST with the next scripted status (None: no answer), recording what it got."""

    def __init__(self, *statuses: int | None) -> None:
        self.statuses = list(statuses)
        self.received: list[tuple[str, bytes, dict[str, str]]] = []

    def post(self, url: str, address: str, body: bytes, headers: Mapping[str, str]) -> Response:
        assert address in resolve(urlsplit(url).hostname or ""), "connects to the address that was checked"
        self.received.append((url, body, dict(headers)))
        status = self.statuses.pop(0) if self.statuses else 200
        if status is None:
            return Response(None, 5000, b"", error="timed out")
        return Response(status, 12, b"ok" if status < 300 else b"busy")


def resolve(host: str) -> list[str]:
    return {"hooks.example.com": ["93.184.216.34"], "other.example.com": ["93.184.216.35"]}.get(host, ["10.0.0.9"])


def integrations(sender: ScriptedSender | None = None) -> Integrations:
    return Integrations(
        subscriptions=FakeSubscriptions(),
        deliveries=FakeDeliveries(),
        queue=FakeQueue(),
        sender=sender or ScriptedSender(),
        resolve=resolve,
        publisher=RecordingPublisher(),
    )


def with_sender(deps: Integrations, sender: ScriptedSender) -> Integrations:
    return replace(deps, sender=sender)
