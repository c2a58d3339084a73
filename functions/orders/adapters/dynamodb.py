"""Shipments, returns and invoices in the Orders table through PynamoDB; the order item itself
and the stock counters through `commerce.ledger`, their one owner. Item layout:

- `ORDER#<id>` / `ORDER`: the order, its status, history and the marks of workflow steps done
  (`commerce.ledger.OrderItem`; checkout writes it first)
- `ORDER#<id>` / `SHIPMENT#<shipment id>`: a shipment and its tracking events
- `ORDER#<id>` / `RETURN#<return id>`: a return and its refund
- `ORDER#<id>` / `INVOICE`: the invoice document
- `INVOICE_SEQ#<year>` / `SEQ`: the year's last invoice number

Every step's effect and its mark are one conditional write or one transaction: a shipment, a
return or a refund is written in the same transaction as the order change it makes."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from commerce import ledger
from commerce.clock import now, utcnow_str
from commerce.dynamo import bind, key_from_cursor, key_to_cursor, plain, refused_by_condition, retrying
from commerce.errors import TransientError
from commerce.ledger import OrderItem, transaction
from commerce.orders import Change, OrderStatus
from orders.domain.invoice import invoice_document
from orders.domain.model import (
    Line,
    Order,
    OrderNotActive,
    Shipment,
    TrackingEvent,
    TrackingStatus,
    invoice_number,
)
from orders.domain.returns import Return, ReturnLine, ReturnStatus


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


def _order(record: OrderItem) -> Order:
    state = ledger.state_of(record)
    return Order(
        order_id=record.order_id,
        status=state.status,
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
        stock_state=state.stock_state,
        payment_state=state.payment_state,
        invoice_number=record.invoice_number,
        fulfilment_requested_at=record.fulfilment_requested_at,
        emails={name: "sent" for name in (record.emails_sent or set())},
        refunded=state.refunded,
        returns_version=state.returns_version,
        end_as=state.end_as,
        refunding_return=state.refunding_return,
        updated_at=state.updated_at,
        reconcile_attempts=int(record.reconcile_attempts or 0),
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


@dataclass(frozen=True)
class WholeOrder:
    """An order with everything stored under its key: shipments, invoice and returns."""

    order: Order
    shipments: list[Shipment]
    invoice: dict[str, Any] | None
    returns: list[Return]


class DynamoOrderStore:
    """The `OrderStore` port on DynamoDB."""

    def __init__(self) -> None:
        bind("ORDERS_TABLE", ShipmentRecord, InvoiceRecord, SequenceRecord, ReturnRecord)
        ledger.bind_tables()

    # reads ------------------------------------------------------------------------------------

    def get(self, order_id: str) -> Order | None:
        try:
            return _order(OrderItem.get(*ledger.key(order_id), consistent_read=True))
        except OrderItem.DoesNotExist:
            return None

    def whole_order(self, order_id: str) -> WholeOrder | None:
        """The order, its shipments, invoice and returns in one strongly consistent Query of its
        partition (they share the key `ORDER#<id>`), where `get`, `shipments`, `invoice` and
        `returns` take four requests."""
        connection = OrderItem._get_connection()
        items: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while True:
            page = connection.query(f"ORDER#{order_id}", consistent_read=True, exclusive_start_key=start)
            items.extend(page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        order: Order | None = None
        shipments: list[Shipment] = []
        invoice: dict[str, Any] | None = None
        returns: list[Return] = []
        for item in items:
            kind = str(item.get("sk", {}).get("S", ""))
            if kind == "ORDER":
                order = _order(OrderItem.from_raw_data(item))
            elif kind.startswith("SHIPMENT#"):
                shipments.append(_shipment(ShipmentRecord.from_raw_data(item)))
            elif kind.startswith("RETURN#"):
                returns.append(_return(ReturnRecord.from_raw_data(item)))
            elif kind == "INVOICE":
                invoice = plain(InvoiceRecord.from_raw_data(item).document)
        if order is None:
            return None
        return WholeOrder(order, shipments, invoice, sorted(returns, key=lambda r: r.created_at))

    def list_for_owner(
        self, owner: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Order], dict[str, Any] | None]:
        page = OrderItem.by_owner.query(
            owner,
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=key_from_cursor(start, ("pk", "sk", "owner", "createdAt"), {"owner": owner}),
        )
        return [_order(r) for r in page], key_to_cursor(page.last_evaluated_key)

    def list_all(
        self, status: str | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Order], dict[str, Any] | None]:
        if status:
            page = OrderItem.by_status.query(
                status,
                scan_index_forward=False,
                limit=limit,
                last_evaluated_key=key_from_cursor(start, ("pk", "sk", "status", "createdAt"), {"status": status}),
            )
        else:
            page = OrderItem.scan(
                OrderItem.sk == "ORDER", limit=limit, last_evaluated_key=key_from_cursor(start, ("pk", "sk"))
            )
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

    def mark(self, order: Order, flag: str) -> bool:
        if flag.startswith("emails."):
            return ledger.add_email(order.order_id, flag.removeprefix("emails."))
        return ledger.mark_once(order.order_id, flag)

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
                if existing is None or existing.status is not OrderStatus.PAID:
                    raise OrderNotActive(f"order {order.order_id} left PAID before its invoice was issued") from exc
                continue
            return number
        raise TransientError("could not take an invoice number after 20 attempts; retry shortly", retry_after=1)

    @staticmethod
    def _take_invoice_number(
        order: Order, counter_key: tuple[str, str], current: int, number: str, document: dict[str, Any]
    ) -> None:
        """Counter, invoice and order mark in one transaction, conditioned on the counter read."""
        with transaction() as tx:
            sequence = SequenceRecord(*counter_key)
            counter_condition = SequenceRecord.seq == current if current else SequenceRecord.pk.does_not_exist()
            tx.update(sequence, actions=[SequenceRecord.seq.set(current + 1)], condition=counter_condition)
            tx.save(
                InvoiceRecord(f"ORDER#{order.order_id}", "INVOICE", invoice_number=number, document=document),
                condition=InvoiceRecord.pk.does_not_exist(),
            )
            ledger.invoice_mark(tx, order.order_id, number)

    def add_shipment(self, change: Change, shipment: Shipment) -> bool:
        """The shipment and the order's move (to SHIPPED with the first one), in one transaction."""

        def save(tx: TransactWrite) -> None:
            tx.save(
                ShipmentRecord(
                    f"ORDER#{shipment.order_id}",
                    f"SHIPMENT#{shipment.shipment_id}",
                    shipment_id=shipment.shipment_id,
                    order_id=shipment.order_id,
                    carrier=shipment.carrier,
                    tracking_number=shipment.tracking_number,
                    status=shipment.status.value,
                    created_at=shipment.created_at,
                    events=[e.to_json() for e in shipment.events],
                    version=0,
                ),
                condition=ShipmentRecord.pk.does_not_exist(),
            )

        return ledger.apply(change, extra=save)

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

    def add_return(self, change: Change, ret: Return, currency: str) -> bool:
        """The return and the order's move (RETURN_REQUESTED, returns version), in one transaction."""

        def save(tx: TransactWrite) -> None:
            tx.save(
                ReturnRecord(
                    f"ORDER#{ret.order_id}",
                    f"RETURN#{ret.return_id}",
                    return_id=ret.return_id,
                    order_id=ret.order_id,
                    status=ret.status.value,
                    lines=[line.to_json() for line in ret.lines],
                    created_at=ret.created_at,
                    currency=currency,
                ),
                condition=ReturnRecord.pk.does_not_exist(),
            )

        return ledger.apply(change, extra=save)

    def begin_refund(self, change: Change, ret: Return, *, amount: int, restock: bool) -> bool:
        """The return REFUNDING with its amount and restock choice, and the order REFUNDING."""

        def mark(tx: TransactWrite) -> None:
            tx.update(
                ReturnRecord(f"ORDER#{ret.order_id}", f"RETURN#{ret.return_id}"),
                actions=[
                    ReturnRecord.status.set(ReturnStatus.REFUNDING.value),
                    ReturnRecord.refund_amount.set(amount),
                    ReturnRecord.restocked.set("true" if restock else "false"),
                ],
                condition=ReturnRecord.status == ReturnStatus.REQUESTED.value,
            )

        return ledger.apply(change, extra=mark)

    def finish_refund(self, change: Change, ret: Return) -> bool:
        """The return REFUNDED, with the order's refunded amount, restock and status."""

        def mark(tx: TransactWrite) -> None:
            tx.update(
                ReturnRecord(f"ORDER#{ret.order_id}", f"RETURN#{ret.return_id}"),
                actions=[
                    ReturnRecord.status.set(ReturnStatus.REFUNDED.value),
                    ReturnRecord.refunded_at.set(utcnow_str()),
                ],
                condition=ReturnRecord.status == ReturnStatus.REFUNDING.value,
            )

        return ledger.apply(change, extra=mark)
