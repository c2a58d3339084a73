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


class CustomerViewOut(BaseModel):
    model_config = OUT
    customerId: str
    status: Literal["ACTIVE", "ERASED"]
    erasedAt: str | None = None
    profile: ProfileOut | None
    stats: CustomerStatsOut
    timeline: list[dict[str, Any]] = Field(
        description="newest first; `type` is registered, order, order_status, return, refund, email, interaction "
        "or erased, each with `at`"
    )
