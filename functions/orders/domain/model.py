"""Order rules of the orders service: fulfilment state, cancellation, tracking, invoices and the
events each committed change stands for. The statuses themselves are the shared lifecycle in
`commerce.orders`. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from commerce.errors import TransientError
from commerce.orders import (
    CANCELLABLE,
    ENDED,
    OrderLine,
    OrderState,
    OrderStatus,
    PaymentState,
    StockState,
    check_transition,
)

__all__ = [
    "CANCELLABLE",
    "ENDED",
    "OrderStatus",
    "PaymentState",
    "StockState",
    "TransientError",
    "check_transition",
]


class OrderNotFound(Exception):
    """Raised to the workflow by name, so its Catch can route on `OrderNotFound`."""


class OrderNotActive(Exception):
    """The order left the path this step belongs to (cancelled meanwhile): compensate."""


class TrackingStatus(StrEnum):
    SHIPPED = "SHIPPED"
    IN_TRANSIT = "IN_TRANSIT"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    DELIVERED = "DELIVERED"
    EXCEPTION = "EXCEPTION"


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str
    status: OrderStatus
    email: str
    owner: str | None
    lines: tuple[OrderLine, ...]
    subtotal: int
    shipping: int
    tax: int
    total: int
    currency: str
    shipping_address: dict[str, Any]
    token_hash: str
    created_at: str
    payment_intent_id: str | None = None
    history: tuple[dict[str, Any], ...] = ()
    stock_state: StockState = StockState.RESERVED
    payment_state: PaymentState = PaymentState.PENDING
    invoice_number: str | None = None
    fulfilment_requested_at: str | None = None
    emails: dict[str, str] = field(default_factory=dict)
    refunded: int = 0
    returns_version: int = 0
    end_as: OrderStatus | None = None
    refunding_return: str | None = None
    updated_at: str = ""
    reconcile_attempts: int = 0

    @property
    def state(self) -> OrderState:
        """The lifecycle's view of this order (`commerce.orders`), to plan a change from."""
        return OrderState(
            order_id=self.order_id,
            status=self.status,
            lines=tuple((line.sku, line.quantity) for line in self.lines),
            total=self.total,
            currency=self.currency,
            stock_state=self.stock_state,
            payment_state=self.payment_state,
            payment_intent_id=self.payment_intent_id,
            refunded=self.refunded,
            returns_version=self.returns_version,
            end_as=self.end_as,
            refunding_return=self.refunding_return,
            updated_at=self.updated_at or self.created_at,
        )

    @property
    def money(self) -> dict[str, dict[str, object]]:
        def m(amount: int) -> dict[str, object]:
            return {"amount": amount, "currency": self.currency}

        return {"subtotal": m(self.subtotal), "shipping": m(self.shipping), "tax": m(self.tax), "total": m(self.total)}

    def check_active(self, *expected: OrderStatus) -> None:
        if self.status not in expected:
            raise OrderNotActive(f"order {self.order_id} is {self.status.value}, not {'/'.join(expected)}")


@dataclass(frozen=True, slots=True)
class TrackingEvent:
    status: TrackingStatus
    at: str
    location: str | None = None

    def to_json(self) -> dict[str, Any]:
        event: dict[str, Any] = {"status": self.status.value, "at": self.at}
        if self.location:
            event["location"] = self.location
        return event


@dataclass(frozen=True, slots=True)
class Shipment:
    shipment_id: str
    order_id: str
    carrier: str
    tracking_number: str
    status: TrackingStatus
    created_at: str
    events: tuple[TrackingEvent, ...] = ()

    def with_event(self, event: TrackingEvent) -> Shipment | None:
        """The shipment after this event, or None when it was already recorded (a duplicate).
        A shipment's status follows its latest event in time; a delivered shipment stays
        delivered."""
        if any(e.status == event.status and e.at == event.at for e in self.events):
            return None
        events = tuple(sorted((*self.events, event), key=lambda e: e.at))
        latest = events[-1].status
        status = TrackingStatus.DELIVERED if TrackingStatus.DELIVERED in {e.status for e in events} else latest
        return Shipment(
            self.shipment_id,
            self.order_id,
            self.carrier,
            self.tracking_number,
            status,
            self.created_at,
            events,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "shipmentId": self.shipment_id,
            "orderId": self.order_id,
            "status": self.status.value,
            "carrier": self.carrier,
            "trackingNumber": self.tracking_number,
            "createdAt": self.created_at,
            "events": [e.to_json() for e in self.events],
        }


def invoice_number(year: int, sequence: int) -> str:
    return f"INV-{year}-{sequence:06d}"
