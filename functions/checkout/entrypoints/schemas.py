"""Request and response bodies of the checkout API; the OpenAPI document is built from them."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from checkout.domain.cart import MAX_QUANTITY
from commerce.contract import COUNTRY_ENUM, WholeInt
from commerce.countries import check_country

STRICT = ConfigDict(extra="forbid", strict=True)


class QuantityIn(BaseModel):
    model_config = STRICT
    quantity: WholeInt = Field(ge=1, le=MAX_QUANTITY)


class AddressIn(BaseModel):
    model_config = STRICT
    name: str = Field(min_length=1, max_length=120)
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postalCode: str = Field(min_length=1, max_length=20)
    country: Annotated[str, AfterValidator(check_country)] = Field(
        pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2", json_schema_extra=COUNTRY_ENUM
    )


class CheckoutIn(BaseModel):
    model_config = STRICT
    email: str = Field(pattern=r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$", max_length=254)
    shippingAddress: AddressIn
    paymentMethod: str | None = Field(default=None, pattern=r"^pm_[A-Za-z0-9_]{1,100}$")


class MoneyOut(BaseModel):
    amount: int
    currency: str


class CartLineOut(BaseModel):
    sku: str
    name: str
    quantity: int
    unitPrice: MoneyOut
    lineTotal: MoneyOut


class CartOut(BaseModel):
    cartId: str
    cartToken: str | None = None
    status: str
    items: list[CartLineOut]
    unavailable: list[str]
    subtotal: MoneyOut
    shipping: MoneyOut
    tax: MoneyOut
    total: MoneyOut
    currency: str
    destination: str
    updatedAt: str


class PaymentOut(BaseModel):
    paymentIntentId: str | None
    clientSecret: str | None
    status: str | None


class CheckoutOut(BaseModel):
    orderId: str
    orderToken: str
    status: str
    subtotal: MoneyOut
    shipping: MoneyOut
    tax: MoneyOut
    total: MoneyOut
    payment: PaymentOut


class StripeWebhookOut(BaseModel):
    """The receipt of a Stripe event (named apart from the outbound webhooks API's models)."""

    received: bool
    outcome: str
