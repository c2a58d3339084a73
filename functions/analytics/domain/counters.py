"""Which daily counters an integration event moves. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Tally:
    event_id: str
    day: str
    name: str


class MalformedEvent(ValueError):
    pass


def tally_of(envelope: dict[str, Any]) -> Tally:
    """An EventBridge envelope (`detail-type`, `detail: {id, occurredAt, ...}`) -> its tally."""
    detail = envelope.get("detail")
    name = envelope.get("detail-type")
    if not isinstance(detail, dict) or not isinstance(name, str) or not name:
        raise MalformedEvent("not a shopstack event envelope")
    event_id, occurred = detail.get("id"), detail.get("occurredAt")
    if not isinstance(event_id, str) or not isinstance(occurred, str) or len(occurred) < 10:
        raise MalformedEvent("event without id or occurredAt")
    return Tally(event_id=event_id, day=occurred[:10], name=name)
