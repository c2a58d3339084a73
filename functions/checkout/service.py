"""Checkout use cases behind small ports: carts, catalog, orders, payments, workflows, events.

Order events (CheckoutStarted, PaymentAuthorized, PaymentFailed, OrderCancelled) are not
published here: the Orders table's stream publishes each committed change (see
`orders.domain.events`), so an event exists if and only if its change was committed.

Every step is safe to repeat. An order's id derives from the caller and their Idempotency-Key,
so a checkout retried after a crash finds its order and carries on from the order's status;
payment uses a Stripe idempotency key derived from the order; the order workflow is started by
the one write that made the order PAID, and every task of it is idempotent, so a duplicate
execution (Express is at-least-once) changes nothing twice."""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from checkout.domain.cart import Cart, CartStatus, check_quantity, token_hash
from checkout.domain.order import Order, Payment, PaymentStatus
from checkout.domain.pricing import PricingRules, price
from commerce import settlement
from commerce.clock import utcnow_str
from commerce.errors import Conflict, NotFound, PaymentDeclined, PaymentsUnavailable, Throttled, ValidationFailed
from commerce.events import DomainEvent, EventPublisher
from commerce.ids import new_id, stable_id
from commerce.orders import ENDED, OrderLine, OrderState, OrderStatus, authorized, declined

SOURCE = "shopstack.checkout"


@dataclass(frozen=True, slots=True)
class CatalogItem:
    sku: str
    name: str
    unit_price: int
    currency: str
    available: int
    active: bool


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    email: str
    shipping_address: dict[str, Any]
    payment_method: str | None
    owner: str | None = None
    """Who checks out (the signed-in customer, or None for a guest): the order's owner for good."""
    client: str | None = None
    """The caller's address as API Gateway saw it (`requestContext.identity.sourceIp`)."""
    correlation_id: str | None = None
    """The request's correlation id, kept on the order for everything that follows it."""

    @property
    def country(self) -> str:
        return str(self.shipping_address["country"])


class OutOfStock(Exception):
    def __init__(self, shortages: list[dict[str, Any]]) -> None:
        super().__init__("out of stock")
        self.shortages = shortages


class Carts(Protocol):
    def claim(self, cart: Cart, owner: str) -> Cart: ...
    def create(self, cart: Cart) -> None: ...
    def get(self, cart_id: str) -> Cart | None: ...
    def save(self, cart: Cart) -> Cart: ...


class Catalog(Protocol):
    def items(self, skus: list[str]) -> dict[str, CatalogItem]: ...


class Orders(Protocol):
    """Checkout's reads of orders, and the writes only checkout makes (placing an order with its
    reservation, its payment intent and token); every status change is `Checkout.ledger`'s."""

    def place(self, order: Order, cart: Cart) -> Order | None:
        """None when placed; the order already there when one has this id (nothing written)."""
        ...

    def get(self, order_id: str) -> Order | None: ...
    def set_payment(self, order_id: str, intent_id: str) -> None: ...
    def set_token(self, order_id: str, token_hash: str) -> None: ...


class Payments(Protocol):
    def require_configured(self) -> None: ...
    def authorize(self, order: Order, payment_method: str | None) -> Payment: ...
    def retrieve(self, intent_id: str) -> Payment: ...


class WebhookLog(Protocol):
    def seen(self, event_id: str) -> bool: ...
    def remember(self, event_id: str, outcome: str) -> None: ...


class HoldCounter(Protocol):
    def take(self, key: str, limit: int, window_seconds: int) -> bool: ...


@dataclass(frozen=True, slots=True)
class HoldLimits:
    """What a guest (not signed in) may hold without a payment method (cdk.json `guestHoldLimits`):
    at most `max_units` units per checkout, `per_email` and `per_client` such checkouts per
    `window_seconds`; any checkout without a payment method holds its stock for
    `unpaid_hold_seconds` rather than the full reservation."""

    max_units: int = 10
    per_email: int = 5
    per_client: int = 10
    window_seconds: int = 900
    unpaid_hold_seconds: int = 300


class Workflows(Protocol):
    def start_order(self, order_id: str, correlation_id: str | None) -> None: ...
    def schedule_expiry(self, order_id: str, seconds: int, correlation_id: str | None) -> None: ...


