"""Outbound webhook use cases behind small ports: staff manage subscriptions; every event is fanned
out to the subscriptions that want it, one delivery each; each delivery is attempted on its own
queue message, retried on the domain's schedule, logged attempt by attempt, and dead-lettered
when the schedule is spent, from where staff redeliver it.

- Fan-out is idempotent: a delivery's id derives from the event and the subscription, so a
  redelivered event creates nothing twice (it re-queues a delivery not yet attempted).
- An attempt is recorded under the attempt count it was made at, so a duplicate queue message
  never makes a second attempt of the same number.
- One receiver is one HTTP call with a short timeout on its own message: a slow or dead receiver
  delays no other delivery.
"""

from __future__ import annotations

import json
import secrets as token_source
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from commerce.clock import rfc3339
from commerce.errors import Conflict, NotFound, ProblemError
from commerce.events import DomainEvent, EventPublisher
from commerce.ids import new_id, stable_id
from integrations.domain import webhooks as wh

SOURCE = "shopstack.integrations"
SECRET_PREFIX = "whsec_"


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    EXHAUSTED = "EXHAUSTED"


@dataclass(frozen=True, slots=True)
class Attempt:
    number: int
    at: str
    status_code: int | None
    latency_ms: int
    response: str
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "attempt": self.number,
            "at": self.at,
            "statusCode": self.status_code,
            "latencyMs": self.latency_ms,
            "response": self.response,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class Delivery:
    delivery_id: str
    webhook_id: str
    event_id: str
    event_type: str
    body: str
    created_at: str
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: tuple[Attempt, ...] = ()
    next_attempt_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "deliveryId": self.delivery_id,
            "webhookId": self.webhook_id,
            "eventId": self.event_id,
            "eventType": self.event_type,
            "status": self.status.value,
            "createdAt": self.created_at,
            "nextAttemptAt": self.next_attempt_at,
            "attempts": [a.to_json() for a in self.attempts],
        }


@dataclass(frozen=True, slots=True)
class Response:
    status_code: int | None
    latency_ms: int
    body: bytes
    error: str | None = None


class Subscriptions(Protocol):
    def add(self, subscription: wh.Subscription) -> None: ...
    def get(self, webhook_id: str) -> wh.Subscription | None: ...
    def all(self) -> list[wh.Subscription]: ...
    def save(self, subscription: wh.Subscription) -> None: ...
    def delete(self, webhook_id: str) -> None: ...


class Deliveries(Protocol):
    def create(self, delivery: Delivery) -> bool:
        """Store a new delivery; False when one with its id exists."""
        ...

    def get(self, delivery_id: str) -> Delivery | None: ...
    def record(self, delivery: Delivery, attempts_before: int) -> bool:
        """Save the delivery if it still has `attempts_before` attempts; False otherwise."""
        ...

    def of_webhook(self, webhook_id: str, limit: int) -> list[Delivery]: ...


class Queue(Protocol):
    def schedule(self, delivery_id: str, attempt: int, due: datetime) -> None:
        """Queue attempt `attempt` of a delivery for `due` (delayed up to SQS's 15 minutes; a
        message received early is delayed again)."""
        ...

    def dead_letter(self, delivery: Delivery) -> None: ...


class Sender(Protocol):
    def post(self, url: str, address: str, body: bytes, headers: Mapping[str, str]) -> Response:
        """POST to `url` connecting to `address` (checked by the destination rules)."""
        ...


class Resolver(Protocol):
    def __call__(self, host: str) -> list[str]: ...


@dataclass(frozen=True)
class Integrations:
    subscriptions: Subscriptions
    deliveries: Deliveries
    queue: Queue
    sender: Sender
    resolve: Resolver
    publisher: EventPublisher
    allow_loopback_http: bool = False


# Staff ----------------------------------------------------------------------------------------


