"""Carts and the Stripe webhook log in DynamoDB through PynamoDB; the cart items' model through
`commerce.records.carts` (their one owner: customers also exports and deletes carts); the
catalog's prices and stock, and orders, through `commerce.ledger` (the one owner of the order
item and the stock counters).

Checkout writes the order and reserves every line in one transaction across the Orders and
Products tables (with the cart checked out), so stock is held for exactly the orders that exist.
Every write goes through `commerce.dynamo.retrying`: a transaction cancelled by a conflict or
throttling applied nothing and is run again; one cancelled by its conditions is explained by
reading what is there now."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from checkout.domain.cart import Cart, CartStatus
from checkout.domain.order import Order
from checkout.domain.pricing import Totals
from checkout.service import CatalogItem, OutOfStock
from commerce import ledger
from commerce.clock import utcnow_str
from commerce.dynamo import bind, plain, refused_by_condition, retrying
from commerce.ledger import OrderItem
from commerce.orders import OrderLine, OrderStatus
from commerce.records import carts as cart_records
from commerce.records.carts import CartRecord
from commerce.records.products import ProductItem

CART_DAYS = 30


class WebhookRecord(Model):
    """A handled Stripe event, in the Carts table under `STRIPE_EVENT#<id>`, kept 30 days."""

    class Meta:
        table_name: str | None = None
        region: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    outcome = UnicodeAttribute()
    expires_at = NumberAttribute(attr_name="expiresAt")


class HoldRecord(Model):
    """Guest checkouts counted per email or client address in a window, in the Carts table under
    `HOLDS#<key>#<window start>`, gone (TTL) after the window."""

    class Meta:
        table_name: str | None = None
        region: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    taken = NumberAttribute(attr_name="count", default=0)
    expires_at = NumberAttribute(attr_name="expiresAt")


def _bind() -> None:
    cart_records.bind_tables()
    bind("CARTS_TABLE", WebhookRecord, HoldRecord)
    ledger.bind_tables()
    ledger.bind_stock()


# --- carts -----------------------------------------------------------------------------------


def _cart(record: CartRecord) -> Cart:
    items = {str(k): int(v) for k, v in plain(record.items or {}).items()}
    return Cart(
        cart_id=cart_records.cart_id_of(record),
        token_hash=record.token_hash,
        owner=record.owner,
        items=items,
        status=record.status,
        version=int(record.version),
        updated_at=record.updated_at,
    )


def _expiry() -> int:
    import time

    return int(time.time()) + CART_DAYS * 86400


class DynamoCarts:
    def __init__(self) -> None:
        _bind()

    def create(self, cart: Cart) -> None:
        record = CartRecord(
            *cart_records.key(cart.cart_id),
            token_hash=cart.token_hash,
            owner=cart.owner,
            items={},
            status=cart.status,
            version=0,
            updated_at=cart.updated_at,
            expires_at=_expiry(),
        )
        retrying(lambda: record.save(condition=CartRecord.pk.does_not_exist()), what="cart write")

    def get(self, cart_id: str) -> Cart | None:
        try:
            return _cart(CartRecord.get(*cart_records.key(cart_id), consistent_read=True))
        except CartRecord.DoesNotExist:
            return None

    def claim(self, cart: Cart, owner: str) -> Cart:
        """A guest cart joins a customer's account, once: the first owner keeps it. A cart that is
        not there stays so (an update of a missing key would create a cart holding only an owner)."""
        record = CartRecord(*cart_records.key(cart.cart_id))
        try:
            retrying(
                lambda: record.update(
                    actions=[CartRecord.owner.set(owner)],
                    condition=CartRecord.pk.exists() & CartRecord.owner.does_not_exist(),
                ),
                what="cart write",
            )
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
        return self.get(cart.cart_id) or cart

    def save(self, cart: Cart) -> Cart:
        """Optimistic: the write holds only if nobody changed the cart since it was read."""
        from commerce.errors import Conflict

        record = CartRecord(*cart_records.key(cart.cart_id))
        actions: list[Any] = [
            CartRecord.items.set(dict(cart.items)),
            CartRecord.version.set(cart.version + 1),
            CartRecord.updated_at.set(utcnow_str()),
            CartRecord.expires_at.set(_expiry()),
        ]
        condition = (CartRecord.version == cart.version) & (CartRecord.status == CartStatus.OPEN)
        try:
            retrying(lambda: record.update(actions=actions, condition=condition), what="cart write")
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise Conflict("The cart changed meanwhile; read it and try again.", code="cart_changed") from exc
            raise
        return _cart(record)


# --- catalog ---------------------------------------------------------------------------------


class DynamoCatalog:
    def __init__(self) -> None:
        _bind()

    def items(self, skus: list[str]) -> dict[str, CatalogItem]:
        found: dict[str, CatalogItem] = {}
        for record in ProductItem.batch_get(list(dict.fromkeys(skus))):
            if record.kind != "product":
                continue
            found[record.sku] = CatalogItem(
                sku=record.sku,
                name=record.name or record.sku,
                unit_price=int(record.price_amount or 0),
                currency=record.currency or "usd",
                available=int(record.available or 0),
                active=record.status == "ACTIVE",
            )
        return found


# --- orders ----------------------------------------------------------------------------------


def _order(record: OrderItem) -> Order:
    lines = tuple(OrderLine.from_item(x) for x in plain(record.lines))
    return Order(
        order_id=record.order_id,
        status=OrderStatus(record.status),
        email=record.email,
        owner=record.owner,
        cart_id=record.cart_id or "",
        lines=lines,
        totals=Totals(
            subtotal=int(record.subtotal_amount),
            shipping=int(record.shipping_amount),
            tax=int(record.tax_amount),
            currency=record.currency,
        ),
        shipping_address=plain(record.shipping_address),
        token_hash=record.token_hash,
        created_at=record.created_at,
        payment_intent_id=record.payment_intent_id,
        history=tuple(plain(record.history)),
        state=ledger.state_of(record),
        correlation_id=record.correlation_id,
    )


class DynamoOrders:
    def __init__(self) -> None:
        _bind()

    def get(self, order_id: str) -> Order | None:
        record = ledger.read(order_id)
        return _order(record) if record is not None else None

    def place(self, order: Order, cart: Cart) -> Order | None:
        record = OrderItem(
            *ledger.key(order.order_id),
            order_id=order.order_id,
            status=order.status.value,
            email=order.email,
            owner=order.owner,
            cart_id=order.cart_id,
            correlation_id=order.correlation_id,
            lines=[x.to_item() for x in order.lines],
            subtotal_amount=order.totals.subtotal,
            shipping_amount=order.totals.shipping,
            tax_amount=order.totals.tax,
            total_amount=order.totals.total,
            currency=order.totals.currency,
            shipping_address=order.shipping_address,
            token_hash=order.token_hash,
            created_at=order.created_at,
            updated_at=order.created_at,
            history=list(order.history),
        )

        def check_out(tx: TransactWrite) -> None:
            tx.update(
                CartRecord(*cart_records.key(cart.cart_id)),
                actions=[CartRecord.status.set(CartStatus.CHECKED_OUT), CartRecord.version.add(1)],
                condition=(CartRecord.status == CartStatus.OPEN) & (CartRecord.version == cart.version),
            )

        try:
            ledger.place(record, extra=check_out)
        except TransactWriteError as exc:
            return self._explain_refused_placement(exc, order)
        return None

    def _explain_refused_placement(self, exc: TransactWriteError, order: Order) -> Order:
        """Only a transaction refused by its conditions is explained (conflicts and throttling were
        retried by `retrying` and never reach here as out of stock)."""
        from commerce.errors import Conflict

        if not refused_by_condition(exc):
            raise exc
        existing = self.get(order.order_id)
        if existing is not None:
            return existing
        stock = {r.sku: r for r in ProductItem.batch_get([line.sku for line in order.lines])}
        shortages = [
            {"sku": line.sku, "requested": line.quantity, "available": max(int(stock[line.sku].available), 0)}
            if line.sku in stock
            else {"sku": line.sku, "requested": line.quantity, "available": 0}
            for line in order.lines
            if line.sku not in stock or int(stock[line.sku].available) < line.quantity
        ]
        if shortages:
            raise OutOfStock(shortages) from exc
        raise Conflict("The cart changed while checking out; read it and try again.", code="cart_changed") from exc

    def set_payment(self, order_id: str, intent_id: str) -> None:
        ledger.set_intent(order_id, intent_id)

    def set_token(self, order_id: str, token_hash: str) -> None:
        ledger.set_token(order_id, token_hash)


class DynamoHoldCounter:
    """The `HoldCounter` port: one conditional increment per key and window."""

    def __init__(self) -> None:
        _bind()

    def take(self, key: str, limit: int, window_seconds: int) -> bool:
        import time

        if limit <= 0:  # the condition below lets a window's first take through
            return False
        start = int(time.time()) // window_seconds * window_seconds
        record = HoldRecord(f"HOLDS#{key}#{start}", "HOLDS")
        try:
            retrying(
                lambda: record.update(
                    actions=[HoldRecord.taken.add(1), HoldRecord.expires_at.set(start + 2 * window_seconds)],
                    condition=HoldRecord.taken.does_not_exist() | (HoldRecord.taken < limit),
                ),
                what="hold counter write",
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True


class DynamoWebhookLog:
    def __init__(self) -> None:
        _bind()

    def seen(self, event_id: str) -> bool:
        try:
            WebhookRecord.get(f"STRIPE_EVENT#{event_id}", "EVENT", consistent_read=True)
        except WebhookRecord.DoesNotExist:
            return False
        return True

    def remember(self, event_id: str, outcome: str) -> None:
        record = WebhookRecord(f"STRIPE_EVENT#{event_id}", "EVENT", outcome=outcome, expires_at=_expiry())
        retrying(record.save, what="webhook log write")
