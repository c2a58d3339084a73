"""Webhook subscriptions and deliveries in the Webhooks table, through PynamoDB.

Item layout:
- `WEBHOOKS` / `<webhook id>`: a subscription (one partition: a shop has a handful)
- `DELIVERY#<delivery id>` / `DELIVERY`: a delivery, its body and its attempts; index
  `byWebhook` (`webhookId`, `createdAt`) lists a subscription's deliveries; a delivery expires
  (`expiresAt`) DELIVERY_DAYS after it was created"""

from __future__ import annotations

import json
import time
from typing import Any

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from commerce.dynamo import bind, plain, retrying
from integrations.domain import webhooks as wh
from integrations.service import Attempt, Delivery, DeliveryStatus

SUBSCRIPTIONS = "WEBHOOKS"
DELIVERY_DAYS = 30


class SubscriptionRecord(Model):
    class Meta:
        table_name: str | None = None
        region: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    url = UnicodeAttribute()
    events = ListAttribute[str]()
    secrets = ListAttribute[Any](of=MapAttribute)
    description = UnicodeAttribute(default="")
    status = UnicodeAttribute()
    failing_since = UnicodeAttribute(attr_name="failingSince", null=True)
    created_at = UnicodeAttribute(attr_name="createdAt")


class ByWebhook(GlobalSecondaryIndex["DeliveryRecord"]):
    class Meta:
        index_name = "byWebhook"
        projection = AllProjection()

    webhook_id = UnicodeAttribute(hash_key=True, attr_name="webhookId")
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class DeliveryRecord(Model):
    class Meta:
        table_name: str | None = None
        region: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    webhook_id = UnicodeAttribute(attr_name="webhookId")
    event_id = UnicodeAttribute(attr_name="eventId")
    event_type = UnicodeAttribute(attr_name="eventType")
    body = UnicodeAttribute()
    created_at = UnicodeAttribute(attr_name="createdAt")
    status = UnicodeAttribute()
    attempts = ListAttribute[Any](of=MapAttribute, default=list)
    attempt_count = NumberAttribute(attr_name="attemptCount", default=0)
    next_attempt_at = UnicodeAttribute(attr_name="nextAttemptAt", null=True)
    expires_at = NumberAttribute(attr_name="expiresAt")
    by_webhook = ByWebhook()


def _subscription(record: SubscriptionRecord) -> wh.Subscription:
    secrets = tuple(wh.Secret(str(s["value"]), s.get("expiresAt")) for s in plain(record.secrets))
    return wh.Subscription(
        webhook_id=record.sk,
        url=record.url,
        events=tuple(record.events),
        secrets=secrets,
        created_at=record.created_at,
        description=record.description,
        status=wh.SubscriptionStatus(record.status),
        failing_since=record.failing_since,
    )


def _subscription_record(sub: wh.Subscription) -> SubscriptionRecord:
    return SubscriptionRecord(
        SUBSCRIPTIONS,
        sub.webhook_id,
        url=sub.url,
        events=list(sub.events),
        secrets=[{"value": s.value, **({"expiresAt": s.expires_at} if s.expires_at else {})} for s in sub.secrets],
        description=sub.description,
        status=sub.status.value,
        failing_since=sub.failing_since,
        created_at=sub.created_at,
    )


def _delivery(record: DeliveryRecord) -> Delivery:
    attempts = tuple(
        Attempt(
            number=int(a["attempt"]),
            at=str(a["at"]),
            status_code=int(a["statusCode"]) if a.get("statusCode") is not None else None,
            latency_ms=int(a["latencyMs"]),
            response=str(a.get("response") or ""),
            error=a.get("error"),
        )
        for a in plain(record.attempts)
    )
    return Delivery(
        delivery_id=record.pk.removeprefix("DELIVERY#"),
        webhook_id=record.webhook_id,
        event_id=record.event_id,
        event_type=record.event_type,
        body=record.body,
        created_at=record.created_at,
        status=DeliveryStatus(record.status),
        attempts=attempts,
        next_attempt_at=record.next_attempt_at,
    )


def _delivery_record(delivery: Delivery) -> DeliveryRecord:
    return DeliveryRecord(
        f"DELIVERY#{delivery.delivery_id}",
        "DELIVERY",
        webhook_id=delivery.webhook_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        body=delivery.body,
        created_at=delivery.created_at,
        status=delivery.status.value,
        attempts=[json.loads(json.dumps(a.to_json())) for a in delivery.attempts],
        attempt_count=len(delivery.attempts),
        next_attempt_at=delivery.next_attempt_at,
        expires_at=int(time.time()) + DELIVERY_DAYS * 86400,
    )


class DynamoSubscriptions:
    def __init__(self) -> None:
        bind("WEBHOOKS_TABLE", SubscriptionRecord)

    def add(self, subscription: wh.Subscription) -> None:
        record = _subscription_record(subscription)
        retrying(lambda: record.save(condition=SubscriptionRecord.pk.does_not_exist()), what="webhook write")

    def get(self, webhook_id: str) -> wh.Subscription | None:
        try:
            return _subscription(SubscriptionRecord.get(SUBSCRIPTIONS, webhook_id, consistent_read=True))
        except SubscriptionRecord.DoesNotExist:
            return None

    def all(self) -> list[wh.Subscription]:
        return [_subscription(r) for r in SubscriptionRecord.query(SUBSCRIPTIONS, consistent_read=True)]

    def save(self, subscription: wh.Subscription) -> None:
        record = _subscription_record(subscription)
        retrying(lambda: record.save(condition=SubscriptionRecord.pk.exists()), what="webhook write")

    def delete(self, webhook_id: str) -> None:
        retrying(lambda: SubscriptionRecord(SUBSCRIPTIONS, webhook_id).delete(), what="webhook write")


class DynamoDeliveries:
    def __init__(self) -> None:
        bind("WEBHOOKS_TABLE", DeliveryRecord)

    def create(self, delivery: Delivery) -> bool:
        record = _delivery_record(delivery)
        try:
            retrying(lambda: record.save(condition=DeliveryRecord.pk.does_not_exist()), what="delivery write")
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get(self, delivery_id: str) -> Delivery | None:
        try:
            return _delivery(DeliveryRecord.get(f"DELIVERY#{delivery_id}", "DELIVERY", consistent_read=True))
        except DeliveryRecord.DoesNotExist:
            return None

    def record(self, delivery: Delivery, attempts_before: int) -> bool:
        record = _delivery_record(delivery)
        condition = DeliveryRecord.attempt_count == attempts_before
        try:
            retrying(lambda: record.save(condition=condition), what="delivery write")
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def of_webhook(self, webhook_id: str, limit: int) -> list[Delivery]:
        records = DeliveryRecord.by_webhook.query(webhook_id, scan_index_forward=False, limit=limit)
        return [_delivery(r) for r in records]
