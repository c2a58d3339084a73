"""Request and response bodies of the customers API; the OpenAPI document is built from them.
Names are prefixed so they never clash with another service's schemas in the merged document."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from commerce.contract import NOT_BLANK, OUT, STRICT, Address, AddressIn, Money


class CustomerAddressIn(AddressIn):
    """An address of the customer's address book: a shipping address with a label, and none of its
    required lines blank."""

    label: str | None = Field(default=None, min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=120, pattern=NOT_BLANK)
    line1: str = Field(min_length=1, max_length=200, pattern=NOT_BLANK)
    city: str = Field(min_length=1, max_length=100, pattern=NOT_BLANK)
    postalCode: str = Field(min_length=1, max_length=20, pattern=NOT_BLANK)


class ProfileIn(BaseModel):
    """`PUT /me` replaces the whole profile; a field left out is cleared."""

    model_config = STRICT
    name: str | None = Field(default=None, min_length=1, max_length=120, pattern=NOT_BLANK)
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9][0-9 ()./-]{3,24}$")
    addresses: list[CustomerAddressIn] = Field(default_factory=list, max_length=10)
    marketingOptIn: bool = False


class InteractionIn(BaseModel):
    model_config = STRICT
    channel: Literal["email", "phone", "chat", "note"]
    summary: str = Field(min_length=1, max_length=2000, pattern=NOT_BLANK)


class CustomerAddressOut(Address):
    label: str | None = None


class ProfileOut(BaseModel):
    model_config = OUT
    customerId: str
    email: str | None
    name: str | None
    phone: str | None
    addresses: list[CustomerAddressOut]
    marketingOptIn: bool
    createdAt: str
    updatedAt: str


class InteractionOut(BaseModel):
    model_config = OUT
    interactionId: str
    customerId: str
    channel: str
    summary: str
    createdAt: str
    by: dict[str, str | None]


class CustomerExportOut(BaseModel):
    model_config = OUT
    customerId: str
    exportedAt: str
    profile: ProfileOut | None
    interactions: list[InteractionOut]
    orders: list[dict[str, Any]]
    carts: list[dict[str, Any]]


class CustomerSummaryOut(BaseModel):
    model_config = OUT
    customerId: str
    email: str | None
    name: str | None
    createdAt: str


class CustomerSearchOut(BaseModel):
    model_config = OUT
    items: list[CustomerSummaryOut]


class CustomerStatsOut(BaseModel):
    model_config = OUT
    orders: int
    lifetimeValue: Money
    refunded: Money


class CustomerReturnLineOut(BaseModel):
    model_config = OUT
    sku: str
    quantity: int
    reason: str


class CustomerTimelineEntryOut(BaseModel):
    """One thing that happened with the customer; `type` says which members it has: `order`
    (orderId, status, total), `order_status` (orderId, status, note), `return` (orderId, returnId,
    status, lines), `refund` (orderId, returnId, amount), `email` (orderId, email: which one),
    `interaction` (the interaction's members), `registered` and `erased` (none)."""

    model_config = OUT
    type: Literal["registered", "order", "order_status", "return", "refund", "email", "interaction", "erased"]
    at: str
    orderId: str | None = None
    status: str | None = None
    total: Money | None = None
    note: str | None = None
    returnId: str | None = None
    lines: list[CustomerReturnLineOut] | None = None
    amount: Money | None = None
    email: str | None = None
    interactionId: str | None = None
    customerId: str | None = None
    channel: str | None = None
    summary: str | None = None
    createdAt: str | None = None
    by: dict[str, str | None] | None = None


class CustomerViewOut(BaseModel):
    model_config = OUT
    customerId: str
    status: Literal["ACTIVE", "ERASED"]
    erasedAt: str | None = None
    profile: ProfileOut | None
    stats: CustomerStatsOut
    timeline: list[CustomerTimelineEntryOut] = Field(description="newest first")