@dataclass(frozen=True)
class Checkout:
    """The ports and settings every checkout use case needs."""

    carts: Carts
    catalog: Catalog
    orders: Orders
    ledger: settlement.Ledger
    payments: Payments
    money: settlement.Money
    workflows: Workflows
    publisher: EventPublisher
    rules: PricingRules
    reservation_seconds: int = 900
    default_country: str = "US"
    holds: HoldCounter | None = None
    hold_limits: HoldLimits = HoldLimits()


# --- carts -----------------------------------------------------------------------------------


def create_cart(deps: Checkout, owner: str | None) -> tuple[Cart, str]:
    token = secrets.token_urlsafe(24)
    cart = Cart(cart_id=new_id(), token_hash=token_hash(token), owner=owner, updated_at=utcnow_str())
    deps.carts.create(cart)
    deps.publisher.publish(SOURCE, [DomainEvent("CartCreated", {"cartId": cart.cart_id, "signedIn": bool(owner)})])
    return cart, token


def open_cart(deps: Checkout, cart_id: str, *, sub: str | None, token: str | None) -> Cart:
    """The cart, if the caller owns it or holds its token; anyone else learns nothing (404).
    Reading never changes who owns a cart (`claim_cart` does, on its holder's request)."""
    cart = deps.carts.get(cart_id)
    if cart is None or not cart.readable_by(sub=sub, token=token):
        raise NotFound("No such cart.", code="cart_not_found")
    return cart


def claim_cart(deps: Checkout, cart_id: str, *, sub: str, token: str | None) -> Cart:
    """A signed-in customer holding a guest cart's token makes it theirs (the storefront does this
    after sign-in). Only a guest cart can be claimed; the claim never moves its orders: an
    order's owner is whoever checked out."""
    cart = deps.carts.get(cart_id)
    if cart is not None and cart.owner == sub:
        return cart
    if cart is None or token is None or not cart.readable_by(sub=None, token=token):
        raise NotFound("No such cart.", code="cart_not_found")
    if cart.owner is not None:
        raise Conflict("This cart belongs to another account.", code="cart_owned")
    claimed = deps.carts.claim(cart, sub)
    if claimed.owner != sub:
        raise Conflict("This cart belongs to another account.", code="cart_owned")
    return claimed


def _priced_lines(items: dict[str, int], catalog: dict[str, CatalogItem], currency: str) -> list[OrderLine]:
    """The lines for sale: active products priced in the shop's currency (others are unavailable)."""
    return [
        OrderLine(sku=sku, name=catalog[sku].name, quantity=qty, unit_price=catalog[sku].unit_price)
        for sku, qty in sorted(items.items())
        if sku in catalog and catalog[sku].active and catalog[sku].currency == currency
    ]


def cart_json(deps: Checkout, cart: Cart, *, token: str | None = None) -> dict[str, Any]:
    catalog = deps.catalog.items(sorted(cart.items)) if cart.items else {}
    lines = _priced_lines(cart.items, catalog, deps.rules.currency)
    totals = price(lines, deps.default_country, deps.rules)
    body: dict[str, Any] = {
        "cartId": cart.cart_id,
        "status": cart.status,
        "items": [line.to_json(totals.currency) for line in lines],
        "unavailable": sorted(sku for sku in cart.items if sku not in {line.sku for line in lines}),
        **totals.to_json(),
        "currency": totals.currency,
        "destination": deps.default_country,
        "updatedAt": cart.updated_at,
    }
    if token is not None:
        body["cartToken"] = token
    return body


def set_item(deps: Checkout, cart: Cart, sku: str, quantity: int, *, email: str | None = None) -> Cart:
    check_quantity(quantity)
    item = deps.catalog.items([sku]).get(sku)
    if item is None or not item.active:
        raise NotFound(f"No product {sku}.", code="product_not_found")
    if quantity > item.available:
        raise Conflict(
            f"Only {item.available} of {sku} available.",
            code="out_of_stock",
            errors=[{"sku": sku, "requested": quantity, "available": item.available}],
        )
    return _changed(deps, cart, lambda current: current.with_quantity(sku, quantity), email=email)


def remove_item(deps: Checkout, cart: Cart, sku: str, *, email: str | None = None) -> Cart:
    return _changed(deps, cart, lambda current: current.without(sku), email=email)


def cart_updated(cart: Cart, email: str | None) -> DomainEvent:
    """What analytics needs of a cart's change: whether it holds items, whose it is (the funnel
    and the abandoned-cart list). One id per saved version: a retried publish is a duplicate."""
    data = {
        "cartId": cart.cart_id,
        "itemCount": len(cart.items),
        "units": sum(cart.items.values()),
        "customerId": cart.owner,
        "email": email if cart.owner else None,
    }
    return DomainEvent("CartUpdated", data, id=stable_id(cart.cart_id, "CartUpdated", str(cart.version)))


