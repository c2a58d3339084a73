"""Order use cases behind small ports: the order store, payments, mail and the fulfilment queue.

Workflow tasks are idempotent: each effect is recorded on the order in the same conditional
write (stock state, payment state, invoice number, fulfilment mark), so a task run twice finds
its mark and does nothing. Compensations are the same functions whatever started them: the
workflow's Catch, a customer's or staff's cancellation.

No workflow task and no API path sends email: customers are emailed from the order events
(`notify`, run by the OrderNotifications consumer of an SQS queue), so a mail provider's
refusal never decides an order's fate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from commerce.clock import utcnow_str
from commerce.errors import Conflict, NotFound
from commerce.ids import new_id
from commerce.orders import OrderStatus
from orders.domain import emails
from orders.domain.model import (
    ENDED,
    Order,
    OrderNotActive,
    OrderNotFound,
    PaymentState,
    Shipment,
    StockState,
    TrackingEvent,
    TrackingStatus,
)
from orders.domain.returns import (
    Return,
    ReturnLine,
    ReturnStatus,
    check_return,
    refund_amount,
    status_after_refund,
)


class OrderStore(Protocol):
    def get(self, order_id: str) -> Order | None: ...
    def list_for_owner(
        self, owner: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Order], dict[str, Any] | None]: ...
    def list_all(
        self, status: str | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Order], dict[str, Any] | None]: ...
    def set_payment_state(self, order: Order, target: PaymentState) -> bool: ...
    def commit_stock(self, order: Order) -> bool: ...
    def return_stock(self, order: Order) -> bool: ...
    def issue_invoice(self, order: Order, seller: dict[str, str]) -> str: ...
    def invoice(self, order_id: str) -> dict[str, Any] | None: ...
    def mark(self, order: Order, flag: str) -> bool: ...
    def transition(self, order: Order, target: OrderStatus, note: str) -> bool: ...
    def shipments(self, order_id: str) -> list[Shipment]: ...
    def shipment(self, shipment_id: str) -> Shipment | None: ...
    def shipment_by_tracking(self, tracking_number: str) -> Shipment | None: ...
    def add_shipment(self, order: Order, shipment: Shipment) -> None: ...
    def save_shipment(self, before: Shipment, after: Shipment) -> bool: ...
    def returns(self, order_id: str) -> list[Return]: ...
    def return_by_id(self, return_id: str) -> Return | None: ...
    def add_return(self, order: Order, ret: Return) -> None: ...
    def complete_refund(
        self, order: Order, ret: Return, *, amount: int, restock: bool, order_status: OrderStatus
    ) -> bool: ...


class Payments(Protocol):
    def capture(self, intent_id: str, order_id: str) -> None: ...
    def void_or_refund(self, intent_id: str, order_id: str) -> PaymentState: ...
    def refund(self, intent_id: str, *, amount: int, return_id: str) -> None: ...


class Mailer(Protocol):
    def send(self, email: emails.Email) -> None: ...


class FulfilmentQueue(Protocol):
    def request(self, order: Order) -> None: ...


@dataclass(frozen=True)
class Orders:
    store: OrderStore
    payments: Payments
    mailer: Mailer
    fulfilment: FulfilmentQueue
    shop_name: str = "shopstack"
    seller: dict[str, str] | None = None
    return_window_days: int = 30

    def order(self, order_id: str) -> Order:
        order = self.store.get(order_id)
        if order is None:
            raise OrderNotFound(f"order {order_id} does not exist")
        return order


# --- workflow tasks --------------------------------------------------------------------------


def capture_payment(deps: Orders, order_id: str) -> dict[str, Any]:
    order = deps.order(order_id)
    if order.payment_state is PaymentState.CAPTURED:
        return {"captured": False}
    order.check_active(OrderStatus.PAID)
    if order.payment_state is not PaymentState.AUTHORIZED or not order.payment_intent_id:
        raise OrderNotActive(f"order {order_id} has no authorized payment ({order.payment_state.value})")
    deps.payments.capture(order.payment_intent_id, order.order_id)
    deps.store.set_payment_state(order, PaymentState.CAPTURED)
    return {"captured": True}


def commit_stock(deps: Orders, order_id: str) -> dict[str, Any]:
    order = deps.order(order_id)
    if order.stock_state is StockState.COMMITTED:
        return {"committed": False}
    order.check_active(OrderStatus.PAID)
    if not deps.store.commit_stock(order):
        raise OrderNotActive(f"order {order_id} stock is {deps.order(order_id).stock_state.value}")
    return {"committed": True}


def issue_invoice(deps: Orders, order_id: str) -> dict[str, Any]:
    order = deps.order(order_id)
    if order.invoice_number:
        return {"invoiceNumber": order.invoice_number}
    order.check_active(OrderStatus.PAID)
    return {"invoiceNumber": deps.store.issue_invoice(order, deps.seller or {"name": deps.shop_name})}


def request_fulfilment(deps: Orders, order_id: str) -> dict[str, Any]:
    order = deps.order(order_id)
    if order.fulfilment_requested_at:
        return {"requested": False}
    order.check_active(OrderStatus.PAID)
    deps.fulfilment.request(order)
    deps.store.mark(order, "fulfilmentRequestedAt")
    return {"requested": True}


def confirm_order(deps: Orders, order_id: str) -> dict[str, Any]:
    order = deps.order(order_id)
    if order.status is OrderStatus.PAID:
        deps.store.transition(order, OrderStatus.CONFIRMED, "captured, stock committed, invoice issued")
        order = deps.order(order_id)
    order.check_active(OrderStatus.CONFIRMED, OrderStatus.SHIPPED, OrderStatus.DELIVERED)
    return {"status": order.status.value}


# --- compensations ---------------------------------------------------------------------------


def release_stock(deps: Orders, order_id: str) -> dict[str, Any]:
    """Reserved stock goes back to available; committed stock back on hand."""
    order = deps.order(order_id)
    returned = deps.store.return_stock(order)
    return {"stock": deps.order(order_id).stock_state.value, "changed": returned}


def void_or_refund_payment(deps: Orders, order_id: str) -> dict[str, Any]:
    order = deps.order(order_id)
    if order.payment_state in (PaymentState.VOIDED, PaymentState.REFUNDED) or not order.payment_intent_id:
        return {"payment": order.payment_state.value}
    outcome = deps.payments.void_or_refund(order.payment_intent_id, order.order_id)
    deps.store.set_payment_state(order, outcome)
    return {"payment": outcome.value}


def end_order(deps: Orders, order_id: str, outcome: str, reason: str) -> dict[str, Any]:
    order = deps.order(order_id)
    target = OrderStatus(outcome)
    if order.status in ENDED:
        return {"status": order.status.value}
    deps.store.transition(order, target, reason[:500])
    return {"status": deps.order(order_id).status.value}


def cancel(deps: Orders, order_id: str, *, by: str) -> Order:
    """Cancel before shipment through the same compensations the workflow runs."""
    order = deps.order(order_id)
    if order.status is OrderStatus.CANCELLED:
        return order
    order.check_cancellable()
    release_stock(deps, order_id)
    void_or_refund_payment(deps, order_id)
    end_order(deps, order_id, OrderStatus.CANCELLED.value, f"cancelled by {by}")
    return deps.order(order_id)


# --- shipping and tracking -------------------------------------------------------------------


def create_shipment(deps: Orders, order_id: str, *, carrier: str, tracking_number: str) -> Shipment:
    order = deps.order(order_id)
    if order.status not in (OrderStatus.CONFIRMED, OrderStatus.SHIPPED):
        raise Conflict(f"An order that is {order.status.value} cannot be shipped.", code="invalid_state")
    if deps.store.shipment_by_tracking(tracking_number) is not None:
        raise Conflict("A shipment with this tracking number exists.", code="duplicate_tracking_number")
    now = utcnow_str()
    shipment = Shipment(
        shipment_id=new_id(),
        order_id=order_id,
        carrier=carrier,
        tracking_number=tracking_number,
        status=TrackingStatus.SHIPPED,
        created_at=now,
        events=(TrackingEvent(TrackingStatus.SHIPPED, now),),
    )
    deps.store.add_shipment(order, shipment)
    return shipment


def record_tracking(deps: Orders, shipment: Shipment, event: TrackingEvent) -> Shipment:
    """Record a carrier's (or staff's) tracking event once; a delivery completes the order
    when every shipment of it is delivered."""
    for _ in range(5):
        after = shipment.with_event(event)
        if after is None:
            return shipment
        if deps.store.save_shipment(shipment, after):
            _after_delivery(deps, after)
            return after
        shipment = deps.store.shipment(shipment.shipment_id) or shipment
    raise Conflict("The shipment changed meanwhile; retry.", code="conflict", retry_after=1)


def _after_delivery(deps: Orders, shipment: Shipment) -> None:
    if shipment.status is not TrackingStatus.DELIVERED:
        return
    order = deps.order(shipment.order_id)
    if order.status is not OrderStatus.SHIPPED:
        return
    if all(s.status is TrackingStatus.DELIVERED for s in deps.store.shipments(order.order_id)):
        deps.store.transition(order, OrderStatus.DELIVERED, f"delivered by {shipment.carrier}")


def shipment_or_404(deps: Orders, shipment_id: str) -> Shipment:
    shipment = deps.store.shipment(shipment_id)
    if shipment is None:
        raise NotFound("No such shipment.", code="shipment_not_found")
    return shipment


# --- customer emails, from the order events -------------------------------------------------


def notify(deps: Orders, event_name: str, data: dict[str, Any]) -> list[str]:
    """Send the emails an order event warrants and mark each on the order (`emails.<name>`), so
    a redelivered event sends nothing twice. At least once: sent, then marked; a crash between
    the two sends that email again on redelivery. A refused send raises, for the queue to retry
    the event (and dead-letter it after its receives). Returns the names sent now."""
    order = deps.store.get(str(data.get("orderId") or ""))
    if order is None:
        return []
    shipments = deps.store.shipments(order.order_id) if event_name in ("OrderShipped", "ShipmentUpdated") else []
    sent = []
    for name, email in emails.for_event(event_name, data, order, shipments, deps.shop_name):
        if name in order.emails:
            continue
        deps.mailer.send(email)
        deps.store.mark(order, f"emails.{name}")
        sent.append(name)
    return sent


# --- returns and refunds ---------------------------------------------------------------------


def request_return(deps: Orders, order_id: str, lines: list[ReturnLine], *, now: datetime) -> Return:
    order = deps.order(order_id)
    check_return(order, lines, deps.store.returns(order_id), now=now, window_days=deps.return_window_days)
    ret = Return(
        return_id=new_id(),
        order_id=order_id,
        status=ReturnStatus.REQUESTED,
        lines=tuple(lines),
        created_at=utcnow_str(),
    )
    deps.store.add_return(order, ret)
    return ret


def return_or_404(deps: Orders, return_id: str) -> Return:
    ret = deps.store.return_by_id(return_id)
    if ret is None:
        raise NotFound("No such return.", code="return_not_found")
    return ret


def refund_return(deps: Orders, return_id: str, *, restock: bool) -> Return:
    """Refund the returned lines' share through the payment provider (its idempotency key is the
    return's), then in one transaction: the return REFUNDED, stock back on hand if asked, the
    order PARTIALLY_REFUNDED or REFUNDED. Run twice, it refunds once."""
    ret = return_or_404(deps, return_id)
    if ret.status is ReturnStatus.REFUNDED:
        return ret
    order = deps.order(ret.order_id)
    if order.payment_state is not PaymentState.CAPTURED or not order.payment_intent_id:
        raise Conflict("Only a captured payment can be refunded.", code="invalid_state")
    amount = refund_amount(order, ret)
    deps.payments.refund(order.payment_intent_id, amount=amount, return_id=ret.return_id)
    refunded = Return(
        ret.return_id, ret.order_id, ReturnStatus.REFUNDED, ret.lines, ret.created_at, amount, utcnow_str(), restock
    )
    for _ in range(5):
        others = [r for r in deps.store.returns(order.order_id) if r.return_id != ret.return_id]
        target = status_after_refund(order, [*others, refunded])
        if deps.store.complete_refund(order, ret, amount=amount, restock=restock, order_status=target):
            break
        current = deps.store.return_by_id(return_id)
        if current is not None and current.status is ReturnStatus.REFUNDED:
            return current
        order = deps.order(ret.order_id)
    else:
        raise Conflict("The order changed meanwhile; retry the refund.", code="conflict", retry_after=1)
    return deps.store.return_by_id(return_id) or refunded
