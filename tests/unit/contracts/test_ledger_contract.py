"""`commerce.ledger` (orders and the stock counters, on DynamoDB through moto) and
`tests.unit.ledger_fakes.FakeLedger` answer alike: placing reserves stock and never oversells,
each order change is all or nothing and is refused (False, nothing written) when the order or
the counters are not as it was planned from, and the single-item writes answer False on a
missing or moved order."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from commerce import orders as lifecycle
from commerce.orders import Change, OrderState, OrderStatus, PaymentState, StockState
from tests.unit.contracts.conftest import BACKENDS, Tables
from tests.unit.ledger_fakes import FakeLedger, Record, Write, order_record

CREATED = "2026-01-01T00:00:00.000Z"


class Marker(Model):
    """Another item of the Orders table, written in an order change's transaction (`extra`)."""

    class Meta:
        table_name: str | None = None
        region: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    note = UnicodeAttribute(null=True)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class FakeDriver:
    def __init__(self) -> None:
        self.ledger = FakeLedger()
        self.markers: dict[str, str | None] = {}

    def stock(self, sku: str, on_hand: int, *, reserved: int = 0, active: bool = True) -> None:
        self.ledger.stock[sku] = {"onHand": on_hand, "reserved": reserved, "available": on_hand - reserved}
        if not active:
            self.ledger.inactive.add(sku)

    def counters(self, sku: str) -> dict[str, int]:
        return dict(self.ledger.stock[sku])

    def seed(self, record: Record) -> None:
        self.ledger.add(record)

    def record(self, order_id: str) -> Record | None:
        return self.ledger.record(order_id)

    def place(self, record: Record) -> bool:
        return self.ledger.place(record)

    def state(self, order_id: str) -> OrderState | None:
        return self.ledger.state(order_id)

    def apply(self, change: Change, *, marker: str | None = None, note: str = "") -> bool:
        """With `marker`: the same transaction also writes that marker item, which must exist."""
        if marker is None:
            return self.ledger.apply(change)
        name = marker

        def write() -> None:
            self.markers[name] = note

        return self.ledger.apply(change, extra=Write(lambda: name in self.markers, write, item=f"MARK#{name}"))

    def add_marker(self, name: str) -> None:
        self.markers[name] = None

    def marker(self, name: str) -> str | None:
        return self.markers.get(name)

    def invoice(self, order_id: str, number: str) -> bool:
        write = self.ledger.invoice_mark(order_id, number)
        if not write.condition():
            return False
        write.action()
        return True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ledger, name)


