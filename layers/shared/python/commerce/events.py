"""Domain events: the envelope every service publishes and the EventBridge publisher."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

from commerce.clock import utcnow_str
from commerce.config import setting
from commerce.http import dumps
from commerce.ids import new_id


@dataclass(frozen=True, slots=True)
class DomainEvent:
    name: str
    data: dict[str, Any]
    id: str = field(default_factory=new_id)
    occurred_at: str = field(default_factory=utcnow_str)
    correlation_id: str | None = None

    def detail(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "occurredAt": self.occurred_at,
            "data": self.data,
            "metadata": {"correlationId": self.correlation_id or self.id},
        }


class EventPublisher(Protocol):
    def publish(self, source: str, events: list[DomainEvent]) -> None: ...


class EventPublishError(RuntimeError):
    pass


@cache
def _events_client() -> Any:
    import boto3

    return boto3.client("events")


class EventBridgePublisher:
    """Publishes to the stage's bus; `source` is `shopstack.<service>`."""

    def publish(self, source: str, events: list[DomainEvent]) -> None:
        if not events:
            return
        bus = setting("EVENT_BUS_NAME")
        for start in range(0, len(events), 10):
            batch = events[start : start + 10]
            result = _events_client().put_events(
                Entries=[
                    {"EventBusName": bus, "Source": source, "DetailType": e.name, "Detail": dumps(e.detail())}
                    for e in batch
                ]
            )
            if result.get("FailedEntryCount"):
                raise EventPublishError(f"{result['FailedEntryCount']} events were not accepted")
