"""The orders service's `OrderStore` on DynamoDB. The Orders table's items have two owners in the
shared layer, and this package reads and writes them through those:

- `ORDER#<id>` / `ORDER`: the order, its status, history and the marks of workflow steps done
  (`commerce.ledger`, with the stock counters; checkout writes it first)
- `ORDER#<id>` / `SHIPMENT#<id>`, `RETURN#<id>`, `INVOICE` and `INVOICE_SEQ#<year>` / `SEQ`
  (`commerce.records.fulfilment`)

Here: order reads (one order, a customer's, all by status, a whole order in one Query) and
workflow marks. Shipments, returns and invoices each have a module beside this one
(`shipments.py`, `returns.py`, `invoices.py`); `DynamoOrderStore` is all of them at once, the
store `orders.bootstrap` wires.

Every step's effect and its mark are one conditional write or one transaction: a shipment, a
return or a refund is written in the same transaction as the order change it makes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from commerce import ledger
from commerce.dynamo import key_from_cursor, key_to_cursor, plain
from commerce.ledger import OrderItem
from commerce.orders import OrderLine
from commerce.records import fulfilment
from commerce.records.fulfilment import (
    INVOICE,
    RETURN_PREFIX,
    SHIPMENT_PREFIX,
    InvoiceRecord,
    ReturnRecord,
    ShipmentRecord,
)
from orders.adapters.invoices import DynamoInvoices
from orders.adapters.returns import DynamoReturns, return_of
from orders.adapters.shipments import DynamoShipments, shipment_of
from orders.domain.model import Order, Shipment
from orders.domain.returns import Return


def order_of(record: OrderItem) -> Order:
    state = ledger.state_of(record)
    return Order(
        order_id=record.order_id,
        status=state.status,
        email=record.email,
        owner=record.owner,
        lines=tuple(OrderLine.from_item(x) for x in plain(record.lines)),
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


@dataclass(frozen=True)
class WholeOrder:
    """An order with everything stored under its key: shipments, invoice and returns."""

    order: Order
    shipments: list[Shipment]
    invoice: dict[str, Any] | None
    returns: list[Return]


class DynamoOrderStore(DynamoShipments, DynamoReturns, DynamoInvoices):
    """The `OrderStore` port on DynamoDB: order reads and marks here, shipments, returns and
    invoices from their modules."""

    def __init__(self) -> None:
        fulfilment.bind_tables()
        ledger.bind_tables()

    # reads ------------------------------------------------------------------------------------

    def get(self, order_id: str) -> Order | None:
        try:
            return order_of(OrderItem.get(*ledger.key(order_id), consistent_read=True))
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
            page = connection.query(fulfilment.partition(order_id), consistent_read=True, exclusive_start_key=start)
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
            if kind == ledger.ORDER:
                order = order_of(OrderItem.from_raw_data(item))
            elif kind.startswith(SHIPMENT_PREFIX):
                shipments.append(shipment_of(ShipmentRecord.from_raw_data(item)))
            elif kind.startswith(RETURN_PREFIX):
                returns.append(return_of(ReturnRecord.from_raw_data(item)))
            elif kind == INVOICE:
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
        return [order_of(r) for r in page], key_to_cursor(page.last_evaluated_key)

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
        orders = sorted((order_of(r) for r in page), key=lambda o: o.created_at, reverse=True)
        return orders, key_to_cursor(page.last_evaluated_key)

    # writes -----------------------------------------------------------------------------------

    def mark(self, order: Order, flag: str) -> bool:
        if flag.startswith("emails."):
            return ledger.add_email(order.order_id, flag.removeprefix("emails."))
        return ledger.mark_once(order.order_id, flag)