class DynamoDriver:
    def __init__(self) -> None:
        from commerce import ledger
        from commerce.dynamo import bind
        from commerce.ledger import OrderItem

        bind("ORDERS_TABLE", Marker)
        self.ledger = ledger
        self.names = {attribute.attr_name: name for name, attribute in OrderItem.get_attributes().items()}

    def stock(self, sku: str, on_hand: int, *, reserved: int = 0, active: bool = True) -> None:
        from commerce.records.products import ProductItem

        self.ledger.bind_stock()
        ProductItem(
            sku,
            kind="product",
            name=sku,
            status="ACTIVE" if active else "DRAFT",
            price_amount=1000,
            currency="usd",
            on_hand=on_hand,
            reserved=reserved,
            available=on_hand - reserved,
        ).save()

    def counters(self, sku: str) -> dict[str, int]:
        from commerce.records.products import ProductItem

        item = ProductItem.get(sku, consistent_read=True)
        return {"onHand": int(item.on_hand), "reserved": int(item.reserved), "available": int(item.available)}

    def _item(self, record: Record) -> Any:
        from commerce.ledger import OrderItem

        values = {self.names[name]: value for name, value in record.items() if value is not None}
        return OrderItem(*self.ledger.key(record["orderId"]), **values)

    def seed(self, record: Record) -> None:
        self.ledger.bind_tables()
        self._item(record).save()

    def record(self, order_id: str) -> Record | None:
        from boto3.dynamodb.types import TypeDeserializer

        item = self.ledger.read(order_id)
        if item is None:
            return None
        deserializer = TypeDeserializer()
        found = {name: _plain(deserializer.deserialize(value)) for name, value in item.serialize().items()}
        found.pop("pk")
        found.pop("sk")
        return found

    def place(self, record: Record) -> bool:
        from pynamodb.exceptions import TransactWriteError

        from commerce.dynamo import refused_by_condition

        try:
            self.ledger.place(self._item(record))
        except TransactWriteError as exc:
            if refused_by_condition(exc):
                return False
            raise
        return True

    def state(self, order_id: str) -> OrderState | None:
        return self.ledger.state(order_id)

    def apply(self, change: Change, *, marker: str | None = None, note: str = "") -> bool:
        if marker is None:
            return self.ledger.apply(change)
        name = marker

        def extra(tx: Any) -> None:
            tx.update(Marker(f"MARK#{name}", "MARK"), actions=[Marker.note.set(note)], condition=Marker.pk.exists())

        return self.ledger.apply(change, extra=extra)

    def add_marker(self, name: str) -> None:
        Marker(f"MARK#{name}", "MARK").save()

    def marker(self, name: str) -> str | None:
        try:
            return Marker.get(f"MARK#{name}", "MARK", consistent_read=True).note
        except Marker.DoesNotExist:
            return None

    def invoice(self, order_id: str, number: str) -> bool:
        from pynamodb.exceptions import TransactWriteError

        try:
            with self.ledger.transaction() as tx:
                self.ledger.invoice_mark(tx, order_id, number)
        except TransactWriteError:
            return False
        return True

    def set_intent(self, order_id: str, intent_id: str) -> bool:
        return self.ledger.set_intent(order_id, intent_id)

    def set_token(self, order_id: str, token_hash: str) -> bool:
        return self.ledger.set_token(order_id, token_hash)

    def add_email(self, order_id: str, name: str) -> bool:
        return self.ledger.add_email(order_id, name)

    def mark_once(self, order_id: str, flag: str) -> bool:
        return self.ledger.mark_once(order_id, flag)

    def note_reconciled(self, order: OrderState) -> int | None:
        return self.ledger.note_reconciled(order)

    def stuck(self, status: OrderStatus, updated_before: str, limit: int = 100) -> list[OrderState]:
        return self.ledger.stuck(status, updated_before, limit)


Driver = FakeDriver | DynamoDriver


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Driver:
    if request.param == "fake":
        return FakeDriver()
    from commerce.ledger import OrderItem
    from commerce.records.products import ProductItem

    tables: Tables = request.getfixturevalue("dynamo")
    tables.table("ORDERS_TABLE", OrderItem, Marker)
    tables.table("PRODUCTS_TABLE", ProductItem)
    return DynamoDriver()


# --- helpers -----------------------------------------------------------------------------------


def new_order(order_id: str, lines: dict[str, int], *, total: int = 3000, created_at: str = CREATED) -> Record:
    """An order as checkout places it (PENDING_PAYMENT, nothing reserved yet)."""
    state = OrderState(order_id, OrderStatus.PENDING_PAYMENT, tuple(lines.items()), total, updated_at=created_at)
    record = order_record(state, created_at=created_at)
    record.pop("stockState")
    record.pop("paymentState")
    record.update(shippingAddress={"line1": "1 Main St", "city": "Springfield"}, orderTokenHash="h" * 64)
    return record


def seeded(store: Driver, state: OrderState, *, created_at: str = CREATED) -> OrderState:
    """An order already in `state` (its stock counters are the test's to set)."""
    record = order_record(state, created_at=created_at)
    record.update(shippingAddress={"line1": "1 Main St"}, orderTokenHash="h" * 64)
    store.seed(record)
    found = store.state(state.order_id)
    assert found is not None
    return found


def placed(store: Driver, order_id: str = "o-1", lines: dict[str, int] | None = None) -> OrderState:
    assert store.place(new_order(order_id, lines or {"TEA-1": 2})) is True
    found = store.state(order_id)
    assert found is not None
    return found


# --- placing -----------------------------------------------------------------------------------


def test_placing_reserves_every_line(store: Driver) -> None:
    store.stock("TEA-1", 5)
    store.stock("MUG-1", 3, reserved=1)
    order = placed(store, "o-1", {"TEA-1": 2, "MUG-1": 2})
    assert (order.status, order.stock_state, order.payment_state) == (
        OrderStatus.PENDING_PAYMENT,
        StockState.RESERVED,
        PaymentState.PENDING,
    )
    assert order.lines == (("TEA-1", 2), ("MUG-1", 2))
    assert store.counters("TEA-1") == {"onHand": 5, "reserved": 2, "available": 3}
    assert store.counters("MUG-1") == {"onHand": 3, "reserved": 3, "available": 0}


