"""Orders, shipments and invoices in the Orders table, and stock in the Products table, through
PynamoDB. Item layout (the checkout service writes the first one):

- `ORDER#<id>` / `ORDER`: the order, its status, history and the marks of workflow steps done
- `ORDER#<id>` / `SHIPMENT#<shipment id>`: a shipment and its tracking events
- `ORDER#<id>` / `INVOICE`: the invoice document
- `INVOICE_SEQ#<year>` / `SEQ`: the year's last invoice number

Every step's effect and its mark are one conditional write or one transaction."""

from __future__ import annotations

import functools
from typing import Any

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from commerce.clock import now, utcnow_str
from commerce.config import region
from commerce.dynamo import bind, key_from_cursor, key_to_cursor, plain, refused_by_condition, retrying
from commerce.errors import TransientError
from commerce.orders import OrderStatus, check_transition
from orders.domain.invoice import invoice_document
from orders.domain.model import (
    Line,
    Order,
    PaymentState,
    Shipment,
    StockState,
    TrackingEvent,
    TrackingStatus,
    invoice_number,
)
from orders.domain.returns import Return, ReturnLine, ReturnStatus


class ByOwner(GlobalSecondaryIndex["OrderRecord"]):
    class Meta:
        index_name = "byOwner"
        projection = AllProjection()

    owner = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class ByStatus(GlobalSecondaryIndex["OrderRecord"]):
    class Meta:
        index_name = "byStatus"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class OrderRecord(Model):
    class Meta:
        table_name: str | None = None
        region: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    order_id = UnicodeAttribute(attr_name="orderId")
    status = UnicodeAttribute()
    email = UnicodeAttribute()
    owner = UnicodeAttribute(null=True)
    lines = ListAttribute[Any](of=MapAttribute)
    subtotal_amount = NumberAttribute(attr_name="subtotalAmount")
    shipping_amount = NumberAttribute(attr_name="shippingAmount")
    tax_amount = NumberAttribute(attr_name="taxAmount")
    total_amount = NumberAttribute(attr_name="totalAmount")
    currency = UnicodeAttribute()
    shipping_address = MapAttribute[str, Any](attr_name="shippingAddress")
    token_hash = UnicodeAttribute(attr_name="orderTokenHash")
    payment_intent_id = UnicodeAttribute(attr_name="paymentIntentId", null=True)
    created_at = UnicodeAttribute(attr_name="createdAt")
    updated_at = UnicodeAttribute(attr_name="updatedAt", null=True)
    history = ListAttribute[Any](of=MapAttribute)
    stock_state = UnicodeAttribute(attr_name="stockState", null=True)
    payment_state = UnicodeAttribute(attr_name="paymentState", null=True)
    invoice_number = UnicodeAttribute(attr_name="invoiceNumber", null=True)
    fulfilment_requested_at = UnicodeAttribute(attr_name="fulfilmentRequestedAt", null=True)
    fulfilment_accepted_at = UnicodeAttribute(attr_name="fulfilmentAcceptedAt", null=True)
    emails_sent = UnicodeSetAttribute(attr_name="emailsSent", null=True)
    refunded_amount = NumberAttribute(attr_name="refundedAmount", null=True)
    by_owner = ByOwner()
    by_status = ByStatus()


class ByShipment(GlobalSecondaryIndex["ShipmentRecord"]):
    class Meta:
        index_name = "byShipment"
        projection = AllProjection()

    shipment_id = UnicodeAttribute(hash_key=True, attr_name="shipmentId")


class ByTracking(GlobalSecondaryIndex["ShipmentRecord"]):
    class Meta:
        index_name = "byTracking"
        projection = AllProjection()

    tracking_number = UnicodeAttribute(hash_key=True, attr_name="trackingNumber")


class ShipmentRecord(Model):
    class Meta:
        table_name: str | None = None
        region: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    shipment_id = UnicodeAttribute(attr_name="shipmentId")
    order_id = UnicodeAttribute(attr_name="orderId")
    carrier = UnicodeAttribute()
    tracking_number = UnicodeAttribute(attr_name="trackingNumber")
    status = UnicodeAttribute()
    created_at = UnicodeAttribute(attr_name="createdAt")
    events = ListAttribute[Any](of=MapAttribute)
    version = NumberAttribute(default=0)
    by_shipment = ByShipment()
    by_tracking = ByTracking()


class ByReturn(GlobalSecondaryIndex["ReturnRecord"]):
    class Meta:
        index_name = "byReturn"
        projection = AllProjection()

    return_id = UnicodeAttribute(hash_key=True, attr_name="returnId")


