"""Request and response bodies of the orders API; the OpenAPI document is built from them."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from commerce.contract import WholeInt

STRICT = ConfigDict(extra="forbid", strict=True)
Tracked = Literal["IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED", "EXCEPTION"]


class ShipmentIn(BaseModel):
    model_config = STRICT
    carrier: str = Field(min_length=1, max_length=40)
    trackingNumber: str = Field(pattern=r"^[A-Za-z0-9-]{4,40}$")


class TrackingEventIn(BaseModel):
    model_config = STRICT
    status: Tracked
    at: AwareDatetime = Field(strict=False, description="RFC 3339 with a time zone")
    location: str | None = Field(default=None, max_length=120)


class CarrierEventIn(TrackingEventIn):
    trackingNumber: str = Field(pattern=r"^[A-Za-z0-9-]{4,40}$")


class MoneyOut(BaseModel):
    amount: int
    currency: str


class TrackingEventOut(BaseModel):
    status: str
    at: str
    location: str | None = None


class ShipmentOut(BaseModel):
    shipmentId: str
    orderId: str
    status: str
    carrier: str
    trackingNumber: str
    createdAt: str
    events: list[TrackingEventOut]


class HistoryOut(BaseModel):
    status: str
    at: str
    note: str | None = None


class OrderLineOut(BaseModel):
    sku: str
    name: str
    quantity: int
    unitPrice: MoneyOut
    lineTotal: MoneyOut


class OrderOut(BaseModel):
    orderId: str
    status: str
    email: str
    lines: list[OrderLineOut]
    subtotal: MoneyOut
    shipping: MoneyOut
    tax: MoneyOut
    total: MoneyOut
    createdAt: str
    history: list[HistoryOut]
    shipments: list[ShipmentOut]
    invoice: dict[str, str] | None
    returns: list[dict[str, object]]


class OrderPage(BaseModel):
    items: list[OrderOut]
    nextCursor: str | None


class TrackingOut(BaseModel):
    orderId: str
    shipments: list[ShipmentOut]


class InvoiceOut(BaseModel):
    invoiceNumber: str
    issuedAt: str
    orderId: str
    seller: dict[str, str]
    billTo: dict[str, object]
    lines: list[dict[str, object]]
    subtotal: MoneyOut
    shipping: MoneyOut
    tax: MoneyOut
    total: MoneyOut


class ReturnLineIn(BaseModel):
    model_config = STRICT
    sku: str = Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$")
    quantity: WholeInt = Field(ge=1, le=99)
    reason: str = Field(min_length=1, max_length=500)


class ReturnIn(BaseModel):
    model_config = STRICT
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=50)


class RefundIn(BaseModel):
    model_config = STRICT
    restock: bool = True


class ReturnOut(BaseModel):
    returnId: str
    orderId: str
    status: str
    lines: list[dict[str, object]]
    createdAt: str
    refund: MoneyOut | None = None
    refundedAt: str | None = None
    restocked: bool | None = None