def test_placing_never_oversells(store: Driver) -> None:
    store.stock("TEA-1", 3)
    placed(store, "o-1", {"TEA-1": 2})
    assert store.place(new_order("o-2", {"TEA-1": 2})) is False
    assert store.state("o-2") is None
    assert store.counters("TEA-1") == {"onHand": 3, "reserved": 2, "available": 1}
    placed(store, "o-3", {"TEA-1": 1})
    assert store.counters("TEA-1") == {"onHand": 3, "reserved": 3, "available": 0}


def test_placing_is_all_or_nothing(store: Driver) -> None:
    store.stock("TEA-1", 5)
    store.stock("MUG-1", 1)
    assert store.place(new_order("o-1", {"TEA-1": 2, "MUG-1": 2})) is False
    assert store.state("o-1") is None
    assert store.counters("TEA-1") == {"onHand": 5, "reserved": 0, "available": 5}
    assert store.counters("MUG-1") == {"onHand": 1, "reserved": 0, "available": 1}


def test_placing_an_unknown_or_inactive_product_is_refused(store: Driver) -> None:
    store.stock("TEA-1", 5, active=False)
    assert store.place(new_order("o-1", {"TEA-1": 1})) is False
    assert store.place(new_order("o-2", {"NOPE-1": 1})) is False
    assert store.state("o-1") is None and store.state("o-2") is None
    assert store.counters("TEA-1") == {"onHand": 5, "reserved": 0, "available": 5}


def test_placing_the_same_order_again_reserves_nothing_more(store: Driver) -> None:
    store.stock("TEA-1", 5)
    placed(store, "o-1", {"TEA-1": 2})
    assert store.place(new_order("o-1", {"TEA-1": 2})) is False
    assert store.counters("TEA-1") == {"onHand": 5, "reserved": 2, "available": 3}


def test_a_missing_order_reads_as_none(store: Driver) -> None:
    assert store.state("nope") is None
    assert store.record("nope") is None


# --- order changes -----------------------------------------------------------------------------


def test_paying_committing_and_confirming(store: Driver) -> None:
    store.stock("TEA-1", 5)
    order = placed(store)
    assert store.apply(lifecycle.authorized(order, "pi_1")) is True
    paid = store.state("o-1")
    assert paid is not None
    assert (paid.status, paid.payment_state, paid.payment_intent_id) == (
        OrderStatus.PAID,
        PaymentState.AUTHORIZED,
        "pi_1",
    )
    assert store.apply(lifecycle.captured(paid)) is True
    captured = store.state("o-1")
    assert captured is not None
    assert store.apply(lifecycle.committed(captured)) is True
    assert store.counters("TEA-1") == {"onHand": 3, "reserved": 0, "available": 3}
    committed = store.state("o-1")
    assert committed is not None
    assert (committed.payment_state, committed.stock_state) == (PaymentState.CAPTURED, StockState.COMMITTED)
    assert store.apply(lifecycle.confirmed(committed)) is True
    record = store.record("o-1")
    assert record is not None
    assert record["status"] == "CONFIRMED"
    assert [h["status"] for h in record["history"]] == ["PENDING_PAYMENT", "PAID", "CONFIRMED"]
    assert record["updatedAt"] > CREATED


def test_a_change_planned_from_a_stale_read_is_refused_and_writes_nothing(store: Driver) -> None:
    store.stock("TEA-1", 5)
    order = placed(store)
    assert store.apply(lifecycle.authorized(order, "pi_1")) is True
    before = store.record("o-1")
    # planned from the PENDING_PAYMENT read: the order is PAID now
    assert store.apply(lifecycle.cancelling(order, "too late")) is False
    assert store.apply(lifecycle.authorized(order, "pi_2")) is False
    assert store.record("o-1") == before
    assert store.counters("TEA-1") == {"onHand": 5, "reserved": 2, "available": 3}


def test_committing_twice_takes_the_stock_once(store: Driver) -> None:
    store.stock("TEA-1", 5)
    order = placed(store)
    assert store.apply(lifecycle.authorized(order, "pi_1")) is True
    paid = store.state("o-1")
    assert paid is not None
    change = lifecycle.committed(paid)
    assert store.apply(change) is True
    assert store.apply(change) is False  # the retry of a step that had succeeded
    assert store.counters("TEA-1") == {"onHand": 3, "reserved": 0, "available": 3}


