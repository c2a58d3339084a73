"""The one owner of the order item and the stock counters: every write to an order
(`ORDER#<id>` / `ORDER` in the Orders table) and to a product's `onHand`/`reserved`/`available`
on an order's behalf goes through here, as one conditional write or one transaction.

Why the shared layer: checkout (placing, payment, expiry, the Stripe webhook) and orders (the
workflow, cancellation, shipping, returns, the reconciler) both move orders, and each deploys
its own asset; the layer is the one module both import. The lifecycle's rules are pure, in
`commerce.orders`; this module writes a planned `Change` with the conditions that make it
safe: the order's status (and stock and payment states when they move) as the caller read
them, the stock counters never below zero, refunds never above the total.

The product item is declared once, in `commerce.records.products`. Inventory's stock
adjustments (receiving goods, counting) change `onHand` and `available` of the same item by
their own conditional write; they never touch `reserved` or an order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from commerce import dynamo
from commerce.clock import utcnow_str
from commerce.dynamo import bind, plain, refused_by_condition, retrying
from commerce.orders import (
    STOCK_MOVES,
    Change,
    OrderState,
    OrderStatus,
    PaymentState,
    StockState,
)
from commerce.records import products
from commerce.records.products import ACTIVE, PRODUCT, ProductItem

Extra = Callable[[TransactWrite], None]
"""More items written in the same transaction (a shipment, a return, the cart checked out)."""


class ByOwner(GlobalSecondaryIndex["OrderItem"]):
    class Meta:
        index_name = "byOwner"
        projection = AllProjection()

    owner = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class ByStatus(GlobalSecondaryIndex["OrderItem"]):
    class Meta:
        index_name = "byStatus"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True, attr_name="createdAt")


class OrderItem(Model):
    """`ORDER#<id>` / `ORDER` in the Orders table."""

    class Meta:
        table_name: str | None = None
        region: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    order_id = UnicodeAttribute(attr_name="orderId")
    status = UnicodeAttribute()
    email = UnicodeAttribute()
    owner = UnicodeAttribute(null=True)
    cart_id = UnicodeAttribute(attr_name="cartId", null=True)
    correlation_id = UnicodeAttribute(attr_name="correlationId", null=True)
    """The checkout request's correlation id: the order's events, workflow and messages carry it."""
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
    decline_code = UnicodeAttribute(attr_name="declineCode", null=True)
    stock_state = UnicodeAttribute(attr_name="stockState", null=True)
    payment_state = UnicodeAttribute(attr_name="paymentState", null=True)
    end_as = UnicodeAttribute(attr_name="endAs", null=True)
    refunding_return = UnicodeAttribute(attr_name="refundingReturn", null=True)
    returns_version = NumberAttribute(attr_name="returnsVersion", null=True)
    refunded_amount = NumberAttribute(attr_name="refundedAmount", null=True)
    reconcile_attempts = NumberAttribute(attr_name="reconcileAttempts", null=True)
    invoice_number = UnicodeAttribute(attr_name="invoiceNumber", null=True)
    fulfilment_requested_at = UnicodeAttribute(attr_name="fulfilmentRequestedAt", null=True)
    fulfilment_accepted_at = UnicodeAttribute(attr_name="fulfilmentAcceptedAt", null=True)
    emails_sent = UnicodeSetAttribute(attr_name="emailsSent", null=True)
    by_owner = ByOwner()
    by_status = ByStatus()


_COUNTERS = {"onHand": ProductItem.on_hand, "reserved": ProductItem.reserved, "available": ProductItem.available}
_FACTS = {
    "paymentIntentId": OrderItem.payment_intent_id,
    "declineCode": OrderItem.decline_code,
    "endAs": OrderItem.end_as,
    "refundingReturn": OrderItem.refunding_return,
}


def bind_tables() -> None:
    """Point the models at their tables; the Products table only for functions that have one
    (the stock is bound when a change moves it)."""
    bind("ORDERS_TABLE", OrderItem)


def bind_stock() -> None:
    products.bind_tables()


transaction = dynamo.transaction


ORDER_PREFIX = "ORDER#"
"""The partition of an order: its order item and the items `commerce.records.fulfilment` owns."""
ORDER = "ORDER"
"""The sort key of the order item."""


def key(order_id: str) -> tuple[str, str]:
    return f"{ORDER_PREFIX}{order_id}", ORDER


def order_lines(item: OrderItem) -> tuple[tuple[str, int], ...]:
    return tuple((str(x["sku"]), int(x["quantity"])) for x in plain(item.lines))


def _payment_state(item: OrderItem) -> PaymentState:
    if item.payment_state:
        return PaymentState(item.payment_state)
    pending = (OrderStatus.PENDING_PAYMENT.value, OrderStatus.PAYMENT_FAILED.value)
    return PaymentState.PENDING if item.status in pending else PaymentState.AUTHORIZED


def state_of(item: OrderItem) -> OrderState:
    return OrderState(
        order_id=item.order_id,
        status=OrderStatus(item.status),
        lines=order_lines(item),
        total=int(item.total_amount),
        currency=item.currency,
        stock_state=StockState(item.stock_state or StockState.RESERVED),
        payment_state=_payment_state(item),
        payment_intent_id=item.payment_intent_id,
        refunded=int(item.refunded_amount or 0),
        returns_version=int(item.returns_version or 0),
        end_as=OrderStatus(item.end_as) if item.end_as else None,
        refunding_return=item.refunding_return,
        updated_at=item.updated_at or item.created_at,
        correlation_id=item.correlation_id,
    )


def read(order_id: str) -> OrderItem | None:
    bind_tables()
    try:
        return OrderItem.get(*key(order_id), consistent_read=True)
    except OrderItem.DoesNotExist:
        return None


def state(order_id: str) -> OrderState | None:
    item = read(order_id)
    return state_of(item) if item is not None else None


def _stock_updates(tx: TransactWrite, lines: tuple[tuple[str, int], ...], moves: dict[str, int]) -> None:
    bind_stock()
    for sku, quantity in lines:
        decrements = [_COUNTERS[name] >= quantity for name, sign in moves.items() if sign < 0]
        condition = decrements[0] if decrements else ProductItem.sku.exists()
        for more in decrements[1:]:
            condition = condition & more
        tx.update(
            ProductItem(sku),
            actions=[_COUNTERS[name].add(sign * quantity) for name, sign in moves.items()],
            condition=condition,
        )


def _order_update(change: Change, stamp: str) -> tuple[list[Any], Any]:
    order = change.order
    actions: list[Any] = [OrderItem.updated_at.set(stamp)]
    condition = OrderItem.status == order.status.value
    if change.status is not None and change.status is not order.status:
        entry = {"status": change.status.value, "at": stamp, "note": change.note}
        actions += [OrderItem.status.set(change.status.value), OrderItem.history.set(OrderItem.history.append([entry]))]
        if order.status is OrderStatus.REFUNDING:
            actions.append(OrderItem.refunding_return.remove())
    if change.stock is not None:
        required, target, _ = STOCK_MOVES[change.stock]
        actions.append(OrderItem.stock_state.set(target.value))
        held = OrderItem.stock_state == required.value
        if required is StockState.RESERVED:
            held = held | OrderItem.stock_state.does_not_exist()
        condition = condition & held
    if change.payment is not None:
        actions.append(OrderItem.payment_state.set(change.payment.value))
        was = OrderItem.payment_state == order.payment_state.value
        if order.payment_state in (PaymentState.PENDING, PaymentState.AUTHORIZED):
            was = was | OrderItem.payment_state.does_not_exist()
        condition = condition & was
    if change.returns_version:
        actions.append(OrderItem.returns_version.add(1))
        same = OrderItem.returns_version == order.returns_version
        if order.returns_version == 0:
            same = same | OrderItem.returns_version.does_not_exist()
        condition = condition & same
    if change.refund:
        actions.append(OrderItem.refunded_amount.add(change.refund))
        room = OrderItem.refunded_amount <= order.total - change.refund
        if change.refund <= order.total:
            room = room | OrderItem.refunded_amount.does_not_exist()
        condition = condition & room
    actions += [_FACTS[name].set(value) for name, value in change.facts.items() if value]
    return actions, condition


def apply(change: Change, *, extra: Extra | None = None) -> bool:
    """Write `change` as one transaction: the order item (conditioned on what the change was
    planned from), each line's stock counters, any restock, and `extra`. False when a condition
    refused it (someone moved the order first; read it again and decide anew). Conflicts and
    throttling are retried (`commerce.dynamo.retrying`)."""
    bind_tables()
    stamp = utcnow_str()
    actions, condition = _order_update(change, stamp)

    def write() -> None:
        with transaction() as tx:
            tx.update(OrderItem(*key(change.order.order_id)), actions=actions, condition=condition)
            if change.stock is not None:
                _stock_updates(tx, change.order.lines, STOCK_MOVES[change.stock][2])
            if change.restock:
                _stock_updates(tx, change.restock, {"onHand": 1, "available": 1})
            if extra is not None:
                extra(tx)

    try:
        retrying(write, what="order change")
    except TransactWriteError as exc:
        if refused_by_condition(exc):
            return False
        raise
    return True


def place(item: OrderItem, *, extra: Extra | None = None) -> None:
    """Write a new order PENDING_PAYMENT with every line reserved (each product active and with
    enough available), in one transaction with `extra`. Raises the TransactWriteError of a
    refused transaction for the caller to explain (out of stock, cart changed, order exists)."""
    bind_tables()
    bind_stock()
    item.stock_state = StockState.RESERVED.value
    item.payment_state = PaymentState.PENDING.value
    lines = order_lines(item)

    def write() -> None:
        with transaction() as tx:
            tx.save(item, condition=OrderItem.pk.does_not_exist())
            for sku, quantity in lines:
                tx.update(
                    ProductItem(sku),
                    actions=[ProductItem.reserved.add(quantity), ProductItem.available.add(-quantity)],
                    condition=(ProductItem.kind == PRODUCT)
                    & (ProductItem.status == ACTIVE)
                    & (ProductItem.available >= quantity),
                )
            if extra is not None:
                extra(tx)

    retrying(write, what="stock reservation")


def _update(order_id: str, actions: list[Any], condition: Any) -> bool:
    bind_tables()
    try:
        retrying(lambda: OrderItem(*key(order_id)).update(actions=actions, condition=condition), what="order write")
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def set_intent(order_id: str, intent_id: str) -> bool:
    """The payment intent of an order still waiting for payment."""
    return _update(
        order_id,
        [OrderItem.payment_intent_id.set(intent_id), OrderItem.updated_at.set(utcnow_str())],
        OrderItem.status == OrderStatus.PENDING_PAYMENT.value,
    )


def set_token(order_id: str, token_hash: str) -> bool:
    return _update(order_id, [OrderItem.token_hash.set(token_hash)], OrderItem.pk.exists())


def add_email(order_id: str, name: str) -> bool:
    return _update(order_id, [OrderItem.emails_sent.add({name})], OrderItem.pk.exists())


def mark_once(order_id: str, flag: str) -> bool:
    """Stamp a workflow mark (`fulfilmentRequestedAt`, `fulfilmentAcceptedAt`) once, on an order
    that exists (an update of a missing key would create a stray item holding only the mark)."""
    attribute = {
        "fulfilmentRequestedAt": OrderItem.fulfilment_requested_at,
        "fulfilmentAcceptedAt": OrderItem.fulfilment_accepted_at,
    }[flag]
    return _update(order_id, [attribute.set(utcnow_str())], OrderItem.pk.exists() & attribute.does_not_exist())


def note_reconciled(order: OrderState) -> int | None:
    """Count a reconciler's attempt on an order still as read (one conditional ADD, the new count
    read back from the write) and stamp it, so the restarted workflow has its whole timeout
    before the order counts as stuck again; the count names the restarted execution. None when
    the order moved meanwhile."""
    bind_tables()
    item = OrderItem(*key(order.order_id))
    condition = (OrderItem.status == order.status.value) & (OrderItem.updated_at == order.updated_at)
    try:
        retrying(
            lambda: item.update(
                actions=[OrderItem.reconcile_attempts.add(1), OrderItem.updated_at.set(utcnow_str())],
                condition=condition,
            ),
            what="order write",
        )
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return None
        raise
    return int(item.reconcile_attempts or 0)


def invoice_mark(tx: TransactWrite, order_id: str, number: str) -> None:
    """The order's invoice number, written in the invoice's own transaction, once, while the
    order is PAID (a cancellation that won the race gets no invoice)."""
    bind_tables()
    tx.update(
        OrderItem(*key(order_id)),
        actions=[OrderItem.invoice_number.set(number)],
        condition=OrderItem.invoice_number.does_not_exist() & (OrderItem.status == OrderStatus.PAID.value),
    )


def stuck(status: OrderStatus, updated_before: str, limit: int = 100) -> list[OrderState]:
    """Orders in `status` not changed since `updated_before` (ISO time), oldest first."""
    bind_tables()
    from itertools import islice

    found = OrderItem.by_status.query(status.value, filter_condition=OrderItem.updated_at < updated_before)
    return [state_of(item) for item in islice(found, limit)]


class DynamoLedger:
    """The `commerce.settlement.Ledger` port on DynamoDB."""

    def state(self, order_id: str) -> OrderState | None:
        return state(order_id)

    def apply(self, change: Change, *, extra: Extra | None = None) -> bool:
        return apply(change, extra=extra)

    def stuck(self, status: OrderStatus, updated_before: str, limit: int) -> list[OrderState]:
        return stuck(status, updated_before, limit)

    def note_reconciled(self, order: OrderState) -> int | None:
        return note_reconciled(order)