CART_WRITE_ATTEMPTS = 8


def _changed(deps: Checkout, cart: Cart, change: Callable[[Cart], Cart], *, email: str | None) -> Cart:
    """Apply one line change to the cart as it is now: a write that lost the optimistic race to
    another (a double click, a retried PUT, another tab) is applied again to the cart that won,
    so the same PUT sent twice at once leaves the same cart and answers 200 both times. The
    saved cart is announced (CartUpdated) after the write."""
    saved: Cart | None = None
    for _ in range(CART_WRITE_ATTEMPTS - 1):
        try:
            saved = deps.carts.save(change(cart))
            break
        except Conflict as exc:
            if exc.problem_code != "cart_changed":
                raise
        cart = deps.carts.get(cart.cart_id) or cart
    if saved is None:
        saved = deps.carts.save(change(cart))
    deps.publisher.publish(SOURCE, [cart_updated(saved, email)])
    return saved


# --- checkout --------------------------------------------------------------------------------


def order_id_for(scope: str, idempotency_key: str) -> str:
    return stable_id("order", scope, idempotency_key)


@dataclass(frozen=True, slots=True)
class Placed:
    """A checkout's outcome: the order (PAID, or PENDING_PAYMENT while the customer confirms), the
    capability token that reads it, and the payment as the provider last answered."""

    order: Order
    order_token: str
    payment: Payment | None

    def to_json(self) -> dict[str, Any]:
        payment = self.payment
        return {
            "orderId": self.order.order_id,
            "orderToken": self.order_token,
            "status": self.order.status.value,
            **self.order.totals.to_json(),
            "payment": {
                "paymentIntentId": payment.intent_id if payment else None,
                "clientSecret": payment.client_secret if payment else None,
                "status": payment.status if payment else None,
            },
        }


def checkout(deps: Checkout, cart: Cart, request: CheckoutRequest, *, order_id: str) -> Placed:
    """Reserve every line and write the order PENDING_PAYMENT, then take payment. Returns the
    placed order; a declined card raises PaymentDeclined (`card_declined`, with `declineCode` and
    the `orderId` whose stock the failing write released).

    Payments not configured (Stripe keys missing, placeholders, malformed): 503
    `payments_unavailable` before anything is reserved. Keys Stripe refuses at payment time: the
    order is cancelled with its stock released, and the answer is the same 503."""
    deps.payments.require_configured()
    order_token = secrets.token_urlsafe(24)
    # An open cart is a new checkout: placing the order is its first write (an order already there
    # under this id, the same key again, is found by the placement's refusal); a checked-out cart's
    # order is read.
    order = None if cart.status == CartStatus.OPEN else deps.orders.get(order_id)
    placed = False
    if order is None:
        order, placed = _place(deps, cart, request, order_id, token_hash(order_token))
    if not placed:
        if order.cart_id != cart.cart_id:
            raise ValidationFailed(
                "This Idempotency-Key was already used to check out another cart.", code="idempotency_key_reused"
            )
        deps.orders.set_token(order_id, token_hash(order_token))
    payment: Payment | None = None
    if order.status is OrderStatus.PENDING_PAYMENT:
        payment = _authorize(deps, order, request.payment_method)
        if order.payment_intent_id != payment.intent_id and not payment.authorized:
            deps.orders.set_payment(order_id, payment.intent_id)  # authorized: the PAID write records it
        order = settle(deps, order, payment, final=request.payment_method is not None)
    elif order.payment_intent_id:
        payment = deps.payments.retrieve(order.payment_intent_id)
    if order.status is OrderStatus.PAYMENT_FAILED:
        raise PaymentDeclined(
            (payment.decline_message if payment else None) or "The card was declined.",
            code="card_declined",
            extra={
                "declineCode": (payment.decline_code if payment else None) or "generic_decline",
                "orderId": order_id,
            },
        )
    return Placed(order, order_token, payment)


