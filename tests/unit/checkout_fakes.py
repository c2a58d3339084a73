"""In-memory checkout ports: for unit tests only."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from checkout.domain.cart import Cart, CartStatus
from checkout.domain.order import Order, Payment
from checkout.domain.pricing import DEFAULT_RULES, Totals
from checkout.service import CatalogItem, Checkout, OutOfStock
from commerce.clock import utcnow_str
from commerce.errors import Conflict
from commerce.orders import OrderLine, OrderStatus
from tests.unit.fakes import RecordingPublisher
from tests.unit.ledger_fakes import FakeLedger, FakeMoney, Record, Write, state_of


class FakeCarts:
    def __init__(self) -> None:
        self.carts: dict[str, Cart] = {}

    def create(self, cart: Cart) -> None:
        self.carts[cart.cart_id] = cart

    def claim(self, cart: Cart, owner: str) -> Cart:
        """The first owner keeps a cart; a missing cart stays missing (the cart is answered as given)."""
        current = self.carts.get(cart.cart_id)
        if current is None:
            return cart
        if current.owner is None:
            self.carts[cart.cart_id] = replace(current, owner=owner)
        return self.carts[cart.cart_id]

    def get(self, cart_id: str) -> Cart | None:
        return self.carts.get(cart_id)

    def save(self, cart: Cart) -> Cart:
        """Only over the version read, while the cart is open (a missing cart is refused too)."""
        current = self.carts.get(cart.cart_id)
        if current is None or current.version != cart.version or current.status != CartStatus.OPEN:
            raise Conflict("changed", code="cart_changed")
        saved = replace(current, items=dict(cart.items), version=cart.version + 1, updated_at=utcnow_str())
        self.carts[cart.cart_id] = saved
        return saved


class FakeStock:
    """The catalog and checkout's orders port over the shared `FakeLedger`, as the tables are:
    prices and names here, the stock counters and the order items in the ledger."""

    def __init__(self, ledger: FakeLedger) -> None:
        self.ledger = ledger
        self.inactive: set[str] = ledger.inactive
        """One set with the ledger's: placing refuses an inactive product, as the table does."""
        self.carts: FakeCarts | None = None

    def items(self, skus: list[str]) -> dict[str, CatalogItem]:
        return {
            s: CatalogItem(s, f"Product {s}", 1000, "usd", self.ledger.stock[s]["available"], s not in self.inactive)
            for s in skus
            if s in self.ledger.stock
        }

    @property
    def orders(self) -> dict[str, Order]:
        """Every order as `get` reads it (what the ledger holds now)."""
        return {order_id: _order(record) for order_id, record in self.ledger.records.items()}

    def place(self, order: Order, cart: Cart) -> Order | None:
        """`DynamoOrders.place`: the order, its reservation and the cart checked out in one
        transaction; a refusal explained by reading what is there now."""
        carts = self.carts

        def open_as_read() -> bool:
            if carts is None:
                return True
            current = carts.carts[cart.cart_id]
            return current.status == CartStatus.OPEN and current.version == cart.version

        def check_out() -> None:
            if carts is not None:
                current = carts.carts[cart.cart_id]
                carts.carts[cart.cart_id] = replace(current, status=CartStatus.CHECKED_OUT, version=current.version + 1)

        if self.ledger.place(_record(order), extra=Write(open_as_read, check_out, item=f"CART#{cart.cart_id}")):
            return None
        existing = self.get(order.order_id)
        if existing is not None:
            return existing
        stock = self.ledger.stock
        short = [
            {
                "sku": x.sku,
                "requested": x.quantity,
                "available": max(stock[x.sku]["available"], 0) if x.sku in stock else 0,
            }
            for x in order.lines
            if x.sku not in stock or stock[x.sku]["available"] < x.quantity
        ]
        if short:
            raise OutOfStock(short)
        raise Conflict("The cart changed while checking out; read it and try again.", code="cart_changed")

    def get(self, order_id: str) -> Order | None:
        record = self.ledger.record(order_id)
        return _order(record) if record is not None else None

    def set_payment(self, order_id: str, intent_id: str) -> None:
        self.ledger.set_intent(order_id, intent_id)

    def set_token(self, order_id: str, token_hash: str) -> None:
        self.ledger.set_token(order_id, token_hash)


def _record(order: Order) -> Record:
    """The order item `DynamoOrders.place` writes."""
    return {
        "orderId": order.order_id,
        "status": order.status.value,
        "email": order.email,
        "owner": order.owner,
        "cartId": order.cart_id,
        "correlationId": order.correlation_id,
        "lines": [
            {"sku": x.sku, "name": x.name, "quantity": x.quantity, "unitPrice": x.unit_price} for x in order.lines
        ],
        "subtotalAmount": order.totals.subtotal,
        "shippingAmount": order.totals.shipping,
        "taxAmount": order.totals.tax,
        "totalAmount": order.totals.total,
        "currency": order.totals.currency,
        "shippingAddress": dict(order.shipping_address),
        "orderTokenHash": order.token_hash,
        "createdAt": order.created_at,
        "updatedAt": order.created_at,
        "history": [dict(h) for h in order.history],
    }


