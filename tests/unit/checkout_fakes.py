"""In-memory checkout ports: for unit tests only."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from checkout.domain.cart import Cart, CartStatus
from checkout.domain.order import Order, Payment
from checkout.domain.pricing import DEFAULT_RULES
from checkout.service import CatalogItem, Checkout, OutOfStock
from commerce.errors import Conflict
from commerce.orders import OrderStatus, check_transition
from tests.unit.fakes import RecordingPublisher


class FakeCarts:
    def __init__(self) -> None:
        self.carts: dict[str, Cart] = {}

    def create(self, cart: Cart) -> None:
        self.carts[cart.cart_id] = cart

    def claim(self, cart: Cart, owner: str) -> Cart:
        current = self.carts[cart.cart_id]
        if current.owner is None:
            self.carts[cart.cart_id] = replace(current, owner=owner)
        return self.carts[cart.cart_id]

    def get(self, cart_id: str) -> Cart | None:
        return self.carts.get(cart_id)

    def save(self, cart: Cart) -> Cart:
        if self.carts[cart.cart_id].version != cart.version:
            raise Conflict("changed", code="cart_changed")
        saved = replace(cart, version=cart.version + 1)
        self.carts[cart.cart_id] = saved
        return saved


class FakeStock:
    """Catalog and orders share the stock, as the tables do."""

    def __init__(self, **available: int) -> None:
        self.available = dict(available)
        self.reserved = dict.fromkeys(available, 0)
        self.orders: dict[str, Order] = {}
        self.carts: FakeCarts | None = None

    def items(self, skus: list[str]) -> dict[str, CatalogItem]:
        return {
            s: CatalogItem(s, f"Product {s}", 1000, "usd", self.available[s], True) for s in skus if s in self.available
        }

    def place(self, order: Order, cart: Cart) -> None:
        if order.order_id in self.orders:
            return
        short = [
            {"sku": x.sku, "requested": x.quantity, "available": self.available[x.sku]}
            for x in order.lines
            if self.available[x.sku] < x.quantity
        ]
        if short:
            raise OutOfStock(short)
        for line in order.lines:
            self.available[line.sku] -= line.quantity
            self.reserved[line.sku] += line.quantity
        self.orders[order.order_id] = order
        if self.carts is not None:
            self.carts.carts[cart.cart_id] = replace(cart, status=CartStatus.CHECKED_OUT)

    def get(self, order_id: str) -> Order | None:
        return self.orders.get(order_id)

    def set_payment(self, order_id: str, intent_id: str) -> None:
        self.orders[order_id] = replace(self.orders[order_id], payment_intent_id=intent_id)

    def set_token(self, order_id: str, token_hash: str) -> None:
        self.orders[order_id] = replace(self.orders[order_id], token_hash=token_hash)

    def transition(
        self,
        order: Order,
        target: OrderStatus,
        note: str,
        *,
        release_stock: bool,
        facts: dict[str, str] | None = None,
    ) -> bool:
        check_transition(order.status, target)
        current = self.orders[order.order_id]
        if current.status is not order.status:
            return False
        if release_stock:
            for line in order.lines:
                self.available[line.sku] += line.quantity
                self.reserved[line.sku] -= line.quantity
        history = (*current.history, {"status": target.value, "at": "now", "note": note})
        intent = (facts or {}).get("paymentIntentId") or current.payment_intent_id
        self.orders[order.order_id] = replace(current, status=target, history=history, payment_intent_id=intent)
        return True


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

    def cancel(self, intent_id: str) -> None:
        self.intents[intent_id] = replace(self.intents[intent_id], status="canceled")


class FakeWorkflows:
    def __init__(self) -> None:
        self.started: set[str] = set()
        self.expiries: dict[str, int] = {}
        self.expiries_cancelled: set[str] = set()

    def start_order(self, order_id: str) -> None:
        self.started.add(order_id)

    def schedule_expiry(self, order_id: str, seconds: int) -> None:
        self.expiries[order_id] = seconds

    def cancel_expiry(self, order_id: str) -> None:
        self.expiries_cancelled.add(order_id)


class FakeWebhookLog:
    def __init__(self) -> None:
        self.handled: dict[str, str] = {}

    def seen(self, event_id: str) -> bool:
        return event_id in self.handled

    def remember(self, event_id: str, outcome: str) -> None:
        self.handled[event_id] = outcome


def make_checkout(**available: int) -> tuple[Checkout, dict[str, Any]]:
    carts, stock = FakeCarts(), FakeStock(**available)
    stock.carts = carts
    payments, workflows, publisher = FakePayments(), FakeWorkflows(), RecordingPublisher()
    deps = Checkout(
        carts=carts,
        catalog=stock,
        orders=stock,
        payments=payments,
        workflows=workflows,
        publisher=publisher,
        rules=DEFAULT_RULES,
    )
    parts: dict[str, Any] = {
        "carts": carts,
        "stock": stock,
        "payments": payments,
        "workflows": workflows,
        "publisher": publisher,
    }
    return deps, parts
