"""The orders service's `OrderStore`: `orders.adapters.dynamodb.DynamoOrderStore` (on DynamoDB
through moto) and `tests.unit.orders_fakes.FakeOrderStore` answer alike. What the service relies
on: a missing item reads as None (or an empty list); a shipment is found by its order, its id and
its tracking number; a shipment, a return or a refund step is written only in the same
transaction as the order change it goes with, and both are refused (False, nothing written) when
the order or the return is not as the change was planned from; invoice numbers are gapless and
sequential per year, one per order however often it is asked; workflow marks are taken once.

The store does not itself count returned quantities: the service checks a new return against the
returns it read (`orders.domain.returns.check_return`), and the store refuses the return when
another one joined the order since (the order's returns version). What it does enforce is that
the refunded amount never exceeds the order's total, even for a refund planned from a stale read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from commerce.clock import now
from commerce.orders import (
    Change,
    OrderStatus,
    PaymentState,
    StockState,
    refund_finished,
    refunding,
    return_requested,
    shipped,
)
from orders.domain.model import Order, OrderNotActive, Shipment, TrackingEvent, TrackingStatus, invoice_number
from orders.domain.returns import Return, ReturnLine, ReturnStatus
from tests.unit.contracts.conftest import BACKENDS, Tables
from tests.unit.orders_fakes import delivered, paid_order, record_of

SELLER = {"name": "shopstack", "address": "1 Dock Road", "email": "billing@example.com"}
STAMP = "2026-03-02T10:00:00.000Z"


@dataclass
class Backend:
    """One interface over the fake and DynamoDB: the store, and seeding it has no method for."""

    store: Any
    seed: Callable[[Order], None]
    stock: Callable[[str, int], None]
    counters: Callable[[str], dict[str, int]]


def _fake() -> Backend:
    from tests.unit.ledger_fakes import FakeLedger
    from tests.unit.orders_fakes import FakeOrderStore

    ledger = FakeLedger({})
    store = FakeOrderStore(ledger)

    def stock(sku: str, on_hand: int) -> None:
        ledger.stock[sku] = {"onHand": on_hand, "reserved": 0, "available": on_hand}

    return Backend(store, lambda order: ledger.add(record_of(order)), stock, lambda sku: dict(ledger.stock[sku]))


def _moto(tables: Tables) -> Backend:
    from commerce import ledger
    from commerce.ledger import OrderItem
    from commerce.records.fulfilment import InvoiceRecord, ReturnRecord, SequenceRecord, ShipmentRecord
    from commerce.records.products import ProductItem
    from orders.adapters.dynamodb import DynamoOrderStore

    tables.table("ORDERS_TABLE", OrderItem, ShipmentRecord, ReturnRecord, InvoiceRecord, SequenceRecord)
    tables.table("PRODUCTS_TABLE", ProductItem)
    store = DynamoOrderStore()
    ledger.bind_stock()
    names = {attribute.attr_name: name for name, attribute in OrderItem.get_attributes().items()}

    def seed(order: Order) -> None:
        values = {names[name]: value for name, value in record_of(order).items() if value is not None}
        OrderItem(*ledger.key(order.order_id), **values).save()

    def stock(sku: str, on_hand: int) -> None:
        ProductItem(
            sku, kind="product", name=sku, status="ACTIVE", on_hand=on_hand, reserved=0, available=on_hand
        ).save()

    def counters(sku: str) -> dict[str, int]:
        item = ProductItem.get(sku, consistent_read=True)
        return {"onHand": int(item.on_hand), "reserved": int(item.reserved), "available": int(item.available)}

    return Backend(store, seed, stock, counters)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "fake":
        return _fake()
    return _moto(request.getfixturevalue("dynamo"))


def confirmed(order_id: str = "o1", **changes: Any) -> Order:
    settled: dict[str, Any] = {
        "status": OrderStatus.CONFIRMED,
        "payment_state": PaymentState.CAPTURED,
        "stock_state": StockState.COMMITTED,
    }
    return paid_order(order_id, **{**settled, **changes})


def shipment_of(order: Order, shipment_id: str = "s1", tracking: str = "1Z999") -> Shipment:
    return Shipment(
        shipment_id=shipment_id,
        order_id=order.order_id,
        carrier="UPS",
        tracking_number=tracking,
        status=TrackingStatus.SHIPPED,
        created_at=STAMP,
        events=(TrackingEvent(TrackingStatus.SHIPPED, STAMP),),
    )


def return_of(order: Order, return_id: str = "r1", quantity: int = 1) -> Return:
    return Return(
        return_id=return_id,
        order_id=order.order_id,
        status=ReturnStatus.REQUESTED,
        lines=(ReturnLine("A", quantity, "too big"),),
        created_at=STAMP,
    )


def current(backend: Backend, order_id: str) -> Order:
    order = backend.store.get(order_id)
    assert order is not None
    return order


# --- missing items ------------------------------------------------------------------------------


def test_missing_items_read_as_none_or_empty(backend: Backend) -> None:
    store = backend.store
    assert store.get("nope") is None
    assert store.shipments("nope") == []
    assert store.shipment("nope") is None
    assert store.shipment_by_tracking("nope") is None
    assert store.returns("nope") == []
    assert store.return_by_id("nope") is None
    assert store.invoice("nope") is None


def test_a_shipment_of_a_missing_shipment_is_refused(backend: Backend) -> None:
    order = confirmed()
    backend.seed(order)
    shipment = shipment_of(order)
    after = shipment.with_event(TrackingEvent(TrackingStatus.IN_TRANSIT, "2026-03-03T00:00:00.000Z"))
    assert after is not None
    assert backend.store.save_shipment(shipment, after) is False
    assert backend.store.shipment(shipment.shipment_id) is None


# --- shipments ----------------------------------------------------------------------------------


def test_a_shipment_is_found_by_its_order_its_id_and_its_tracking_number(backend: Backend) -> None:
    order = confirmed()
    backend.seed(order)
    shipment = shipment_of(order)
    assert backend.store.add_shipment(shipped(order.state, "UPS"), shipment) is True
    assert current(backend, "o1").status is OrderStatus.SHIPPED
    assert backend.store.shipments("o1") == [shipment]
    assert backend.store.shipment("s1") == shipment
    assert backend.store.shipment_by_tracking("1Z999") == shipment
    assert backend.store.shipments("o2") == []


def test_a_second_shipment_keeps_the_order_shipped(backend: Backend) -> None:
    order = confirmed()
    backend.seed(order)
    assert backend.store.add_shipment(shipped(order.state, "UPS"), shipment_of(order))
    again = current(backend, "o1")
    second = shipment_of(order, "s2", "JD0002")
    assert backend.store.add_shipment(shipped(again.state, "DHL"), second) is True
    assert current(backend, "o1").status is OrderStatus.SHIPPED
    assert sorted(s.shipment_id for s in backend.store.shipments("o1")) == ["s1", "s2"]


def test_a_shipment_planned_from_a_stale_order_is_refused_and_not_written(backend: Backend) -> None:
    order = confirmed()
    backend.seed(order)
    assert backend.store.add_shipment(shipped(order.state, "UPS"), shipment_of(order))
    late = shipment_of(order, "s2", "JD0002")
    assert backend.store.add_shipment(shipped(order.state, "DHL"), late) is False
    assert backend.store.shipment("s2") is None
    assert backend.store.shipment_by_tracking("JD0002") is None
    assert [s.shipment_id for s in backend.store.shipments("o1")] == ["s1"]


def test_the_same_shipment_is_not_written_twice(backend: Backend) -> None:
    order = confirmed(status=OrderStatus.SHIPPED)
    backend.seed(order)
    shipment = shipment_of(order)
    assert backend.store.add_shipment(shipped(order.state, "UPS"), shipment)
    read = current(backend, "o1")
    assert backend.store.add_shipment(shipped(read.state, "UPS"), replace(shipment, carrier="DHL")) is False
    assert backend.store.shipment("s1") == shipment
    assert current(backend, "o1").history == read.history


def test_a_shipment_cannot_be_added_to_an_order_that_moved_on(backend: Backend) -> None:
    order = confirmed()
    backend.seed(replace(order, status=OrderStatus.CANCELLING))
    assert backend.store.add_shipment(shipped(order.state, "UPS"), shipment_of(order)) is False
    assert backend.store.shipments("o1") == []
    assert current(backend, "o1").status is OrderStatus.CANCELLING


def test_tracking_events_change_only_from_the_events_read(backend: Backend) -> None:
    order = confirmed()
    backend.seed(order)
    shipment = shipment_of(order)
    assert backend.store.add_shipment(shipped(order.state, "UPS"), shipment)
    moving = shipment.with_event(TrackingEvent(TrackingStatus.IN_TRANSIT, "2026-03-03T00:00:00.000Z", "Reno"))
    arrived = shipment.with_event(TrackingEvent(TrackingStatus.DELIVERED, "2026-03-04T00:00:00.000Z"))
    assert moving is not None and arrived is not None
    assert backend.store.save_shipment(shipment, moving) is True
    assert backend.store.save_shipment(shipment, arrived) is False
    assert backend.store.shipment("s1") == moving
    assert backend.store.shipment_by_tracking("1Z999") == moving
    assert backend.store.shipments("o1") == [moving]


# --- returns and refunds ------------------------------------------------------------------------


def test_a_return_moves_through_its_refund_states_with_the_order(backend: Backend) -> None:
    order = delivered()
    backend.seed(order)
    backend.stock("A", 5)
    ret = return_of(order)
    assert backend.store.add_return(return_requested(order.state, "r1"), ret, "usd") is True
    read = current(backend, "o1")
    assert read.status is OrderStatus.RETURN_REQUESTED and read.returns_version == 1
    assert backend.store.returns("o1") == [ret]
    assert backend.store.return_by_id("r1") == ret

    assert backend.store.begin_refund(refunding(read.state, "r1", 1000), ret, amount=1000, restock=True) is True
    started = backend.store.return_by_id("r1")
    assert started == replace(ret, status=ReturnStatus.REFUNDING, refund_amount=1000, restocked=True)
    read = current(backend, "o1")
    assert read.status is OrderStatus.REFUNDING and read.refunding_return == "r1"

    change = refund_finished(read.state, "r1", 1000, OrderStatus.PARTIALLY_REFUNDED, (("A", 1),))
    assert backend.store.finish_refund(change, started) is True
    done = backend.store.return_by_id("r1")
    assert done is not None and done.status is ReturnStatus.REFUNDED and done.refunded_at
    assert done == replace(started, status=ReturnStatus.REFUNDED, refunded_at=done.refunded_at)
    read = current(backend, "o1")
    assert read.status is OrderStatus.PARTIALLY_REFUNDED
    assert read.refunded == 1000 and read.refunding_return is None
    assert backend.counters("A") == {"onHand": 6, "reserved": 0, "available": 6}
    assert backend.store.returns("o1") == [done]


def test_a_refund_step_is_refused_when_the_return_is_not_in_the_state_it_leaves(backend: Backend) -> None:
    order = delivered()
    backend.seed(order)
    ret = return_of(order)
    assert backend.store.add_return(return_requested(order.state, "r1"), ret, "usd")
    read = current(backend, "o1")
    # finishing a return that never began refunding: the return's condition alone refuses it
    assert backend.store.finish_refund(Change(order=read.state, note="x"), ret) is False
    assert backend.store.return_by_id("r1") == ret
    assert backend.store.begin_refund(refunding(read.state, "r1", 1000), ret, amount=1000, restock=False)
    read = current(backend, "o1")
    assert backend.store.begin_refund(Change(order=read.state, note="x"), ret, amount=500, restock=True) is False
    started = backend.store.return_by_id("r1")
    assert started is not None and started.refund_amount == 1000 and started.restocked is False
    assert current(backend, "o1").history == read.history


def test_a_refund_planned_from_a_stale_order_is_refused(backend: Backend) -> None:
    order = delivered()
    backend.seed(order)
    ret = return_of(order)
    assert backend.store.add_return(return_requested(order.state, "r1"), ret, "usd")
    stale = current(backend, "o1")
    assert backend.store.begin_refund(refunding(stale.state, "r1", 1000), ret, amount=1000, restock=False)
    assert backend.store.begin_refund(refunding(stale.state, "r1", 1000), ret, amount=1000, restock=False) is False
    assert current(backend, "o1").status is OrderStatus.REFUNDING


def test_a_second_return_planned_from_stale_returns_is_refused(backend: Backend) -> None:
    order = delivered()
    backend.seed(order)
    assert backend.store.add_return(return_requested(order.state, "r1"), return_of(order, "r1", 2), "usd")
    read = current(backend, "o1")
    # another return read the order (and its returns) before r1 joined: refused, not written
    assert backend.store.add_return(return_requested(order.state, "r2"), return_of(order, "r2", 2), "usd") is False
    assert backend.store.return_by_id("r2") is None
    assert [r.return_id for r in backend.store.returns("o1")] == ["r1"]
    # planned from the order as it is now, it joins
    assert backend.store.add_return(return_requested(read.state, "r3"), return_of(order, "r3", 1), "usd") is True
    assert current(backend, "o1").returns_version == 2


def test_the_refunded_amount_never_exceeds_the_total(backend: Backend) -> None:
    order = delivered(status=OrderStatus.PARTIALLY_REFUNDED, refunded=3000, returns_version=1)
    backend.seed(order)
    ret = return_of(order, "r2")
    assert backend.store.add_return(return_requested(order.state, "r2"), ret, "usd")
    read = current(backend, "o1")
    assert backend.store.begin_refund(refunding(read.state, "r2", 200), ret, amount=200, restock=False)
    started = backend.store.return_by_id("r2")
    assert started is not None
    read = current(backend, "o1")
    # planned from a read that had not seen the 3,000 already refunded: 3,000 + 1,000 > 3,299
    stale = replace(read.state, refunded=0)
    change = refund_finished(stale, "r2", 1000, OrderStatus.PARTIALLY_REFUNDED, ())
    assert backend.store.finish_refund(change, started) is False
    after = current(backend, "o1")
    assert after.refunded == 3000 and after.status is OrderStatus.REFUNDING
    assert backend.store.return_by_id("r2") == started
    # within the total it goes through
    fitting = refund_finished(read.state, "r2", 200, OrderStatus.PARTIALLY_REFUNDED, ())
    assert backend.store.finish_refund(fitting, started) is True
    assert current(backend, "o1").refunded == 3200


# --- invoices -----------------------------------------------------------------------------------


def test_invoice_numbers_are_gapless_and_one_per_order(backend: Backend) -> None:
    year = now().year
    for order_id in ("o1", "o2", "o3"):
        backend.seed(paid_order(order_id))
    backend.seed(paid_order("o4", status=OrderStatus.CANCELLED))
    first = backend.store.issue_invoice(current(backend, "o1"), SELLER)
    assert first == invoice_number(year, 1)
    assert backend.store.issue_invoice(current(backend, "o1"), SELLER) == first
    assert backend.store.issue_invoice(paid_order("o1"), SELLER) == first
    assert backend.store.issue_invoice(current(backend, "o2"), SELLER) == invoice_number(year, 2)
    with pytest.raises(OrderNotActive):
        backend.store.issue_invoice(current(backend, "o4"), SELLER)
    with pytest.raises(OrderNotActive):
        backend.store.issue_invoice(paid_order("missing"), SELLER)
    assert backend.store.issue_invoice(current(backend, "o3"), SELLER) == invoice_number(year, 3)

    assert current(backend, "o1").invoice_number == first
    assert current(backend, "o4").invoice_number is None
    document = backend.store.invoice("o1")
    assert document is not None
    assert document["invoiceNumber"] == first and document["orderId"] == "o1" and document["seller"] == SELLER
    assert backend.store.invoice("o4") is None
    assert backend.store.invoice("missing") is None


# --- reads and marks ----------------------------------------------------------------------------


def test_orders_are_listed_by_owner_and_by_status_newest_first(backend: Backend) -> None:
    backend.seed(paid_order("o1", created_at="2026-01-01T00:00:00.000Z"))
    backend.seed(paid_order("o2", created_at="2026-01-03T00:00:00.000Z"))
    backend.seed(paid_order("o3", created_at="2026-01-02T00:00:00.000Z", owner="user-2"))
    backend.seed(confirmed("o4", created_at="2026-01-04T00:00:00.000Z"))
    mine, _ = backend.store.list_for_owner("user-1", 10, None)
    assert [o.order_id for o in mine] == ["o4", "o2", "o1"]
    assert backend.store.list_for_owner("nobody", 10, None)[0] == []
    paid, _ = backend.store.list_all("PAID", 10, None)
    assert [o.order_id for o in paid] == ["o2", "o3", "o1"]


def test_workflow_marks_are_taken_once_and_never_on_a_missing_order(backend: Backend) -> None:
    order = paid_order()
    backend.seed(order)
    assert backend.store.mark(order, "fulfilmentRequestedAt") is True
    stamped = current(backend, "o1").fulfilment_requested_at
    assert stamped
    assert backend.store.mark(order, "fulfilmentRequestedAt") is False
    assert current(backend, "o1").fulfilment_requested_at == stamped
    assert backend.store.mark(order, "emails.confirmation") is True
    assert current(backend, "o1").emails == {"confirmation": "sent"}
    missing = paid_order("missing")
    assert backend.store.mark(missing, "fulfilmentRequestedAt") is False
    assert backend.store.mark(missing, "emails.confirmation") is False
    assert backend.store.get("missing") is None
