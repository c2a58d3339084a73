"""Request and response bodies of the orders API; the OpenAPI document is built from them."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from commerce.contract import OUT, STRICT, Address, ErasedAddress, LineOut, Money, WholeInt

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


class TrackingEventOut(BaseModel):
    model_config = OUT
    status: str
    at: str
    location: str | None = None


class ShipmentOut(BaseModel):
    model_config = OUT
    shipmentId: str
    orderId: str
    status: str
    carrier: str
    trackingNumber: str
    createdAt: str
    events: list[TrackingEventOut]


class HistoryOut(BaseModel):
    model_config = OUT
    status: str
    at: str
    note: str | None = None


class ReturnLineOut(BaseModel):
    model_config = OUT
    sku: str
    quantity: int
    reason: str


class ReturnOut(BaseModel):
    model_config = OUT
    returnId: str
    orderId: str
    status: str
    lines: list[ReturnLineOut]
    createdAt: str
    refund: Money | None = None
    refundedAt: str | None = None
    restocked: bool | None = None


class InvoiceRefOut(BaseModel):
    """The invoice issued for an order (`GET /orders/{orderId}/invoice` has the whole document)."""

    model_config = OUT
    invoiceNumber: str
    issuedAt: str


class OrderOut(BaseModel):
    model_config = OUT
    orderId: str
    status: str
    email: str
    lines: list[LineOut]
    subtotal: Money
    shipping: Money
    tax: Money
    total: Money
    shippingAddress: Address | ErasedAddress = Field(description="only the country once the customer is erased")
    createdAt: str
    history: list[HistoryOut]
    shipments: list[ShipmentOut]
    invoice: InvoiceRefOut | None
    returns: list[ReturnOut]


class OrderPage(BaseModel):
    model_config = OUT
    items: list[OrderOut]
    nextCursor: str | None


class TrackingOut(BaseModel):
    model_config = OUT
    orderId: str
    shipments: list[ShipmentOut]


class SellerOut(BaseModel):
    model_config = OUT
    name: str
    address: str = ""
    email: str = ""


class BillToOut(BaseModel):
    model_config = OUT
    name: str = Field(description="empty once the customer is erased")
    email: str
    address: Address | ErasedAddress


class InvoiceLineOut(BaseModel):
    model_config = OUT
    sku: str
    description: str
    quantity: int
    unitPrice: Money
    lineTotal: Money


class InvoiceOut(BaseModel):
    model_config = OUT
    invoiceNumber: str
    issuedAt: str
    orderId: str
    seller: SellerOut
    billTo: BillToOut
    lines: list[InvoiceLineOut]
    subtotal: Money
    shipping: Money
    tax: Money
    total: Money


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