def test_releasing_twice_gives_the_stock_back_once(store: Driver) -> None:
    store.stock("TEA-1", 5)
    order = placed(store)
    change = lifecycle.cancelling(order, "customer asked")
    assert store.apply(change) is True
    assert store.apply(change) is False
    assert store.counters("TEA-1") == {"onHand": 5, "reserved": 0, "available": 5}
    after = store.state("o-1")
    assert after is not None
    assert (after.status, after.stock_state, after.end_as) == (
        OrderStatus.CANCELLING,
        StockState.RELEASED,
        OrderStatus.CANCELLED,
    )


def test_a_payment_failure_releases_the_reservation(store: Driver) -> None:
    store.stock("TEA-1", 5)
    order = placed(store)
    assert store.apply(lifecycle.declined(order, "card_declined", "declined")) is True
    after = store.record("o-1")
    assert after is not None
    assert (after["status"], after["stockState"], after["declineCode"]) == (
        "PAYMENT_FAILED",
        "RELEASED",
        "card_declined",
    )
    assert store.counters("TEA-1") == {"onHand": 5, "reserved": 0, "available": 5}


def test_restoring_committed_stock_on_cancellation(store: Driver) -> None:
    store.stock("TEA-1", 3)
    order = seeded(
        store,
        OrderState(
            "o-1",
            OrderStatus.CONFIRMED,
            (("TEA-1", 2),),
            3000,
            stock_state=StockState.COMMITTED,
            payment_state=PaymentState.CAPTURED,
            updated_at=CREATED,
        ),
    )
    assert store.apply(lifecycle.cancelling(order, "staff")) is True
    assert store.counters("TEA-1") == {"onHand": 5, "reserved": 0, "available": 5}
    after = store.state("o-1")
    assert after is not None and after.stock_state is StockState.RESTORED


def test_a_stock_move_the_counters_cannot_cover_is_refused_whole(store: Driver) -> None:
    """The counters never go below zero: an order whose product lost its reservation (a broken
    count) cannot commit, and its status does not move either."""
    store.stock("TEA-1", 5, reserved=1)
    order = seeded(
        store,
        OrderState(
            "o-1",
            OrderStatus.PAID,
            (("TEA-1", 2),),
            3000,
            payment_state=PaymentState.AUTHORIZED,
            updated_at=CREATED,
        ),
    )
    before = store.record("o-1")
    assert store.apply(lifecycle.committed(order)) is False
    assert store.apply(lifecycle.cancelling(order, "staff")) is False
    assert store.record("o-1") == before
    assert store.counters("TEA-1") == {"onHand": 5, "reserved": 1, "available": 4}


def test_a_change_on_an_order_of_an_unknown_product_is_refused(store: Driver) -> None:
    order = seeded(
        store,
        OrderState("o-1", OrderStatus.DELIVERED, (("GONE-1", 1),), 3000, payment_state=PaymentState.CAPTURED),
    )
    returned = lifecycle.return_requested(order, "r-1")
    assert store.apply(returned) is True
    requested = store.state("o-1")
    assert requested is not None
    refunding = lifecycle.refunding(requested, "r-1", 1000)
    assert store.apply(refunding) is True
    now = store.state("o-1")
    assert now is not None
    finished = lifecycle.refund_finished(now, "r-1", 1000, OrderStatus.PARTIALLY_REFUNDED, (("GONE-1", 1),))
    assert store.apply(finished) is False  # restocking a product that is not there
    still = store.state("o-1")
    assert still is not None and still.status is OrderStatus.REFUNDING and still.refunded == 0


def test_a_change_on_a_missing_order_is_refused(store: Driver) -> None:
    store.stock("TEA-1", 5, reserved=2)
    ghost = OrderState("ghost", OrderStatus.PAID, (("TEA-1", 2),), 3000, payment_state=PaymentState.AUTHORIZED)
    assert store.apply(lifecycle.committed(ghost)) is False
    assert store.state("ghost") is None
    assert store.counters("TEA-1") == {"onHand": 5, "reserved": 2, "available": 3}


