"""In-memory adapters behind the service ports: for unit tests only."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from commerce.errors import NotFound
from commerce.events import DomainEvent
from inventory.domain.model import Product, Stock, below_reserved
from inventory.service import AdjustmentResult, ProductDetails


class FakeErasureLog:
    """commerce.erasures' log in memory: the first record of an erasure is kept."""

    def __init__(self) -> None:
        self.erased: dict[str, str] = {}

    def erased_at(self, customer_id: str) -> str | None:
        return self.erased.get(customer_id)

    def record(self, customer_id: str, at: str) -> str:
        return self.erased.setdefault(customer_id, at)


class FakeCatalog:
    def __init__(self) -> None:
        self.products: dict[str, Product] = {}
        self.ledger: set[str] = set()

    def get(self, sku: str) -> Product | None:
        return self.products.get(sku)

    def list(
        self, *, category: str | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Product], dict[str, Any] | None]:
        """By SKU; a cursor is checked as the adapter checks it (`commerce.dynamo.key_from_cursor`:
        the keys of the table or of the category index, the category read): else 422."""
        from commerce.dynamo import key_from_cursor

        if category is None:
            key_from_cursor(start, ("sku",))
        else:
            key_from_cursor(start, ("sku", "category"), {"category": category})
        rows = sorted(
            (p for p in self.products.values() if p.is_public and category in (None, p.category)),
            key=lambda p: p.sku,
        )
        after = (start or {}).get("sku", "")
        rows = [p for p in rows if p.sku > after]
        page = rows[:limit]
        if len(rows) <= limit:
            return page, None
        return page, {"sku": page[-1].sku} | ({"category": category} if category is not None else {})

    def upsert(self, details: ProductDetails) -> Product:
        old = self.products.get(details.sku)
        stock = old.stock if old else Stock()
        if details.low_stock_threshold is not None:
            stock = replace(stock, low_stock_threshold=details.low_stock_threshold)
        product = Product(
            details.sku,
            details.name,
            details.description,
            details.category,
            details.price,
            details.images,
            details.status,
            stock,
            "2026-01-01T00:00:00.000Z",
        )
        self.products[details.sku] = product
        return product

    def stock(self, sku: str) -> Stock:
        if sku not in self.products:
            raise NotFound(sku)
        return self.products[sku].stock

    def apply_adjustment(
        self, *, sku: str, delta: int, reason: str, actor: str, adjustment_id: str
    ) -> AdjustmentResult:
        stock = self.stock(sku)
        if adjustment_id in self.ledger:
            return AdjustmentResult(after=stock, applied=False)
        if stock.available + delta < 0:
            raise below_reserved(stock, delta)
        self.ledger.add(adjustment_id)
        after = replace(stock, on_hand=stock.on_hand + delta)
        self.products[sku] = replace(self.products[sku], stock=after)
        return AdjustmentResult(after=after, applied=True)


class RecordingPublisher:
    def __init__(self) -> None:
        self.published: list[tuple[str, DomainEvent]] = []

    def publish(self, source: str, events: list[DomainEvent]) -> None:
        self.published.extend((source, e) for e in events)

    def names(self) -> list[str]:
        return [e.name for _, e in self.published]
