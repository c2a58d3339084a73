"""Checkout's `Carts`, `Catalog` and `Orders` ports: `tests.unit.checkout_fakes` (FakeCarts,
FakeStock over a FakeLedger) and `checkout.adapters.dynamodb` (DynamoCarts, DynamoCatalog,
DynamoOrders on moto) answer alike: optimistic cart writes, the first owner keeps a cart,
placing an order reserves its stock and checks the cart out in one write, a refused placement
is explained (the order already placed, out of stock, or the cart changed)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest

from checkout.domain.cart import Cart, CartStatus
from checkout.domain.order import Order
from checkout.domain.pricing import Totals
from checkout.service import OutOfStock
from commerce.clock import utcnow_str
from commerce.errors import Conflict
from commerce.orders import OrderLine, OrderStatus, PaymentState, StockState
from tests.unit.contracts.conftest import BACKENDS, Tables


@dataclass
class Store:
    carts: Any
    catalog: Any
    orders: Any
    seed_stock: Any
    counters: Any


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "fake":
        from tests.unit.checkout_fakes import FakeCarts, FakeStock
        from tests.unit.ledger_fakes import FakeLedger

        ledger = FakeLedger()
        carts, stock = FakeCarts(), FakeStock(ledger)
        stock.carts = carts

        def seed_fake(sku: str, available: int, *, active: bool = True) -> None:
            ledger.stock[sku] = {"onHand": available, "reserved": 0, "available": available}
            if not active:
                ledger.inactive.add(sku)

        return Store(carts, stock, stock, seed_fake, lambda sku: dict(ledger.stock[sku]))

    from checkout.adapters.dynamodb import (
        CartRecord,
        DynamoCarts,
        DynamoCatalog,
        DynamoOrders,
        HoldRecord,
        WebhookRecord,
    )
    from commerce.ledger import OrderItem
    from commerce.records.products import ProductItem

    tables: Tables = request.getfixturevalue("dynamo")
    tables.table("CARTS_TABLE", CartRecord, WebhookRecord, HoldRecord)
    tables.table("ORDERS_TABLE", OrderItem)
    tables.table("PRODUCTS_TABLE", ProductItem)
    orders = DynamoOrders()

    def seed_dynamo(sku: str, available: int, *, active: bool = True) -> None:
        ProductItem(
            sku,
            kind="product",
            name=f"Product {sku}",
            status="ACTIVE" if active else "DRAFT",
            price_amount=1000,
            currency="usd",
            on_hand=available,
            reserved=0,
            available=available,
        ).save()

    def counters_dynamo(sku: str) -> dict[str, int]:
        item = ProductItem.get(sku, consistent_read=True)
        return {"onHand": int(item.on_hand), "reserved": int(item.reserved), "available": int(item.available)}

    return Store(DynamoCarts(), DynamoCatalog(), orders, seed_dynamo, counters_dynamo)


# --- carts -------------------------------------------------------------------------------------


def new_cart(cart_id: str = "c-1", owner: str | None = None) -> Cart:
    return Cart(cart_id=cart_id, token_hash="a" * 64, owner=owner, updated_at="2026-01-01T00:00:00.000Z")


def created(store: Store, cart_id: str = "c-1", owner: str | None = None) -> Cart:
    store.carts.create(new_cart(cart_id, owner))
    cart = store.carts.get(cart_id)
    assert cart is not None
    return cart


def test_a_created_cart_reads_back_empty_and_open(store: Store) -> None:
    cart = created(store, "c-1", owner="sub-1")
    assert cart == Cart(
        cart_id="c-1",
        token_hash="a" * 64,
        owner="sub-1",
        items={},
        status=CartStatus.OPEN,
        version=0,
        updated_at="2026-01-01T00:00:00.000Z",
    )
    assert store.carts.get("c-2") is None


def test_saving_a_cart_moves_its_version_on(store: Store) -> None:
    cart = created(store)
    before = utcnow_str()
    saved = store.carts.save(cart.with_quantity("TEA-1", 2))
    assert (saved.items, saved.version, saved.status) == ({"TEA-1": 2}, 1, CartStatus.OPEN)
    assert saved.updated_at >= before
    assert store.carts.get("c-1") == saved
    again = store.carts.save(saved.with_quantity("MUG-1", 1))
    assert (again.items, again.version) == ({"TEA-1": 2, "MUG-1": 1}, 2)
    assert (again.token_hash, again.owner) == ("a" * 64, None)


def test_a_cart_saved_from_a_stale_read_is_refused(store: Store) -> None:
    cart = created(store)
    first = store.carts.save(cart.with_quantity("TEA-1", 2))
    with pytest.raises(Conflict) as refused:
        store.carts.save(cart.with_quantity("MUG-1", 5))  # read at version 0, now 1
    assert refused.value.problem_code == "cart_changed"
    assert store.carts.get("c-1") == first


def test_a_missing_cart_cannot_be_saved(store: Store) -> None:
    with pytest.raises(Conflict):
        store.carts.save(new_cart("ghost").with_quantity("TEA-1", 1))
    assert store.carts.get("ghost") is None


def test_the_first_owner_keeps_a_cart(store: Store) -> None:
    cart = created(store)
    claimed = store.carts.claim(cart, "sub-1")
    assert claimed.owner == "sub-1"
    assert store.carts.claim(cart, "sub-2").owner == "sub-1"
    after = store.carts.get("c-1")
    assert after is not None and after.owner == "sub-1"
    assert (after.version, after.items) == (0, {})


def test_claiming_a_missing_cart_creates_nothing(store: Store) -> None:
    ghost = new_cart("ghost")
    assert store.carts.claim(ghost, "sub-1").owner is None
    assert store.carts.get("ghost") is None


# --- catalog -----------------------------------------------------------------------------------


def test_the_catalog_reads_the_products_asked_for(store: Store) -> None:
    store.seed_stock("TEA-1", 4)
    store.seed_stock("MUG-1", 0, active=False)
    found = store.catalog.items(["TEA-1", "MUG-1", "NOPE-1", "TEA-1"])
    assert set(found) == {"TEA-1", "MUG-1"}
    tea, mug = found["TEA-1"], found["MUG-1"]
    assert (tea.sku, tea.name, tea.unit_price, tea.currency, tea.available, tea.active) == (
        "TEA-1",
        "Product TEA-1",
        1000,
        "usd",
        4,
        True,
    )
    assert (mug.available, mug.active) == (0, False)


# --- placing orders ----------------------------------------------------------------------------


def order_for(cart: Cart, order_id: str = "o-1", lines: dict[str, int] | None = None) -> Order:
    priced = tuple(OrderLine(sku, f"Product {sku}", q, 1000) for sku, q in (lines or {"TEA-1": 2}).items())
    created_at = "2026-01-02T00:00:00.000Z"
    return Order(
        order_id=order_id,
        status=OrderStatus.PENDING_PAYMENT,
        email="ada@example.com",
        owner=None,
        cart_id=cart.cart_id,
        lines=priced,
        totals=Totals(subtotal=sum(x.line_total for x in priced), shipping=500, tax=0, currency="usd"),
        shipping_address={"line1": "1 Main St", "city": "Springfield", "country": "US"},
        token_hash="t" * 64,
        created_at=created_at,
        history=({"status": "PENDING_PAYMENT", "at": created_at, "note": "placed"},),
        correlation_id="corr-1",
    )


def cart_with(store: Store, **items: int) -> Cart:
    cart = created(store)
    for sku, quantity in items.items():
        cart = store.carts.save(cart.with_quantity(sku, quantity))
    return cart


def test_placing_writes_the_order_reserves_and_checks_the_cart_out(store: Store) -> None:
    store.seed_stock("TEA-1", 5)
    cart = cart_with(store, **{"TEA-1": 2})
    order = order_for(cart)
    assert store.orders.place(order, cart) is None
    read = store.orders.get("o-1")
    assert read is not None
    assert replace(read, state=None) == order
    assert read.state is not None
    assert (read.state.status, read.state.stock_state, read.state.payment_state) == (
        OrderStatus.PENDING_PAYMENT,
        StockState.RESERVED,
        PaymentState.PENDING,
    )
    assert (read.state.total, read.state.correlation_id) == (2500, "corr-1")
    assert store.counters("TEA-1") == {"onHand": 5, "reserved": 2, "available": 3}
    checked_out = store.carts.get(cart.cart_id)
    assert checked_out is not None
    assert (checked_out.status, checked_out.version) == (CartStatus.CHECKED_OUT, cart.version + 1)
    with pytest.raises(Conflict):
        store.carts.save(checked_out.__class__(**{**_fields(checked_out), "status": CartStatus.OPEN}))


def _fields(cart: Cart) -> dict[str, Any]:
    return {name: getattr(cart, name) for name in Cart.__dataclass_fields__}


def test_placing_the_same_order_again_answers_the_order_placed(store: Store) -> None:
    store.seed_stock("TEA-1", 5)
    cart = cart_with(store, **{"TEA-1": 2})
    order = order_for(cart)
    assert store.orders.place(order, cart) is None
    existing = store.orders.place(order, cart)
    assert existing is not None
    assert existing == store.orders.get("o-1")
    assert store.counters("TEA-1") == {"onHand": 5, "reserved": 2, "available": 3}


def test_placing_more_than_is_available_is_out_of_stock(store: Store) -> None:
    store.seed_stock("TEA-1", 1)
    store.seed_stock("MUG-1", 5)
    cart = cart_with(store, **{"TEA-1": 2, "MUG-1": 1})
    with pytest.raises(OutOfStock) as short:
        store.orders.place(order_for(cart, lines={"TEA-1": 2, "MUG-1": 1, "GONE-1": 1}), cart)
    assert short.value.shortages == [
        {"sku": "TEA-1", "requested": 2, "available": 1},
        {"sku": "GONE-1", "requested": 1, "available": 0},
    ]
    assert store.orders.get("o-1") is None
    assert store.counters("MUG-1") == {"onHand": 5, "reserved": 0, "available": 5}
    assert store.carts.get(cart.cart_id) == cart  # still open, as it was


def test_placing_from_a_cart_that_changed_is_refused_whole(store: Store) -> None:
    store.seed_stock("TEA-1", 5)
    cart = cart_with(store, **{"TEA-1": 2})
    changed = store.carts.save(cart.with_quantity("TEA-1", 3))
    with pytest.raises(Conflict) as refused:
        store.orders.place(order_for(cart), cart)  # priced from the cart as it was
    assert refused.value.problem_code == "cart_changed"
    assert store.orders.get("o-1") is None
    assert store.counters("TEA-1") == {"onHand": 5, "reserved": 0, "available": 5}
    assert store.carts.get(cart.cart_id) == changed


def test_the_payment_intent_and_token_of_a_placed_order(store: Store) -> None:
    store.seed_stock("TEA-1", 5)
    cart = cart_with(store, **{"TEA-1": 2})
    store.orders.place(order_for(cart), cart)
    store.orders.set_payment("o-1", "pi_1")
    store.orders.set_token("o-1", "u" * 64)
    read = store.orders.get("o-1")
    assert read is not None
    assert (read.payment_intent_id, read.token_hash) == ("pi_1", "u" * 64)
    assert read.state is not None and read.state.payment_intent_id == "pi_1"
    store.orders.set_payment("ghost", "pi_2")
    store.orders.set_token("ghost", "u" * 64)
    assert store.orders.get("ghost") is None