class ReturnRecord(Model):
    class Meta:
        table_name: str | None = None
        region: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    return_id = UnicodeAttribute(attr_name="returnId")
    order_id = UnicodeAttribute(attr_name="orderId")
    status = UnicodeAttribute()
    lines = ListAttribute[Any](of=MapAttribute)
    created_at = UnicodeAttribute(attr_name="createdAt")
    refund_amount = NumberAttribute(attr_name="refundAmount", null=True)
    currency = UnicodeAttribute(null=True)
    refunded_at = UnicodeAttribute(attr_name="refundedAt", null=True)
    restocked = UnicodeAttribute(null=True)
    by_return = ByReturn()


class InvoiceRecord(Model):
    class Meta:
        table_name: str | None = None
        region: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    invoice_number = UnicodeAttribute(attr_name="invoiceNumber")
    document = MapAttribute[str, Any]()


class SequenceRecord(Model):
    class Meta:
        table_name: str | None = None
        region: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    seq = NumberAttribute(default=0)


class StockRecord(Model):
    class Meta:
        table_name: str | None = None
        region: str | None = None

    sku = UnicodeAttribute(hash_key=True)
    on_hand = NumberAttribute(attr_name="onHand", default=0)
    reserved = NumberAttribute(default=0)
    available = NumberAttribute(default=0)


def _payment_state(record: OrderRecord) -> PaymentState:
    if record.payment_state:
        return PaymentState(record.payment_state)
    pending = (OrderStatus.PENDING_PAYMENT.value, OrderStatus.PAYMENT_FAILED.value)
    return PaymentState.PENDING if record.status in pending else PaymentState.AUTHORIZED


def _order(record: OrderRecord) -> Order:
    return Order(
        order_id=record.order_id,
        status=OrderStatus(record.status),
        email=record.email,
        owner=record.owner,
        lines=tuple(
            Line(str(x["sku"]), str(x["name"]), int(x["quantity"]), int(x["unitPrice"])) for x in plain(record.lines)
        ),
        subtotal=int(record.subtotal_amount),
        shipping=int(record.shipping_amount),
        tax=int(record.tax_amount),
        total=int(record.total_amount),
        currency=record.currency,
        shipping_address=plain(record.shipping_address),
        token_hash=record.token_hash,
        created_at=record.created_at,
        payment_intent_id=record.payment_intent_id,
        history=tuple(plain(record.history)),
        stock_state=StockState(record.stock_state or StockState.RESERVED),
        payment_state=_payment_state(record),
        invoice_number=record.invoice_number,
        fulfilment_requested_at=record.fulfilment_requested_at,
        emails={name: "sent" for name in (record.emails_sent or set())},
    )


def _shipment(record: ShipmentRecord) -> Shipment:
    return Shipment(
        shipment_id=record.shipment_id,
        order_id=record.order_id,
        carrier=record.carrier,
        tracking_number=record.tracking_number,
        status=TrackingStatus(record.status),
        created_at=record.created_at,
        events=tuple(
            TrackingEvent(TrackingStatus(e["status"]), str(e["at"]), e.get("location")) for e in plain(record.events)
        ),
    )


def _return(record: ReturnRecord) -> Return:
    return Return(
        return_id=record.return_id,
        order_id=record.order_id,
        status=ReturnStatus(record.status),
        lines=tuple(
            ReturnLine(str(x["sku"]), int(x["quantity"]), str(x.get("reason") or "")) for x in plain(record.lines)
        ),
        created_at=record.created_at,
        refund_amount=None if record.refund_amount is None else int(record.refund_amount),
        refunded_at=record.refunded_at,
        restocked=record.restocked == "true",
    )


def _history_entry(status: OrderStatus, note: str) -> dict[str, str]:
    return {"status": status.value, "at": utcnow_str(), "note": note}


def _key(order_id: str) -> tuple[str, str]:
    return f"ORDER#{order_id}", "ORDER"


def _transaction() -> TransactWrite:
    return TransactWrite(connection=Connection(region=region()))


