"""Wires the order use cases to their adapters, once per process, on first use."""

from __future__ import annotations

from functools import cache

from orders.service import Orders


@cache
def orders() -> Orders:
    from orders.adapters.dynamodb import DynamoOrders

    return DynamoOrders()
