"""Inventory use cases behind small ports: the catalog store and the event publisher."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from commerce.errors import NotFound, ValidationFailed
from commerce.events import DomainEvent, EventPublisher
from commerce.ids import stable_id
from commerce.money import Money
from inventory.domain.model import (
    Product,
    ProductStatus,
    Stock,
    check_adjustment,
    check_sku,
    crosses_low,
    inventory_json,
)

SOURCE = "shopstack.inventory"


@dataclass(frozen=True, slots=True)
class ProductDetails:
    sku: str
    name: str
    description: str
    category: str
    price: Money
    images: tuple[str, ...]
    status: ProductStatus
    low_stock_threshold: int | None = None


@dataclass(frozen=True, slots=True)
class AdjustmentResult:
    after: Stock
    applied: bool


class Catalog(Protocol):
    def get(self, sku: str) -> Product | None: ...

    def list(
        self, *, category: str | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Product], dict[str, Any] | None]: ...

    def upsert(self, details: ProductDetails) -> Product: ...

    def stock(self, sku: str) -> Stock: ...

    def apply_adjustment(
        self, *, sku: str, delta: int, reason: str, actor: str, adjustment_id: str
    ) -> AdjustmentResult: ...


def public_product(catalog: Catalog, sku: str) -> Product:
    product = catalog.get(check_sku(sku))
    if product is None or not product.is_public:
        raise NotFound(f"No product {sku}.", code="product_not_found")
    return product


def put_product(
    catalog: Catalog, publisher: EventPublisher, details: ProductDetails, *, currency: str = "usd"
) -> Product:
    """Create or update a product priced in the catalog's one currency (the checkout's pricing
    currency); a price in any other currency is 422 `currency_not_accepted`."""
    if details.price.currency != currency:
        raise ValidationFailed(
            f"Prices in this shop are in {currency}.",
            code="currency_not_accepted",
            errors=[{"field": "price.currency", "message": f"must be {currency}"}],
        )
    product = catalog.upsert(details)
    publisher.publish(SOURCE, [DomainEvent("ProductUpdated", product.to_json())])
    return product


def inventory_of(catalog: Catalog, sku: str) -> dict[str, object]:
    return inventory_json(sku, catalog.stock(check_sku(sku)))


def adjust_stock(
    catalog: Catalog,
    publisher: EventPublisher,
    *,
    sku: str,
    delta: int,
    reason: str,
    actor: str,
    request_key: str,
) -> dict[str, object]:
    """Apply a stock adjustment once per (actor, request key), even when retried after a
    crash; its events carry ids derived from the adjustment, so a re-publish is a duplicate
    that consumers drop, never a second event."""
    check_sku(sku)
    check_adjustment(delta)
    adjustment_id = stable_id(actor, request_key)
    result = catalog.apply_adjustment(sku=sku, delta=delta, reason=reason, actor=actor, adjustment_id=adjustment_id)
    after = result.after
    state = inventory_json(sku, after)
    events = [
        DomainEvent(
            "InventoryAdjusted",
            {**state, "delta": delta, "reason": reason, "adjustmentId": adjustment_id},
            id=stable_id(adjustment_id, "InventoryAdjusted"),
        )
    ]
    before = Stock(after.on_hand - delta, after.reserved, after.low_stock_threshold)
    if crosses_low(before, after):
        events.append(DomainEvent("InventoryLow", state, id=stable_id(adjustment_id, "InventoryLow")))
    publisher.publish(SOURCE, events)
    return state