def register(
    deps: Integrations, *, url: str, events: list[str], description: str, now: datetime
) -> tuple[wh.Subscription, str]:
    """A new subscription and its secret (returned this once)."""
    wh.check_destination(url, resolve=deps.resolve, allow_loopback_http=deps.allow_loopback_http)
    secret = _new_secret()
    subscription = wh.Subscription(
        webhook_id=new_id(),
        url=url,
        events=tuple(sorted(set(events))),
        secrets=(wh.Secret(secret),),
        created_at=rfc3339(now),
        description=description,
    )
    deps.subscriptions.add(subscription)
    return subscription, secret


def subscription(deps: Integrations, webhook_id: str) -> wh.Subscription:
    found = deps.subscriptions.get(webhook_id)
    if found is None:
        raise NotFound("No such webhook.", code="webhook_not_found")
    return found


def rotate_secret(deps: Integrations, webhook_id: str, now: datetime) -> tuple[wh.Subscription, str]:
    secret = _new_secret()
    rotated = subscription(deps, webhook_id).rotated(secret, now)
    deps.subscriptions.save(rotated)
    return rotated, secret


def enable(deps: Integrations, webhook_id: str) -> wh.Subscription:
    enabled = replace(subscription(deps, webhook_id), status=wh.SubscriptionStatus.ACTIVE, failing_since=None)
    deps.subscriptions.save(enabled)
    return enabled


def redeliver(deps: Integrations, webhook_id: str, delivery_id: str, now: datetime) -> Delivery:
    """Send an exhausted (or delivered) delivery again: one more attempt now, then the schedule."""
    delivery = deps.deliveries.get(delivery_id)
    if delivery is None or delivery.webhook_id != webhook_id:
        raise NotFound("No such delivery.", code="delivery_not_found")
    if delivery.status is DeliveryStatus.PENDING:
        raise Conflict("This delivery is still being attempted.", code="invalid_state")
    again = replace(delivery, status=DeliveryStatus.PENDING, next_attempt_at=rfc3339(now))
    if not deps.deliveries.record(again, len(delivery.attempts)):
        raise Conflict("The delivery changed meanwhile; please retry.", code="conflict")
    deps.queue.schedule(delivery_id, len(delivery.attempts) + 1, now)
    return again


# Fan-out and delivery -------------------------------------------------------------------------


def fan_out(deps: Integrations, envelope: Mapping[str, Any], now: datetime) -> int:
    """Queue one delivery of the event per subscription that wants it; how many were queued."""
    body = wh.payload(envelope)
    if not body["id"] or not body["type"]:
        raise ValueError("not a shopstack event envelope")
    queued = 0
    for sub in deps.subscriptions.all():
        if not sub.wants(str(body["type"])):
            continue
        delivery = Delivery(
            delivery_id=stable_id("delivery", str(body["id"]), sub.webhook_id),
            webhook_id=sub.webhook_id,
            event_id=str(body["id"]),
            event_type=str(body["type"]),
            body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
            created_at=rfc3339(now),
            next_attempt_at=rfc3339(now),
        )
        if not deps.deliveries.create(delivery):
            existing = deps.deliveries.get(delivery.delivery_id)
            if existing is None or existing.attempts or existing.status is not DeliveryStatus.PENDING:
                continue  # already attempted: its own messages carry it on
        deps.queue.schedule(delivery.delivery_id, 1, now)
        queued += 1
    return queued


