"""Request and response bodies of the customers API; the OpenAPI document is built from them.
Names are prefixed so they never clash with another service's schemas in the merged document."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from commerce.contract import COUNTRY_ENUM, NOT_BLANK
from commerce.countries import check_country

STRICT = ConfigDict(extra="forbid", strict=True)


class CustomerAddressIn(BaseModel):
    model_config = STRICT
    label: str | None = Field(default=None, min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=120, pattern=NOT_BLANK)
    line1: str = Field(min_length=1, max_length=200, pattern=NOT_BLANK)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100, pattern=NOT_BLANK)
    postalCode: str = Field(min_length=1, max_length=20, pattern=NOT_BLANK)
    country: Annotated[str, AfterValidator(check_country)] = Field(
        pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2", json_schema_extra=COUNTRY_ENUM
    )


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


class CustomerMoneyOut(BaseModel):
    amount: int
    currency: str


class CustomerAddressOut(BaseModel):
    label: str | None = None
    name: str
    line1: str
    line2: str | None = None
    city: str
    postalCode: str
    country: str


class ProfileOut(BaseModel):
    customerId: str
    email: str | None
    name: str | None
    phone: str | None
    addresses: list[CustomerAddressOut]
    marketingOptIn: bool
    createdAt: str
    updatedAt: str


class InteractionOut(BaseModel):
    interactionId: str
    customerId: str
    channel: str
    summary: str
    createdAt: str
    by: dict[str, str | None]


class CustomerExportOut(BaseModel):
    customerId: str
    exportedAt: str
    profile: ProfileOut | None
    interactions: list[InteractionOut]
    orders: list[dict[str, Any]]
    carts: list[dict[str, Any]]


class CustomerSummaryOut(BaseModel):
    customerId: str
    email: str | None
    name: str | None
    createdAt: str


class CustomerSearchOut(BaseModel):
    items: list[CustomerSummaryOut]


class CustomerStatsOut(BaseModel):
    orders: int
    lifetimeValue: CustomerMoneyOut
    refunded: CustomerMoneyOut


class CustomerViewOut(BaseModel):
    customerId: str
    status: Literal["ACTIVE", "ERASED"]
    erasedAt: str | None = None
    profile: ProfileOut | None
    stats: CustomerStatsOut
    timeline: list[dict[str, Any]] = Field(
        description="newest first; `type` is registered, order, order_status, return, refund, email, interaction "
        "or erased, each with `at`"
    )
