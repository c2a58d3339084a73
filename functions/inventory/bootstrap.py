"""Wires the inventory use cases to their adapters, once per process, on first use."""

from __future__ import annotations

from functools import cache

from commerce.eventbridge import EventBridgePublisher
from commerce.events import EventPublisher
from inventory.service import Catalog


@cache
def catalog() -> Catalog:
    from inventory.adapters.dynamodb import DynamoCatalog

    return DynamoCatalog()


@cache
def publisher() -> EventPublisher:
    return EventBridgePublisher()
