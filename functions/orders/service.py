"""Order use cases behind small ports: the order store, payments, mail and the fulfilment queue.

Workflow tasks are idempotent: each effect is recorded on the order in the same conditional
write (stock state, payment state, invoice number, fulfilment mark), so a task run twice finds
its mark and does nothing. Compensations are the same functions whatever started them: the
workflow's Catch, a customer's or staff's cancellation.

No workflow task and no API path sends email: customers are emailed from the order events
(`notify`, run by the OrderNotifications consumer of an SQS queue), so a mail provider's
refusal never decides an order's fate."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from commerce import settlement
from commerce.clock import utcnow_str
from commerce.errors import Conflict, DependencyUnavailable, NotFound
from commerce.ids import new_id
from commerce.orders import (
    CANCELLABLE,
    Change,
    OrderState,
    OrderStatus,
    PaymentState,
    StockState,
    captured,
    committed,
    confirmed,
    delivered,
    refund_finished,
    refunding,
    return_requested,
    shipped,
)
from orders.domain import emails
from orders.domain.model import (
    Order,
    OrderNotActive,
    OrderNotFound,
    Shipment,
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

ATTEMPTS = 5
_log = logging.getLogger(__name__)


class OrderStore(Protocol):
    """Reads of orders and their documents, and the writes that join an order change in one
    transaction (a shipment, a return, a refund, an invoice). Plain order changes are `Ledger`'s."""

    def get(self, order_id: str) -> Order | None: ...
    def list_for_owner(
        self, owner: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Order], dict[str, Any] | None]: ...
    def list_all(
        self, status: str | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Order], dict[str, Any] | None]: ...
    def issue_invoice(self, order: Order, seller: dict[str, str]) -> str: ...
    def invoice(self, order_id: str) -> dict[str, Any] | None: ...
    def mark(self, order: Order, flag: str) -> bool: ...
    def shipments(self, order_id: str) -> list[Shipment]: ...
    def shipment(self, shipment_id: str) -> Shipment | None: ...
    def shipment_by_tracking(self, tracking_number: str) -> Shipment | None: ...
    def add_shipment(self, change: Change, shipment: Shipment) -> bool: ...
    def save_shipment(self, before: Shipment, after: Shipment) -> bool: ...
    def returns(self, order_id: str) -> list[Return]: ...
    def return_by_id(self, return_id: str) -> Return | None: ...
    def add_return(self, change: Change, ret: Return, currency: str) -> bool: ...
    def begin_refund(self, change: Change, ret: Return, *, amount: int, restock: bool) -> bool: ...
    def finish_refund(self, change: Change, ret: Return) -> bool: ...


class Payments(Protocol):
    def capture(self, intent_id: str, order_id: str) -> None: ...
    def refund(self, intent_id: str, *, amount: int, return_id: str) -> None: ...


class Ledger(settlement.Ledger, Protocol):
    def stuck(self, status: OrderStatus, updated_before: str, limit: int) -> list[OrderState]: ...
    def note_reconciled(self, order: OrderState) -> int | None: ...


class Workflows(Protocol):
    def restart(self, order_id: str, attempt: int, correlation_id: str | None) -> None: ...


class Mailer(Protocol):
    def send(self, email: emails.Email) -> None: ...


class FulfilmentQueue(Protocol):
    def request(self, order: Order) -> None: ...


@dataclass(frozen=True)
class Orders:
    store: OrderStore
    ledger: Ledger
    payments: Payments
    money: settlement.Money
    mailer: Mailer
    fulfilment: FulfilmentQueue
    workflows: Workflows | None = None
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
    if deps.ledger.apply(captured(order.state)):
        return {"captured": True}
    if deps.order(order_id).payment_state is PaymentState.CAPTURED:
        return {"captured": False}  # another execution of the workflow recorded the same capture
    raise OrderNotActive(f"order {order_id} moved while its payment was captured")


def commit_stock(deps: Orders, order_id: str) -> dict[str, Any]:
    order = deps.order(order_id)
    if order.stock_state is StockState.COMMITTED:
        return {"committed": False}
    order.check_active(OrderStatus.PAID)
    if order.stock_state is StockState.RESERVED and deps.ledger.apply(committed(order.state)):
        return {"committed": True}
    now_is = deps.order(order_id).stock_state
    if now_is is StockState.COMMITTED:
        return {"committed": False}  # another execution of the workflow committed it
    raise OrderNotActive(f"order {order_id} stock is {now_is.value}")


def issue_invoice(deps: Orders, order_id: str) -> dict[str, Any]:
    order = deps.order(order_id)
    if order.invoice_number:
        return {"invoiceNumber": order.invoice_number}
    order.check_active(OrderStatus.PAID)
    try:
        return {"invoiceNumber": deps.store.issue_invoice(order, deps.seller or {"name": deps.shop_name})}
    except OrderNotActive:
        number = deps.order(order_id).invoice_number
        if number:
            return {"invoiceNumber": number}  # another execution of the workflow issued it
        raise


