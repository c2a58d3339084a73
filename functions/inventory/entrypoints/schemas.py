"""Request and response bodies of the inventory API; the OpenAPI document is built from them."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field

from commerce.contract import OUT, STRICT, Money, MoneyIn, WholeInt, whole
from inventory.domain.model import MAX_ADJUSTMENT, ProductStatus

CATEGORY_PATTERN = r"^[a-z0-9][a-z0-9-]{0,39}$"


class PriceIn(MoneyIn):
    """A product's price: in the catalog's one currency (the document declares it; another is 422
    `currency_not_accepted`)."""


class ProductIn(BaseModel):
    model_config = STRICT
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    category: str = Field(pattern=CATEGORY_PATTERN)
    price: PriceIn
    images: list[str] = Field(default_factory=list, max_length=10)
    status: ProductStatus = Field(default=ProductStatus.ACTIVE, strict=False)
    lowStockThreshold: Annotated[int, Field(ge=0, le=1_000_000), BeforeValidator(whole)] | None = None


class AdjustmentIn(BaseModel):
    model_config = STRICT
    delta: WholeInt = Field(
        ge=-MAX_ADJUSTMENT,
        le=MAX_ADJUSTMENT,
        description="non-zero change to on hand",
        json_schema_extra={"not": {"const": 0}},
    )
    reason: str = Field(min_length=1, max_length=200)


class ProductOut(BaseModel):
    model_config = OUT
    sku: str
    name: str
    description: str
    category: str
    price: Money
    images: list[str]
    available: int
    status: ProductStatus
    updatedAt: str


class ProductPage(BaseModel):
    model_config = OUT
    items: list[ProductOut]
    nextCursor: str | None


class InventoryOut(BaseModel):
    model_config = OUT
    sku: str
    onHand: int
    reserved: int
    available: int
    lowStockThreshold: int


class Health(BaseModel):
    model_config = OUT
    status: str