def _order(record: Record) -> Order:
    """`checkout.adapters.dynamodb._order` over a ledger record."""
    return Order(
        order_id=record["orderId"],
        status=OrderStatus(record["status"]),
        email=record["email"],
        owner=record.get("owner"),
        cart_id=record.get("cartId") or "",
        correlation_id=record.get("correlationId"),
        lines=tuple(
            OrderLine(
                sku=str(x["sku"]), name=str(x["name"]), quantity=int(x["quantity"]), unit_price=int(x["unitPrice"])
            )
            for x in record["lines"]
        ),
        totals=Totals(
            subtotal=int(record["subtotalAmount"]),
            shipping=int(record["shippingAmount"]),
            tax=int(record["taxAmount"]),
            currency=record["currency"],
        ),
        shipping_address=dict(record["shippingAddress"]),
        token_hash=record["orderTokenHash"],
        created_at=record["createdAt"],
        payment_intent_id=record.get("paymentIntentId"),
        history=tuple(dict(h) for h in record["history"]),
        state=state_of(record),
    )


class FakePayments:
    """Behaves like Stripe's test payment methods."""

    def __init__(self) -> None:
        self.intents: dict[str, Payment] = {}
        self.created = 0
        self.problems: list[str] = []
        """What is wrong with the keys (empty: payments are configured)."""
        self.key_refused = False
        """Stripe refuses the key at payment time (AuthenticationError)."""

    def require_configured(self) -> None:
        from commerce.stripe_client import not_configured

        if self.problems:
            raise not_configured(self.problems)

    def authorize(self, order: Order, payment_method: str | None) -> Payment:
        if self.key_refused:
            from commerce.stripe_client import refused_keys

            raise refused_keys(RuntimeError("AuthenticationError"))
        if order.payment_intent_id:
            return self.intents[order.payment_intent_id]
        self.created += 1
        intent_id = f"pi_{order.order_id}"
        status = {
            None: "requires_payment_method",
            "pm_card_visa": "requires_capture",
            "pm_card_authenticationRequired": "requires_action",
        }.get(payment_method, "requires_payment_method")
        decline = "generic_decline" if payment_method == "pm_card_chargeDeclined" else None
        payment = Payment(
            intent_id,
            status,
            f"{intent_id}_secret",
            order.totals.total,
            order.totals.currency,
            order.order_id,
            decline,
        )
        self.intents[intent_id] = payment
        return payment

    def retrieve(self, intent_id: str) -> Payment:
        return self.intents[intent_id]


class FakeWorkflows:
    def __init__(self) -> None:
        self.started: set[str] = set()
        self.starts: list[str] = []
        self.expiries: dict[str, int] = {}
        self.correlations: dict[str, str | None] = {}

    def start_order(self, order_id: str, correlation_id: str | None) -> None:
        self.started.add(order_id)
        self.starts.append(order_id)
        self.correlations[order_id] = correlation_id

    def schedule_expiry(self, order_id: str, seconds: int, correlation_id: str | None) -> None:
        self.expiries[order_id] = seconds
        self.correlations[order_id] = correlation_id


class FakeHoldCounter:
    """`DynamoHoldCounter`: at most `limit` takes per key in each window of `window_seconds`
    (windows aligned to the epoch, as the table's items are keyed)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.counts: dict[tuple[str, int], int] = {}

    def take(self, key: str, limit: int, window_seconds: int) -> bool:
        window = (key, int(self.clock()) // window_seconds * window_seconds)
        if self.counts.get(window, 0) >= limit:
            return False
        self.counts[window] = self.counts.get(window, 0) + 1
        return True


class FakeWebhookLog:
    def __init__(self) -> None:
        self.handled: dict[str, str] = {}

    def seen(self, event_id: str) -> bool:
        return event_id in self.handled

    def remember(self, event_id: str, outcome: str) -> None:
        self.handled[event_id] = outcome


def make_checkout(**available: int) -> tuple[Checkout, dict[str, Any]]:
    """Checkout over in-memory ports; `available` stocks each product (nothing reserved yet).
    The payment intents are one dict, read by both `payments` and `money` (as both read Stripe)."""
    ledger = FakeLedger({sku: {"onHand": n, "reserved": 0, "available": n} for sku, n in available.items()})
    carts, stock = FakeCarts(), FakeStock(ledger)
    stock.carts = carts
    payments, workflows, publisher = FakePayments(), FakeWorkflows(), RecordingPublisher()
    money = FakeMoney(payments.intents)
    deps = Checkout(
        carts=carts,
        catalog=stock,
        orders=stock,
        ledger=ledger,
        payments=payments,
        money=money,
        workflows=workflows,
        publisher=publisher,
        rules=DEFAULT_RULES,
    )
    parts: dict[str, Any] = {
        "carts": carts,
        "stock": stock,
        "ledger": ledger,
        "payments": payments,
        "money": money,
        "workflows": workflows,
        "publisher": publisher,
    }
    return deps, parts