def request_fulfilment(deps: Orders, order_id: str) -> dict[str, Any]:
    order = deps.order(order_id)
    if order.fulfilment_requested_at:
        return {"requested": False}
    order.check_active(OrderStatus.PAID)
    deps.fulfilment.request(order)
    deps.store.mark(order, "fulfilmentRequestedAt")
    return {"requested": True}


def confirm_order(deps: Orders, order_id: str) -> dict[str, Any]:
    """PAID -> CONFIRMED, only with the payment captured and the stock committed."""
    order = deps.order(order_id)
    if order.status is OrderStatus.PAID:
        try:
            change = confirmed(order.state)
        except Conflict as refused:
            raise OrderNotActive(refused.detail) from refused
        if deps.ledger.apply(change):
            return {"status": OrderStatus.CONFIRMED.value}
        order = deps.order(order_id)  # moved meanwhile: confirmed by a duplicate execution, or cancelled
    order.check_active(OrderStatus.CONFIRMED, OrderStatus.SHIPPED, OrderStatus.DELIVERED)
    return {"status": order.status.value}


# --- compensation and cancellation -------------------------------------------------------------


def compensate(deps: Orders, order_id: str, outcome: str, reason: str) -> dict[str, Any]:
    """The workflow's compensation: cancel the order (stock back, money voided or refunded) and
    end it as `outcome` (PAYMENT_FAILED when the capture failed, CANCELLED otherwise), through
    the same steps as any cancellation. An order that is no longer cancellable (confirmed and
    shipped meanwhile) is left as it is."""
    order = deps.order(order_id)
    if order.status not in CANCELLABLE and order.status is not OrderStatus.CANCELLING:
        return {"status": order.status.value}
    state = settlement.cancel(deps.ledger, deps.money, order_id, reason[:500], end_as=OrderStatus(outcome))
    return {"status": state.status.value}


def cancel(deps: Orders, order_id: str, *, by: str) -> Order:
    """Cancel before shipment (409 `invalid_state` after). The order is CANCELLING at once, with
    its stock back; when the payment provider cannot be reached the order stays CANCELLING (the
    caller answers 202) and the next attempt, or the reconciler, finishes it."""
    try:
        settlement.cancel(deps.ledger, deps.money, order_id, f"cancelled by {by}")
    except DependencyUnavailable:
        order = deps.order(order_id)
        if order.status is not OrderStatus.CANCELLING:
            raise
    return deps.order(order_id)


# --- shipping and tracking -------------------------------------------------------------------


def create_shipment(deps: Orders, order_id: str, *, carrier: str, tracking_number: str) -> Shipment:
    """Ship a CONFIRMED (or already SHIPPED) order: the shipment is written in the same
    transaction as the order's move, so an order cancelled or refunded meanwhile is never shipped."""
    order = deps.order(order_id)
    change = shipped(order.state, carrier)
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
    if not deps.store.add_shipment(change, shipment):
        raise Conflict("The order changed meanwhile; read it and try again.", code="conflict", retry_after=1)
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
        deps.ledger.apply(delivered(order.state, shipment.carrier))


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
    """A return of delivered lines, checked against the returns read in the same version of the
    order: concurrent returns of the same units cannot both pass (the loser re-reads and is
    refused, 422, or joins when units remain)."""
    for _ in range(ATTEMPTS):
        order = deps.order(order_id)
        check_return(order, lines, deps.store.returns(order_id), now=now, window_days=deps.return_window_days)
        ret = Return(
            return_id=new_id(),
            order_id=order_id,
            status=ReturnStatus.REQUESTED,
            lines=tuple(lines),
            created_at=utcnow_str(),
        )
        if deps.store.add_return(return_requested(order.state, ret.return_id), ret, order.currency):
            return ret
    raise Conflict("The order changed meanwhile; retry the return.", code="conflict", retry_after=1)


def return_or_404(deps: Orders, return_id: str) -> Return:
    ret = deps.store.return_by_id(return_id)
    if ret is None:
        raise NotFound("No such return.", code="return_not_found")
    return ret


