"""The analytics port in memory: for unit tests only."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from analytics.domain import aggregates as agg
from commerce.clock import rfc3339


class FakeAggregates:
    """What the DynamoDB adapter does with Effects: each event id once, ADDs, and the two records."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.seen: set[str] = set()
        self.customers: dict[str, agg.Order] = {}
        self.carts: dict[str, agg.Cart] = {}

    def _add(self, adds: tuple[agg.Add, ...]) -> None:
        for add in adds:
            for name, n in add.counts.items():
                self.items[(add.pk, add.sk)][name] += n

    def apply(self, effects: agg.Effects) -> bool:
        if effects.event_id in self.seen:
            return False
        self.seen.add(effects.event_id)
        self._add(effects.adds)
        if effects.order is not None:
            kept, moves = agg.first_order(self.customers.get(effects.order.customer), effects.order)
            self.customers[effects.order.customer] = kept
            self._add(moves)
        if effects.cart is not None:
            merged, moves = agg.merge_cart(self.carts.get(effects.cart.cart_id), effects.cart)
            self.carts[effects.cart.cart_id] = merged
            self._add(moves)
        return True

    def sweep(self, now: datetime, idle_minutes: int) -> int:
        counted = 0
        for cart_id, cart in list(self.carts.items()):
            found = agg.abandonment(cart, rfc3339(now), idle_minutes)
            if found is not None:
                self.carts[cart_id], moves = found
                self._add(moves)
                counted += 1
        return counted

    def rows(self, prefix: str, start: date, end: date) -> list[tuple[str, dict[str, int]]]:
        return sorted(
            (sk, {k: v for k, v in counts.items() if v})
            for (pk, sk), counts in self.items.items()
            if pk.startswith(f"{prefix}#") and start.isoformat() <= sk[:10] <= end.isoformat()
        )

    def abandoned_carts(
        self, start: date, end: date, limit: int, after: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        keyed = sorted(
            (f"{c.abandoned_day}#{c.cart_id}", c)
            for c in self.carts.values()
            if c.abandoned_day and start.isoformat() <= c.abandoned_day <= end.isoformat()
        )
        keyed = [(k, c) for k, c in keyed if after is None or k > after]
        page = [
            {"cartId": c.cart_id, "date": c.abandoned_day, "lastActivityAt": c.at, "email": c.email}
            for _, c in keyed[:limit]
        ]
        return page, keyed[limit - 1][0] if len(keyed) > limit else None

    def counts(self, pk: str, sk: str) -> dict[str, int]:
        return {k: v for k, v in self.items.get((pk, sk), {}).items() if v}