def _authorize(deps: Checkout, order: Order, payment_method: str | None) -> Payment:
    """Authorize the order's payment; keys Stripe refuses (503) and a payment method Stripe does
    not know (422 `invalid_payment_method`) release the order's stock at once, rather than holding
    it until the reservation expires."""
    try:
        return deps.payments.authorize(order, payment_method)
    except (PaymentsUnavailable, ValidationFailed) as refused:
        current = deps.orders.get(order.order_id) or order
        if current.status is OrderStatus.PENDING_PAYMENT and not current.payment_intent_id:
            reason = "payments unavailable" if isinstance(refused, PaymentsUnavailable) else "payment method refused"
            settlement.cancel(deps.ledger, deps.money, order.order_id, reason)
        raise


def _place(deps: Checkout, cart: Cart, request: CheckoutRequest, order_id: str, token: str) -> tuple[Order, bool]:
    """(the order, True) once placed; (the order already there under this id, False)."""
    cart.check_open()
    if not deps.rules.ships_to_country(request.country):
        raise ValidationFailed(
            f"The shop does not ship to {request.country}.",
            code="country_not_shipped",
            errors=[{"field": "shippingAddress.country", "message": "not a destination the shop ships to"}],
        )
    if not cart.items:
        raise Conflict("The cart is empty.", code="cart_empty")
    catalog = deps.catalog.items(sorted(cart.items))
    gone = [
        {"sku": sku, "requested": qty, "available": 0}
        for sku, qty in sorted(cart.items.items())
        if sku not in catalog or not catalog[sku].active or catalog[sku].currency != deps.rules.currency
    ]
    if gone:
        raise _out_of_stock(gone)
    lines = tuple(_priced_lines(cart.items, catalog, deps.rules.currency))
    if request.owner is None:
        _check_guest_hold(deps, request, sum(line.quantity for line in lines))
    totals = price(list(lines), request.country, deps.rules)
    now = utcnow_str()
    order = Order(
        order_id=order_id,
        status=OrderStatus.PENDING_PAYMENT,
        email=request.email,
        owner=request.owner,
        cart_id=cart.cart_id,
        lines=lines,
        totals=totals,
        shipping_address=request.shipping_address,
        token_hash=token,
        created_at=now,
        history=({"status": OrderStatus.PENDING_PAYMENT.value, "at": now, "note": "checkout"},),
        correlation_id=request.correlation_id,
        state=OrderState(
            order_id=order_id,
            status=OrderStatus.PENDING_PAYMENT,
            lines=tuple((line.sku, line.quantity) for line in lines),
            total=totals.total,
            currency=totals.currency,
            updated_at=now,
        ),
    )
    try:
        existing = deps.orders.place(order, cart)
    except OutOfStock as short:
        raise _out_of_stock(short.shortages) from short
    if existing is not None:
        return existing, False
    hold = deps.reservation_seconds
    if request.payment_method is None:
        hold = min(hold, deps.hold_limits.unpaid_hold_seconds)
    deps.workflows.schedule_expiry(order_id, hold, request.correlation_id)
    return order, True


def _check_guest_hold(deps: Checkout, request: CheckoutRequest, units: int) -> None:
    """A guest's checkout without a payment method holds stock on nothing but an email address, so
    it may hold only so much: `max_units` units (422), `per_email` and `per_client` such checkouts
    per window (429 with Retry-After). A checkout with a payment method is authorized at once (a
    decline releases its stock) and is not limited here."""
    limits = deps.hold_limits
    if request.payment_method is not None:
        return
    if units > limits.max_units:
        raise ValidationFailed(
            f"Sign in or give a payment method to check out more than {limits.max_units} units.",
            code="hold_limit_exceeded",
            errors=[{"field": "paymentMethod", "message": f"required above {limits.max_units} units"}],
        )
    if deps.holds is None:
        return
    email = hashlib.sha256(request.email.strip().lower().encode()).hexdigest()[:32]
    keys = [(f"email#{email}", limits.per_email)]
    if request.client:
        keys.append((f"client#{request.client}", limits.per_client))
    for key, limit in keys:
        if not deps.holds.take(key, limit, limits.window_seconds):
            raise Throttled(
                "Too many checkouts from this email or address; sign in, or try again later.",
                code="hold_limit_exceeded",
                retry_after=limits.window_seconds,
            )


OUT_OF_STOCK = "out_of_stock"


def _out_of_stock(shortages: list[dict[str, Any]]) -> Conflict:
    return Conflict("Not enough stock for every line; nothing was reserved.", code=OUT_OF_STOCK, errors=shortages)


def _state(deps: Checkout, order: Order) -> OrderState:
    if order.state is not None:
        return order.state
    current = deps.ledger.state(order.order_id)
    if current is None:
        raise NotFound("No such order.", code="order_not_found")
    return current


