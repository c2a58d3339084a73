"""Wires the analytics use cases to their adapter, once per process, on first use."""

from __future__ import annotations

from functools import cache

from analytics.service import Aggregates


@cache
def aggregates() -> Aggregates:
    from analytics.adapters.dynamodb import DynamoAggregates

    return DynamoAggregates()