class DynamoOrderStore:
    """The `OrderStore` port on DynamoDB."""

    def __init__(self) -> None:
        bind("ORDERS_TABLE", OrderRecord, ShipmentRecord, InvoiceRecord, SequenceRecord, ReturnRecord)

    # reads ------------------------------------------------------------------------------------

    def get(self, order_id: str) -> Order | None:
        try:
            return _order(OrderRecord.get(*_key(order_id), consistent_read=True))
        except OrderRecord.DoesNotExist:
            return None

    def list_for_owner(
        self, owner: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Order], dict[str, Any] | None]:
        page = OrderRecord.by_owner.query(
            owner, scan_index_forward=False, limit=limit, last_evaluated_key=key_from_cursor(start)
        )
        return [_order(r) for r in page], key_to_cursor(page.last_evaluated_key)

    def list_all(
        self, status: str | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Order], dict[str, Any] | None]:
        if status:
            page = OrderRecord.by_status.query(
                status, scan_index_forward=False, limit=limit, last_evaluated_key=key_from_cursor(start)
            )
        else:
            page = OrderRecord.scan(OrderRecord.sk == "ORDER", limit=limit, last_evaluated_key=key_from_cursor(start))
        orders = sorted((_order(r) for r in page), key=lambda o: o.created_at, reverse=True)
        return orders, key_to_cursor(page.last_evaluated_key)

    def invoice(self, order_id: str) -> dict[str, Any] | None:
        try:
            document: dict[str, Any] = plain(
                InvoiceRecord.get(f"ORDER#{order_id}", "INVOICE", consistent_read=True).document
            )
            return document
        except InvoiceRecord.DoesNotExist:
            return None

    def shipments(self, order_id: str) -> list[Shipment]:
        records = ShipmentRecord.query(
            f"ORDER#{order_id}", ShipmentRecord.sk.startswith("SHIPMENT#"), consistent_read=True
        )
        return [_shipment(r) for r in records]

    def shipment(self, shipment_id: str) -> Shipment | None:
        found = list(ShipmentRecord.by_shipment.query(shipment_id, limit=1))
        if not found:
            return None
        try:
            return _shipment(ShipmentRecord.get(found[0].pk, found[0].sk, consistent_read=True))
        except ShipmentRecord.DoesNotExist:
            return None

    def shipment_by_tracking(self, tracking_number: str) -> Shipment | None:
        found = list(ShipmentRecord.by_tracking.query(tracking_number, limit=1))
        return self.shipment(found[0].shipment_id) if found else None

    # writes -----------------------------------------------------------------------------------

    def transition(self, order: Order, target: OrderStatus, note: str) -> bool:
        check_transition(order.status, target)
        stamp = utcnow_str()
        try:
            retrying(
                lambda: OrderRecord(*_key(order.order_id)).update(
                    actions=[
                        OrderRecord.status.set(target.value),
                        OrderRecord.updated_at.set(stamp),
                        OrderRecord.history.set(
                            OrderRecord.history.append([{"status": target.value, "at": stamp, "note": note}])
                        ),
                    ],
                    condition=OrderRecord.status == order.status.value,
                ),
                what="order transition",
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def set_payment_state(self, order: Order, target: PaymentState) -> bool:
        current = order.payment_state.value
        condition = (OrderRecord.payment_state == current) | OrderRecord.payment_state.does_not_exist()
        try:
            retrying(
                lambda: OrderRecord(*_key(order.order_id)).update(
                    actions=[OrderRecord.payment_state.set(target.value), OrderRecord.updated_at.set(utcnow_str())],
                    condition=condition,
                ),
                what="order write",
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def mark(self, order: Order, flag: str) -> bool:
        record = OrderRecord(*_key(order.order_id))
        if flag.startswith("emails."):
            name = flag.removeprefix("emails.")
            retrying(lambda: record.update(actions=[OrderRecord.emails_sent.add({name})]), what="order write")
            return True
        attribute = {"fulfilmentRequestedAt": OrderRecord.fulfilment_requested_at}.get(flag)
        if attribute is None:
            attribute = {"fulfilmentAcceptedAt": OrderRecord.fulfilment_accepted_at}[flag]
        try:
            retrying(
                lambda: record.update(actions=[attribute.set(utcnow_str())], condition=attribute.does_not_exist()),
                what="order write",
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _stock_step(self, order: Order, *, expected: StockState, target: StockState, moves: dict[str, int]) -> bool:
        """Move every line's stock by `moves` (attribute -> quantity sign) and the order's stock
        state from `expected` to `target`, in one transaction."""
        bind("PRODUCTS_TABLE", StockRecord)
        order_state = OrderRecord.stock_state == expected.value
        if expected is StockState.RESERVED:
            order_state = order_state | OrderRecord.stock_state.does_not_exist()
        attributes = {
            "onHand": StockRecord.on_hand,
            "reserved": StockRecord.reserved,
            "available": StockRecord.available,
        }

        def move() -> None:
            with _transaction() as tx:
                tx.update(
                    OrderRecord(*_key(order.order_id)),
                    actions=[OrderRecord.stock_state.set(target.value), OrderRecord.updated_at.set(utcnow_str())],
                    condition=order_state,
                )
                for line in order.lines:
                    decrements = [attributes[name] >= line.quantity for name, sign in moves.items() if sign < 0]
                    condition = decrements[0] if decrements else StockRecord.sku.exists()
                    for extra in decrements[1:]:
                        condition = condition & extra
                    tx.update(
                        StockRecord(line.sku),
                        actions=[attributes[name].add(sign * line.quantity) for name, sign in moves.items()],
                        condition=condition,
                    )

        try:
            retrying(move, what="stock move")
        except TransactWriteError as exc:
            if refused_by_condition(exc):
                return False
            raise
        return True

    def commit_stock(self, order: Order) -> bool:
        return self._stock_step(
            order,
            expected=StockState.RESERVED,
            target=StockState.COMMITTED,
            moves={"onHand": -1, "reserved": -1},
        )

    def return_stock(self, order: Order) -> bool:
        if order.stock_state is StockState.RESERVED:
            return self._stock_step(
                order,
                expected=StockState.RESERVED,
                target=StockState.RELEASED,
                moves={"reserved": -1, "available": 1},
            )
        if order.stock_state is StockState.COMMITTED:
            return self._stock_step(
                order,
                expected=StockState.COMMITTED,
                target=StockState.RESTORED,
                moves={"onHand": 1, "available": 1},
            )
        return False

    def issue_invoice(self, order: Order, seller: dict[str, str]) -> str:
        """Gapless and sequential per year: the counter moves only in the transaction that
        writes the invoice and marks the order, conditioned on the value read."""
        issued = now()
        counter_key = (f"INVOICE_SEQ#{issued.year}", "SEQ")
        for _ in range(20):
            try:
                current = int(SequenceRecord.get(*counter_key, consistent_read=True).seq)
            except SequenceRecord.DoesNotExist:
                current = 0
            number = invoice_number(issued.year, current + 1)
            document = invoice_document(order, number=number, issued_at=utcnow_str(), seller=seller)
            try:
                retrying(
                    functools.partial(self._take_invoice_number, order, counter_key, current, number, document),
                    what="invoice write",
                )
            except TransactWriteError as exc:
                if not refused_by_condition(exc):
                    raise
                existing = self.get(order.order_id)
                if existing is not None and existing.invoice_number:
                    return existing.invoice_number
                continue
            return number
        raise TransientError("could not take an invoice number after 20 attempts; retry shortly", retry_after=1)

    @staticmethod
    def _take_invoice_number(
        order: Order, counter_key: tuple[str, str], current: int, number: str, document: dict[str, Any]
    ) -> None:
        """Counter, invoice and order mark in one transaction, conditioned on the counter read."""
        with _transaction() as tx:
            sequence = SequenceRecord(*counter_key)
            counter_condition = SequenceRecord.seq == current if current else SequenceRecord.pk.does_not_exist()
            tx.update(sequence, actions=[SequenceRecord.seq.set(current + 1)], condition=counter_condition)
            tx.save(
                InvoiceRecord(f"ORDER#{order.order_id}", "INVOICE", invoice_number=number, document=document),
                condition=InvoiceRecord.pk.does_not_exist(),
            )
            tx.update(
                OrderRecord(*_key(order.order_id)),
                actions=[OrderRecord.invoice_number.set(number)],
                condition=OrderRecord.invoice_number.does_not_exist(),
            )

    def add_shipment(self, order: Order, shipment: Shipment) -> None:
        retrying(lambda: self._add_shipment(order, shipment), what="shipment write")

    def _add_shipment(self, order: Order, shipment: Shipment) -> None:
        stamp = shipment.created_at
        with _transaction() as tx:
            tx.save(
                ShipmentRecord(
                    f"ORDER#{order.order_id}",
                    f"SHIPMENT#{shipment.shipment_id}",
                    shipment_id=shipment.shipment_id,
                    order_id=order.order_id,
                    carrier=shipment.carrier,
                    tracking_number=shipment.tracking_number,
                    status=shipment.status.value,
                    created_at=stamp,
                    events=[e.to_json() for e in shipment.events],
                    version=0,
                ),
                condition=ShipmentRecord.pk.does_not_exist(),
            )
            actions: list[Any] = [OrderRecord.updated_at.set(stamp)]
            if order.status is OrderStatus.CONFIRMED:
                entry = {"status": OrderStatus.SHIPPED.value, "at": stamp, "note": f"shipped with {shipment.carrier}"}
                actions += [
                    OrderRecord.status.set(OrderStatus.SHIPPED.value),
                    OrderRecord.history.set(OrderRecord.history.append([entry])),
                ]
            tx.update(
                OrderRecord(*_key(order.order_id)), actions=actions, condition=OrderRecord.status == order.status.value
            )

    def save_shipment(self, before: Shipment, after: Shipment) -> bool:
        try:
            retrying(
                lambda: ShipmentRecord(f"ORDER#{before.order_id}", f"SHIPMENT#{before.shipment_id}").update(
                    actions=[
                        ShipmentRecord.status.set(after.status.value),
                        ShipmentRecord.events.set([e.to_json() for e in after.events]),
                        ShipmentRecord.version.add(1),
                    ],
                    condition=ShipmentRecord.events == [e.to_json() for e in before.events],
                ),
                what="shipment write",
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # returns ----------------------------------------------------------------------------------

    def returns(self, order_id: str) -> list[Return]:
        records = ReturnRecord.query(f"ORDER#{order_id}", ReturnRecord.sk.startswith("RETURN#"), consistent_read=True)
        return sorted((_return(r) for r in records), key=lambda r: r.created_at)

    def return_by_id(self, return_id: str) -> Return | None:
        found = list(ReturnRecord.by_return.query(return_id, limit=1))
        if not found:
            return None
        try:
            return _return(ReturnRecord.get(found[0].pk, found[0].sk, consistent_read=True))
        except ReturnRecord.DoesNotExist:
            return None

    def add_return(self, order: Order, ret: Return) -> None:
        retrying(lambda: self._add_return(order, ret), what="return write")

    def _add_return(self, order: Order, ret: Return) -> None:
        with _transaction() as tx:
            tx.save(
                ReturnRecord(
                    f"ORDER#{order.order_id}",
                    f"RETURN#{ret.return_id}",
                    return_id=ret.return_id,
                    order_id=order.order_id,
                    status=ret.status.value,
                    lines=[line.to_json() for line in ret.lines],
                    created_at=ret.created_at,
                    currency=order.currency,
                ),
                condition=ReturnRecord.pk.does_not_exist(),
            )
            actions: list[Any] = [OrderRecord.updated_at.set(ret.created_at)]
            if order.status is not OrderStatus.RETURN_REQUESTED:
                check_transition(order.status, OrderStatus.RETURN_REQUESTED)
                entry = _history_entry(OrderStatus.RETURN_REQUESTED, f"return {ret.return_id} requested")
                actions += [
                    OrderRecord.status.set(OrderStatus.RETURN_REQUESTED.value),
                    OrderRecord.history.set(OrderRecord.history.append([entry])),
                ]
            tx.update(
                OrderRecord(*_key(order.order_id)), actions=actions, condition=OrderRecord.status == order.status.value
            )

    def complete_refund(
        self, order: Order, ret: Return, *, amount: int, restock: bool, order_status: OrderStatus
    ) -> bool:
        stamp = utcnow_str()

        def refund() -> None:
            with _transaction() as tx:
                tx.update(
                    ReturnRecord(f"ORDER#{order.order_id}", f"RETURN#{ret.return_id}"),
                    actions=[
                        ReturnRecord.status.set(ReturnStatus.REFUNDED.value),
                        ReturnRecord.refund_amount.set(amount),
                        ReturnRecord.refunded_at.set(stamp),
                        ReturnRecord.restocked.set("true" if restock else "false"),
                    ],
                    condition=ReturnRecord.status == ReturnStatus.REQUESTED.value,
                )
                if restock:
                    bind("PRODUCTS_TABLE", StockRecord)
                    for line in ret.lines:
                        tx.update(
                            StockRecord(line.sku),
                            actions=[StockRecord.on_hand.add(line.quantity), StockRecord.available.add(line.quantity)],
                            condition=StockRecord.sku.exists(),
                        )
                actions: list[Any] = [OrderRecord.refunded_amount.add(amount), OrderRecord.updated_at.set(stamp)]
                if order_status is not order.status:
                    check_transition(order.status, order_status)
                    entry = _history_entry(order_status, f"return {ret.return_id} refunded")
                    actions += [
                        OrderRecord.status.set(order_status.value),
                        OrderRecord.history.set(OrderRecord.history.append([entry])),
                    ]
                tx.update(
                    OrderRecord(*_key(order.order_id)),
                    actions=actions,
                    condition=OrderRecord.status == order.status.value,
                )

        try:
            retrying(refund, what="refund write")
        except TransactWriteError as exc:
            if refused_by_condition(exc):
                return False
            raise
        return True
