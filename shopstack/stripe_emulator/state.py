"""The emulator's objects in memory, as Stripe renders them, and the events recorded on them.

Every object is kept as the JSON Stripe would answer, unexpanded; callers hold `Emulator.lock`.
"""

from __future__ import annotations

import copy
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shopstack.stripe_emulator.cards import TestCard
from shopstack.stripe_emulator.errors import validation
from shopstack.stripe_emulator.forms import as_int

DEFAULT_API_VERSION = "2026-10-28.endive"
_ALPHABET = string.ascii_letters + string.digits

Obj = dict[str, Any]
EventSink = Callable[[Obj], None]


def new_id(prefix: str, length: int = 24) -> str:
    return f"{prefix}_{''.join(secrets.choice(_ALPHABET) for _ in range(length))}"


class Clock:
    """Wall-clock seconds, shiftable by tests (`POST /_emulator/clock`)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def timestamp(self) -> int:
        return int(self.now())


@dataclass
class RequestContext:
    request_id: str
    idempotency_key: str | None = None
    api_version: str = DEFAULT_API_VERSION
    base_url: str = ""


@dataclass
class State:
    clock: Clock = field(default_factory=Clock)
    payment_intents: dict[str, Obj] = field(default_factory=dict)
    charges: dict[str, Obj] = field(default_factory=dict)
    refunds: dict[str, Obj] = field(default_factory=dict)
    payment_methods: dict[str, Obj] = field(default_factory=dict)
    events: dict[str, Obj] = field(default_factory=dict)
    webhook_endpoints: dict[str, Obj] = field(default_factory=dict)
    cards: dict[str, TestCard] = field(default_factory=dict)
    sinks: list[EventSink] = field(default_factory=list)
    request: RequestContext | None = None

    def now(self) -> int:
        return self.clock.timestamp()

    def emit(self, event_type: str, obj: Obj, previous_attributes: Obj | None = None) -> Obj:
        """Record an event with a snapshot of the object and hand it to the sinks (webhooks)."""
        data: Obj = {"object": copy.deepcopy(obj)}
        if previous_attributes:
            data["previous_attributes"] = copy.deepcopy(previous_attributes)
        request = self.request
        event: Obj = {
            "id": new_id("evt"),
            "object": "event",
            "api_version": DEFAULT_API_VERSION,
            "created": self.now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 0,
            "request": {
                "id": request.request_id if request else None,
                "idempotency_key": request.idempotency_key if request else None,
            },
            "type": event_type,
        }
        self.events[event["id"]] = event
        for sink in self.sinks:
            sink(event)
        return event

    def lookup(self, object_id: str) -> Obj | None:
        """Any stored object by its id, for expansion."""
        for store in (self.payment_intents, self.charges, self.refunds, self.payment_methods, self.events):
            if object_id in store:
                return store[object_id]
        return None

    def refunds_of(self, charge_id: str) -> Obj:
        data = [r for r in reversed(self.refunds.values()) if r["charge"] == charge_id]
        return {"object": "list", "data": data, "has_more": False, "url": f"/v1/refunds?charge={charge_id}"}


# --- rendering -----------------------------------------------------------------------------------

EXPANDABLE = {"latest_charge", "payment_method", "payment_intent", "charge", "refunds", "data"}


def check_expandable(paths: list[str]) -> None:
    """Refuse unknown expansions before anything runs, as Stripe validates `expand[]` first."""
    for path in paths:
        parts = path.split(".")
        if len(parts) > 4:
            raise validation("You cannot expand more than 4 levels of a property.", param="expand")
        if any(part not in EXPANDABLE for part in parts):
            raise validation(f"This property cannot be expanded ({path}).", param="expand")


def expand(obj: Obj, paths: list[str], state: State) -> Obj:
    """A copy of `obj` with the given dotted paths expanded, as Stripe's `expand[]`."""
    result = copy.deepcopy(obj)
    for path in paths:
        parts = path.split(".")
        if len(parts) > 4:
            raise validation("You cannot expand more than 4 levels of a property.", param="expand")
        result = _expand(result, parts, state, path)
    return result


def _expand(node: Any, parts: list[str], state: State, path: str) -> Any:
    if not parts or not isinstance(node, dict):
        return node
    head, rest = parts[0], parts[1:]
    if head not in EXPANDABLE:
        raise validation(f"This property cannot be expanded ({path}).", param="expand")
    if head == "refunds" and node.get("object") == "charge":
        node["refunds"] = _expand(copy.deepcopy(state.refunds_of(node["id"])), rest, state, path)
        return node
    if head not in node:
        raise validation(f"This property cannot be expanded ({path}).", param="expand")
    target = node[head]
    if head == "data" and isinstance(target, list):
        node[head] = [_expand(item, rest, state, path) for item in target]
        return node
    if isinstance(target, str):
        found = state.lookup(target)
        target = copy.deepcopy(found) if found is not None else target
    node[head] = _expand(target, rest, state, path)
    return node


def page(items: list[Obj], params: dict[str, Any], url: str) -> Obj:
    """A list object over `items` (newest first): limit, starting_after, ending_before."""
    limit = as_int(params.get("limit", 10), "limit", minimum=1)
    if limit > 100:
        raise validation("This value must be less than or equal to 100.", param="limit")
    ids = [item["id"] for item in items]
    start = 0
    end = len(items)
    if "starting_after" in params:
        cursor = params["starting_after"]
        if cursor not in ids:
            raise validation(f"No such object: '{cursor}'", param="starting_after", code="resource_missing")
        start = ids.index(cursor) + 1
        chosen = items[start : start + limit]
        has_more = start + limit < end
    elif "ending_before" in params:
        cursor = params["ending_before"]
        if cursor not in ids:
            raise validation(f"No such object: '{cursor}'", param="ending_before", code="resource_missing")
        end = ids.index(cursor)
        chosen = items[max(0, end - limit) : end]
        has_more = end - limit > 0
    else:
        chosen = items[:limit]
        has_more = len(items) > limit
    return {"object": "list", "data": chosen, "has_more": has_more, "url": url}