def attempt(deps: Integrations, delivery_id: str, number: int, now: datetime) -> Delivery | None:
    """Make attempt `number` of a delivery (a duplicate or stale message does nothing)."""
    delivery = deps.deliveries.get(delivery_id)
    if delivery is None or delivery.status is not DeliveryStatus.PENDING or len(delivery.attempts) != number - 1:
        return None
    sub = deps.subscriptions.get(delivery.webhook_id)
    if sub is None:  # deleted: nobody is left to deliver to, so nothing is retried or dead-lettered
        ended = replace(
            delivery,
            status=DeliveryStatus.EXHAUSTED,
            attempts=(*delivery.attempts, Attempt(number, rfc3339(now), None, 0, "", "the subscription was deleted")),
            next_attempt_at=None,
        )
        return ended if deps.deliveries.record(ended, number - 1) else None
    if sub.status is not wh.SubscriptionStatus.ACTIVE:  # retried: staff may enable it again
        return _finish(deps, delivery, number, now, None, "the subscription is disabled")
    body = delivery.body.encode()
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "shopstack-webhooks/1",
        "X-Shopstack-Event-Id": delivery.event_id,
        "X-Shopstack-Event-Type": delivery.event_type,
        "X-Shopstack-Delivery-Id": delivery.delivery_id,
        "X-Shopstack-Signature": wh.signature(sub.signing_secrets(rfc3339(now)), timestamp, body),
    }
    try:
        addresses = wh.check_destination(sub.url, resolve=deps.resolve, allow_loopback_http=deps.allow_loopback_http)
    except (ProblemError, OSError) as refused:
        response = Response(None, 0, b"", error=str(getattr(refused, "detail", refused)))
    else:
        response = deps.sender.post(sub.url, addresses[0], body, headers)
    ok = wh.succeeded(response.status_code)
    updated_sub = sub.after_attempt(ok, now)
    if updated_sub != sub:
        deps.subscriptions.save(updated_sub)
        if updated_sub.status is wh.SubscriptionStatus.DISABLED:
            deps.publisher.publish(SOURCE, [_disabled_event(updated_sub, now)])
    log = Attempt(
        number, rfc3339(now), response.status_code, response.latency_ms, wh.excerpt(response.body), response.error
    )
    return _finish(deps, delivery, number, now, log, None if ok else "failed")


def _finish(
    deps: Integrations, delivery: Delivery, number: int, now: datetime, log: Attempt | None, failure: str | None
) -> Delivery | None:
    """Record attempt `number` and queue what follows: the next attempt, or the dead-letter queue."""
    if log is None:
        log = Attempt(number, rfc3339(now), None, 0, "", failure)
    attempts = (*delivery.attempts, log)
    if failure is None:
        done = replace(delivery, status=DeliveryStatus.DELIVERED, attempts=attempts, next_attempt_at=None)
    else:
        wait = wh.retry_delay(number)
        if wait is None:
            done = replace(delivery, status=DeliveryStatus.EXHAUSTED, attempts=attempts, next_attempt_at=None)
        else:
            due = now + timedelta(seconds=wait)
            done = replace(delivery, attempts=attempts, next_attempt_at=rfc3339(due))
    if not deps.deliveries.record(done, number - 1):
        return None  # another attempt of this number was recorded first
    if done.status is DeliveryStatus.EXHAUSTED:
        deps.queue.dead_letter(done)
    elif done.status is DeliveryStatus.PENDING and done.next_attempt_at:
        deps.queue.schedule(done.delivery_id, number + 1, datetime.fromisoformat(done.next_attempt_at[:-1] + "+00:00"))
    return done


def _disabled_event(sub: wh.Subscription, now: datetime) -> DomainEvent:
    data = {"webhookId": sub.webhook_id, "url": sub.url, "failingSince": sub.failing_since, "disabledAt": rfc3339(now)}
    return DomainEvent(
        "WebhookDisabled",
        data,
        id=stable_id(sub.webhook_id, "WebhookDisabled", str(sub.failing_since)),
        correlation_id=sub.webhook_id,
    )


def _new_secret() -> str:
    return SECRET_PREFIX + token_source.token_urlsafe(32)


def subscription_json(sub: wh.Subscription) -> dict[str, Any]:
    """A subscription as staff see it: never its secrets."""
    return {
        "webhookId": sub.webhook_id,
        "url": sub.url,
        "events": list(sub.events),
        "description": sub.description,
        "status": sub.status.value,
        "failingSince": sub.failing_since,
        "createdAt": sub.created_at,
    }