def refund_return(deps: Orders, return_id: str, *, restock: bool) -> Return:
    """Refund a return's share in three steps, each safe to repeat: the order and the return
    REFUNDING (one refund per order at a time, never above what was captured and not yet
    refunded); the refund at the payment provider (its idempotency key is the return's); then
    in one transaction the return REFUNDED, the amount recorded, stock back on hand if asked,
    the order PARTIALLY_REFUNDED or REFUNDED. Interrupted after the first step, it is resumed by
    the next call or the reconciler (with the restock choice recorded on the return)."""
    ret = return_or_404(deps, return_id)
    if ret.status is ReturnStatus.REQUESTED:
        ret = _begin_refund(deps, ret, restock=restock)
    if ret.status is ReturnStatus.REFUNDED:
        return ret
    order = deps.order(ret.order_id)
    amount = int(ret.refund_amount or 0)
    deps.payments.refund(str(order.payment_intent_id), amount=amount, return_id=ret.return_id)
    refunded = replace(ret, status=ReturnStatus.REFUNDED, refund_amount=amount, refunded_at=utcnow_str())
    others = [r for r in deps.store.returns(order.order_id) if r.return_id != ret.return_id]
    target = status_after_refund(order, [*others, refunded])
    restocked = tuple((line.sku, line.quantity) for line in ret.lines) if ret.restocked else ()
    if order.status is OrderStatus.REFUNDING and order.refunding_return == ret.return_id:
        deps.store.finish_refund(refund_finished(order.state, ret.return_id, amount, target, restocked), ret)
    return return_or_404(deps, return_id)


def _begin_refund(deps: Orders, ret: Return, *, restock: bool) -> Return:
    for _ in range(ATTEMPTS):
        order = deps.order(ret.order_id)
        if order.payment_state is not PaymentState.CAPTURED or not order.payment_intent_id:
            raise Conflict("Only a captured payment can be refunded.", code="invalid_state")
        amount = refund_amount(order, ret)
        change = refunding(order.state, ret.return_id, amount)
        if deps.store.begin_refund(change, ret, amount=amount, restock=restock):
            break
        ret = return_or_404(deps, ret.return_id)
        if ret.status is not ReturnStatus.REQUESTED:
            return ret
    else:
        raise Conflict("The order changed meanwhile; retry the refund.", code="conflict", retry_after=1)
    return return_or_404(deps, ret.return_id)


# --- the reconciler ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadlines:
    """How long an order may sit in a status the system itself must move it on from."""

    reservation_seconds: int = 900
    stuck_after_seconds: int = 10
    workflow_seconds: int = 300
    """The order workflow's timeout: an order PAID for longer has no execution still running (an
    Express execution cannot be asked whether it runs; it ends by its timeout)."""


def reconcile(deps: Orders, *, now: datetime, deadlines: Deadlines, limit: int = 100) -> dict[str, int]:
    """Drive every in-flight order past its deadline to its next state, idempotently: a
    PENDING_PAYMENT order past its reservation is expired (or paid, if its payment was
    authorized); a PAID order unchanged for longer than its workflow can run gets its workflow
    restarted (a duplicate execution would change nothing twice: every task is idempotent); a
    CANCELLING order is finished; a REFUNDING order's refund is resumed. Returns counts by what
    was done; an order that fails is counted and left for the next run."""
    from collections import Counter

    done: Counter[str] = Counter()

    def before(seconds: int) -> str:
        return (now - timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    stuck = deadlines.stuck_after_seconds
    work: list[tuple[OrderStatus, int, Callable[[OrderState], str]]] = [
        (OrderStatus.PENDING_PAYMENT, deadlines.reservation_seconds + stuck, lambda o: _expire(deps, o)),
        (OrderStatus.PAID, max(stuck, deadlines.workflow_seconds), lambda o: _restart(deps, o)),
        (OrderStatus.CANCELLING, stuck, lambda o: settlement.finish(deps.ledger, deps.money, o.order_id).status.value),
        (OrderStatus.REFUNDING, stuck, lambda o: _resume_refund(deps, o)),
    ]
    for status, seconds, step in work:
        for order in deps.ledger.stuck(status, before(seconds), limit):
            try:
                done[f"{status.value}->{step(order)}"] += 1
            except Exception:  # one order's failure must not stop the others
                _log.exception("reconciling order %s (%s) failed", order.order_id, status.value)
                done[f"{status.value}->failed"] += 1
    return dict(done)


def _expire(deps: Orders, order: OrderState) -> str:
    state = settlement.expire(deps.ledger, deps.money, order.order_id)
    if state.status is OrderStatus.PAID:
        return _restart(deps, state)
    return state.status.value


def _restart(deps: Orders, order: OrderState) -> str:
    if deps.workflows is None:
        return "no workflows"
    attempt = deps.ledger.note_reconciled(order)
    if attempt is None:
        return "moved"
    deps.workflows.restart(order.order_id, attempt, order.correlation_id)
    return "restarted"


def _resume_refund(deps: Orders, order: OrderState) -> str:
    if not order.refunding_return:
        return "no return"
    ret = return_or_404(deps, order.refunding_return)
    return refund_return(deps, ret.return_id, restock=ret.restocked).status.value
