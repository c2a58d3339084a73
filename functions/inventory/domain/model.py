"""Catalog and stock rules. Pure: no I/O, no AWS."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import StrEnum

from commerce.errors import Conflict, NotFound, ValidationFailed
from commerce.money import Money

SKU_PATTERN = r"^[A-Z0-9][A-Z0-9-]{1,31}$"
_SKU = re.compile(SKU_PATTERN)
MAX_ADJUSTMENT = 1_000_000
DEFAULT_LOW_STOCK_THRESHOLD = 5


class ProductStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DRAFT = "DRAFT"
    ARCHIVED = "ARCHIVED"


def check_sku(sku: str) -> str:
    if not _SKU.fullmatch(sku):
        raise NotFound(f"No product {sku[:40]!r}.", code="product_not_found")
    return sku


@dataclass(frozen=True, slots=True)
class Stock:
    """On hand counts what is in the warehouse; reserved is held for unpaid or unshipped
    orders. Available never goes below zero: on hand never drops below reserved."""

    on_hand: int = 0
    reserved: int = 0
    low_stock_threshold: int = DEFAULT_LOW_STOCK_THRESHOLD

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def is_low(self) -> bool:
        return self.available <= self.low_stock_threshold

    def adjusted(self, delta: int) -> Stock:
        check_adjustment(delta)
        if self.on_hand + delta < self.reserved:
            raise below_reserved(self, delta)
        return replace(self, on_hand=self.on_hand + delta)


def check_adjustment(delta: int) -> None:
    if delta == 0 or abs(delta) > MAX_ADJUSTMENT:
        raise ValidationFailed(
            "delta must be a non-zero integer within one million.",
            errors=[{"field": "delta", "message": f"non-zero, |delta| <= {MAX_ADJUSTMENT}"}],
        )


def below_reserved(stock: Stock, delta: int) -> Conflict:
    return Conflict(
        f"Cannot apply {delta:+d}: {stock.on_hand} on hand and {stock.reserved} reserved for orders;"
        " on hand never drops below reserved.",
        code="below_reserved",
        extra={"onHand": stock.on_hand, "reserved": stock.reserved, "delta": delta},
    )


def crosses_low(before: Stock, after: Stock) -> bool:
    """True when this change takes available stock to the threshold or under it."""
    return after.is_low and not before.is_low


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    description: str
    category: str
    price: Money
    images: tuple[str, ...] = ()
    status: ProductStatus = ProductStatus.ACTIVE
    stock: Stock = field(default_factory=Stock)
    updated_at: str = ""

    @property
    def is_public(self) -> bool:
        return self.status is ProductStatus.ACTIVE

    def to_json(self) -> dict[str, object]:
        return {
            "sku": self.sku,
            "name": self.name,
            "description": self.description,
            "category": self.category,
            "price": self.price.to_json(),
            "images": list(self.images),
            "available": max(self.stock.available, 0),
            "status": self.status.value,
            "updatedAt": self.updated_at,
        }


def inventory_json(sku: str, stock: Stock) -> dict[str, object]:
    return {
        "sku": sku,
        "onHand": stock.on_hand,
        "reserved": stock.reserved,
        "available": stock.available,
        "lowStockThreshold": stock.low_stock_threshold,
    }