def test_refunds_never_exceed_the_total(store: Driver) -> None:
    store.stock("TEA-1", 5)
    order = seeded(
        store,
        OrderState(
            "o-1",
            OrderStatus.REFUNDING,
            (("TEA-1", 2),),
            3000,
            stock_state=StockState.COMMITTED,
            payment_state=PaymentState.CAPTURED,
            refunded=2000,
            refunding_return="r-1",
            updated_at=CREATED,
        ),
    )
    too_much = lifecycle.refund_finished(order, "r-1", 1500, OrderStatus.REFUNDED, ())
    assert store.apply(too_much) is False
    exact = lifecycle.refund_finished(order, "r-1", 1000, OrderStatus.REFUNDED, (("TEA-1", 1),))
    assert store.apply(exact) is True
    after = store.record("o-1")
    assert after is not None
    assert (after["status"], after["refundedAmount"]) == ("REFUNDED", 3000)
    assert "refundingReturn" not in after
    assert store.counters("TEA-1") == {"onHand": 6, "reserved": 0, "available": 6}


def test_returns_are_counted_against_the_version_read(store: Driver) -> None:
    order = seeded(
        store,
        OrderState("o-1", OrderStatus.DELIVERED, (("TEA-1", 1),), 3000, payment_state=PaymentState.CAPTURED),
    )
    assert store.apply(lifecycle.return_requested(order, "r-1")) is True
    first = store.state("o-1")
    assert first is not None and first.returns_version == 1
    # a second return planned from the same (version 0) read lost the race
    stale = Change(order=first.__class__(**{**_fields(first), "returns_version": 0}), note="x", returns_version=True)
    assert store.apply(stale) is False
    assert store.apply(lifecycle.return_requested(first, "r-2")) is True
    second = store.state("o-1")
    assert second is not None and second.returns_version == 2


def _fields(state: OrderState) -> dict[str, Any]:
    return {name: getattr(state, name) for name in OrderState.__dataclass_fields__}


def test_the_payment_state_must_be_as_read(store: Driver) -> None:
    order = seeded(
        store,
        OrderState(
            "o-1",
            OrderStatus.CANCELLING,
            (("TEA-1", 1),),
            3000,
            stock_state=StockState.RELEASED,
            payment_state=PaymentState.AUTHORIZED,
        ),
    )
    assert store.apply(lifecycle.money_settled(order, PaymentState.VOIDED)) is True
    assert store.apply(lifecycle.money_settled(order, PaymentState.VOIDED)) is False
    voided = store.state("o-1")
    assert voided is not None and voided.payment_state is PaymentState.VOIDED
    assert store.apply(lifecycle.cancel_finished(voided)) is True
    ended = store.state("o-1")
    assert ended is not None and ended.status is OrderStatus.CANCELLED


def test_an_extra_write_commits_with_the_change_or_neither_does(store: Driver) -> None:
    store.stock("TEA-1", 5)
    order = placed(store)
    change = lifecycle.authorized(order, "pi_1")
    assert store.apply(change, marker="absent", note="paid") is False  # the extra's condition fails
    assert store.marker("absent") is None
    still = store.state("o-1")
    assert still is not None and still.status is OrderStatus.PENDING_PAYMENT
    store.add_marker("m-1")
    assert store.apply(change, marker="m-1", note="paid") is True
    assert store.marker("m-1") == "paid"
    paid = store.state("o-1")
    assert paid is not None and paid.status is OrderStatus.PAID


# --- single writes -----------------------------------------------------------------------------


def test_the_payment_intent_is_set_only_while_waiting_for_payment(store: Driver) -> None:
    store.stock("TEA-1", 5)
    order = placed(store)
    assert store.set_intent("o-1", "pi_1") is True
    assert store.state("o-1") == _with(order, payment_intent_id="pi_1", updated_at=_updated(store, "o-1"))
    assert store.set_intent("nope", "pi_2") is False
    assert store.state("nope") is None
    assert store.apply(lifecycle.cancelling(order, "customer")) is True
    assert store.set_intent("o-1", "pi_3") is False
    after = store.state("o-1")
    assert after is not None and after.payment_intent_id == "pi_1"


def _with(state: OrderState, **changes: Any) -> OrderState:
    return OrderState(**{**_fields(state), **changes})


def _updated(store: Driver, order_id: str) -> str:
    record = store.record(order_id)
    assert record is not None
    return str(record["updatedAt"])


