"""The EventBridge publisher of domain events (`commerce.events` holds the envelope, pure)."""

from __future__ import annotations

from functools import cache
from typing import Any

from commerce.config import setting
from commerce.events import DomainEvent, EventPublishError
from commerce.jsonutil import dumps


@cache
def _events_client() -> Any:
    import boto3

    return boto3.client("events")


class EventBridgePublisher:
    """Publishes to the stage's bus; `source` is `shopstack.<service>`."""

    def publish(self, source: str, events: list[DomainEvent]) -> None:
        if not events:
            return
        from commerce.observability import current_correlation_id

        bus = setting("EVENT_BUS_NAME")
        ambient = current_correlation_id()
        for start in range(0, len(events), 10):
            batch = events[start : start + 10]
            result = _events_client().put_events(
                Entries=[
                    {"EventBusName": bus, "Source": source, "DetailType": e.name, "Detail": dumps(e.detail(ambient))}
                    for e in batch
                ]
            )
            if result.get("FailedEntryCount"):
                raise EventPublishError(f"{result['FailedEntryCount']} events were not accepted")
