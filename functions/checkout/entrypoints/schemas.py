"""Request and response bodies of the checkout API; the OpenAPI document is built from them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from checkout.domain.cart import MAX_QUANTITY
from commerce.contract import OUT, STRICT, AddressIn, LineOut, Money, WholeInt, portable

EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$"


class QuantityIn(BaseModel):
    model_config = STRICT
    quantity: WholeInt = Field(ge=1, le=MAX_QUANTITY)


class CheckoutIn(BaseModel):
    model_config = STRICT
    email: str = Field(pattern=EMAIL_PATTERN, max_length=254, json_schema_extra=portable(EMAIL_PATTERN))
    shippingAddress: AddressIn
    paymentMethod: str | None = Field(default=None, pattern=r"^pm_[A-Za-z0-9_]{1,100}$")


class CartOut(BaseModel):
    model_config = OUT
    cartId: str
    cartToken: str | None = None
    status: str
    items: list[LineOut]
    unavailable: list[str]
    subtotal: Money
    shipping: Money
    tax: Money
    total: Money
    currency: str
    destination: str
    updatedAt: str


class PaymentOut(BaseModel):
    model_config = OUT
    paymentIntentId: str | None
    clientSecret: str | None
    status: str | None


class CheckoutOut(BaseModel):
    model_config = OUT
    orderId: str
    orderToken: str
    status: str
    subtotal: Money
    shipping: Money
    tax: Money
    total: Money
    payment: PaymentOut


class StripeWebhookOut(BaseModel):
    """The receipt of a Stripe event (named apart from the outbound webhooks API's models)."""

    model_config = OUT
    received: bool
    outcome: str