def test_token_and_emails_are_written_on_existing_orders_only(store: Driver) -> None:
    store.stock("TEA-1", 5)
    placed(store)
    assert store.set_token("o-1", "t" * 64) is True
    assert store.add_email("o-1", "confirmation") is True
    assert store.add_email("o-1", "confirmation") is True
    assert store.add_email("o-1", "shipped") is True
    record = store.record("o-1")
    assert record is not None
    assert record["orderTokenHash"] == "t" * 64
    assert record["emailsSent"] == {"confirmation", "shipped"}
    assert store.set_token("nope", "t" * 64) is False
    assert store.add_email("nope", "confirmation") is False
    assert store.record("nope") is None


def test_a_workflow_mark_is_stamped_once(store: Driver) -> None:
    store.stock("TEA-1", 5)
    placed(store)
    assert store.mark_once("o-1", "fulfilmentRequestedAt") is True
    first = store.record("o-1")
    assert first is not None
    assert store.mark_once("o-1", "fulfilmentRequestedAt") is False
    assert store.record("o-1") == first
    assert store.mark_once("o-1", "fulfilmentAcceptedAt") is True


def test_a_workflow_mark_on_a_missing_order_writes_nothing(store: Driver) -> None:
    assert store.mark_once("nope", "fulfilmentRequestedAt") is False
    assert store.record("nope") is None


def test_the_invoice_number_is_marked_once_and_only_on_a_paid_order(store: Driver) -> None:
    store.stock("TEA-1", 5)
    order = placed(store)
    assert store.invoice("o-1", "INV-1") is False  # still PENDING_PAYMENT
    assert store.apply(lifecycle.authorized(order, "pi_1")) is True
    assert store.invoice("o-1", "INV-1") is True
    assert store.invoice("o-1", "INV-2") is False
    record = store.record("o-1")
    assert record is not None and record["invoiceNumber"] == "INV-1"
    assert store.invoice("nope", "INV-3") is False


def test_a_reconciler_attempt_counts_on_the_order_as_read(store: Driver) -> None:
    store.stock("TEA-1", 5)
    order = placed(store)
    assert store.note_reconciled(order) == 1
    assert store.note_reconciled(order) is None  # stamped: the read is stale now
    again = store.state("o-1")
    assert again is not None
    assert again.updated_at > order.updated_at
    assert store.note_reconciled(again) == 2
    ghost = _with(order, order_id="nope")
    assert store.note_reconciled(ghost) is None
    assert store.state("nope") is None


def test_a_reconciler_attempt_on_an_order_never_stamped_is_refused(store: Driver) -> None:
    record = order_record(OrderState("o-1", OrderStatus.PAID, (("TEA-1", 1),), 1000), created_at=CREATED)
    record.pop("updatedAt")
    record.update(shippingAddress={"line1": "1 Main St"}, orderTokenHash="h" * 64)
    store.seed(record)
    order = store.state("o-1")
    assert order is not None and order.updated_at == CREATED
    assert store.note_reconciled(order) is None
    after = store.record("o-1")
    assert after is not None and "reconcileAttempts" not in after


def test_stuck_orders_by_status_oldest_first(store: Driver) -> None:
    def order(order_id: str, status: OrderStatus, created: str, updated: str) -> None:
        seeded(store, OrderState(order_id, status, (("TEA-1", 1),), 1000, updated_at=updated), created_at=created)

    order("o-3", OrderStatus.PAID, "2026-01-03T00:00:00.000Z", "2026-01-03T00:00:00.000Z")
    order("o-1", OrderStatus.PAID, "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z")
    order("o-2", OrderStatus.PAID, "2026-01-02T00:00:00.000Z", "2026-01-09T00:00:00.000Z")  # touched lately
    order("o-4", OrderStatus.CANCELLING, "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z")
    order("o-5", OrderStatus.PAID, "2026-01-04T00:00:00.000Z", "2026-01-04T00:00:00.000Z")
    before = "2026-01-05T00:00:00.000Z"
    assert [o.order_id for o in store.stuck(OrderStatus.PAID, before, 100)] == ["o-1", "o-3", "o-5"]
    assert [o.order_id for o in store.stuck(OrderStatus.PAID, before, 2)] == ["o-1", "o-3"]
    assert [o.order_id for o in store.stuck(OrderStatus.CANCELLING, before, 100)] == ["o-4"]
    assert store.stuck(OrderStatus.REFUNDING, before, 100) == []


def test_an_unknown_fact_is_a_programming_error(store: Driver) -> None:
    store.stock("TEA-1", 5)
    order = placed(store)
    with pytest.raises(KeyError):
        store.apply(Change(order=order, note="x", facts={"nonsense": "1"}))
    assert store.state("o-1") == order
