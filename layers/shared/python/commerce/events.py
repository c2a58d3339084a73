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
    """One integration event. `correlation_id`: the id of the request the event follows from
    (an order's events carry the checkout's); None lets the publisher use the one being served."""

    name: str
    data: dict[str, Any]
    id: str = field(default_factory=new_id)
    occurred_at: str = field(default_factory=utcnow_str)
    correlation_id: str | None = None

    def detail(self, ambient: str | None = None) -> dict[str, Any]:
        """The event's `detail`; its correlation id is its own, else that of the request or record
        being served when it was published (`ambient`), else the event's id."""
        return {
            "id": self.id,
            "occurredAt": self.occurred_at,
            "data": self.data,
            "metadata": {"correlationId": self.correlation_id or ambient or self.id},
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
