"""Domain events: the envelope every service publishes and the publisher port. Pure: domain code
imports it; the EventBridge publisher is `commerce.eventbridge`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from commerce.clock import utcnow_str
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