def settle(deps: Checkout, order: Order, payment: Payment, *, final: bool) -> Order:
    """Move a PENDING_PAYMENT order by its payment: authorized -> PAID and into the order
    workflow; declined (when the decline is final) or canceled -> PAYMENT_FAILED with its
    stock released in the same write. Safe to repeat and to race: each move is conditioned on
    the order still PENDING_PAYMENT (and its stock still reserved), only the write that made the
    order PAID starts its workflow (a crash between the two is healed by the reconciler), and
    events keep their ids."""
    state = _state(deps, order)
    if state.status is not OrderStatus.PENDING_PAYMENT:
        return deps.orders.get(order.order_id) or order
    if payment.authorized:
        if not payment.matches(order):
            return order
        if deps.ledger.apply(authorized(state, payment.intent_id)):
            order = replace(order, status=OrderStatus.PAID, payment_intent_id=payment.intent_id, state=None)
            deps.workflows.start_order(order.order_id, order.correlation_id)
            return order
        return deps.orders.get(order.order_id) or order
    if (final and payment.declined) or payment.status == PaymentStatus.CANCELED:
        deps.ledger.apply(declined(state, payment.decline_code, payment.decline_code or payment.status))
        order = deps.orders.get(order.order_id) or order
    return order


# --- payment events and expiry ----------------------------------------------------------------


def on_payment_event(deps: Checkout, intent_id: str) -> str:
    """A Stripe event named this intent: re-read it (never trust the event body), then settle
    its order. Duplicates and reordering are harmless because the intent's current state decides.
    An order that is cancelling is left to its canceller (who voids or refunds whatever the
    intent holds); an ended order's late authorization is voided (or refunded if captured)."""
    payment = deps.payments.retrieve(intent_id)
    order = deps.orders.get(payment.order_id) if payment.order_id else None
    if order is None:
        return "unknown order"
    if not payment.matches(order):
        return "amount, currency or order mismatch: ignored"
    if order.status is OrderStatus.PAID and payment.authorized:
        return "already paid"
    if order.status in ENDED and payment.authorized:
        return settlement.release_late_payment(deps.ledger, deps.money, _state(deps, order))
    if order.status is not OrderStatus.PENDING_PAYMENT:
        return f"order is {order.status.value}"
    return settle(deps, order, payment, final=False).status.value


PAYMENT_EVENTS = ("payment_intent.", "charge.")


def on_stripe_event(deps: Checkout, log: WebhookLog, event: dict[str, Any]) -> str:
    """A verified Stripe event. Each event id is handled once; the outcome is remembered only
    after the work is done, so a crash midway lets Stripe's retry finish it."""
    event_id, kind = str(event.get("id")), str(event.get("type"))
    if log.seen(event_id):
        return "duplicate"
    obj = (event.get("data") or {}).get("object") or {}
    intent_id = obj.get("id") if kind.startswith("payment_intent.") else obj.get("payment_intent")
    outcome = on_payment_event(deps, str(intent_id)) if kind.startswith(PAYMENT_EVENTS) and intent_id else "ignored"
    log.remember(event_id, outcome)
    return outcome


def reservation_due(
    deps: Checkout, order_id: str, expires_at: int, now: float, correlation_id: str | None
) -> dict[str, Any]:
    """An order's ReservationExpiry message arrived: expire the order if its reservation has run
    out, or send the message on for the time left (a reservation longer than SQS's delay)."""
    if now < expires_at:
        deps.workflows.schedule_expiry(order_id, math.ceil(expires_at - now), correlation_id)
        return {"orderId": order_id, "status": "WAITING", "expired": False}
    return expire_reservation(deps, order_id)


def expire_reservation(deps: Checkout, order_id: str) -> dict[str, Any]:
    """The reservation ran out: an order still unpaid is cancelled, its payment voided and its
    stock released (`commerce.settlement.expire`). A payment authorized at the last moment wins
    when it reached the order first: the order is paid and its workflow started instead. An order
    already past both (paid, failed, ended) is left as it is: its workflow is someone else's."""
    state = deps.ledger.state(order_id)
    if state is None or state.status in (OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLING):
        state = settlement.expire(deps.ledger, deps.money, order_id)
        if state.status is OrderStatus.PAID:
            deps.workflows.start_order(order_id, None)  # the expiry's own correlation id is the order's
    return {"orderId": order_id, "status": state.status.value, "expired": state.status is OrderStatus.CANCELLED}
