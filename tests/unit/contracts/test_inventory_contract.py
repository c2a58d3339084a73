"""The `inventory.service.Catalog` port: `tests.unit.fakes.FakeCatalog` and
`inventory.adapters.dynamodb.DynamoCatalog` on moto answer alike."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from commerce.errors import Conflict, NotFound, ValidationFailed
from commerce.money import Money
from inventory.domain.model import Product, ProductStatus
from inventory.service import ProductDetails
from tests.unit.contracts.conftest import BACKENDS, Tables


class Store:
    """The catalog under test, and a way to hold stock for orders (checkout's reservation,
    which the port has no method for)."""

    def __init__(self, catalog: Any, reserve: Any) -> None:
        self.catalog = catalog
        self.reserve = reserve


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "fake":
        from tests.unit.fakes import FakeCatalog

        fake = FakeCatalog()

        def reserve_fake(sku: str, quantity: int) -> None:
            product = fake.products[sku]
            fake.products[sku] = replace(
                product, stock=replace(product.stock, reserved=product.stock.reserved + quantity)
            )

        return Store(fake, reserve_fake)

    from commerce.records.products import ProductItem
    from inventory.adapters.dynamodb import AdjustmentRecord, DynamoCatalog

    tables: Tables = request.getfixturevalue("dynamo")
    tables.table("PRODUCTS_TABLE", ProductItem, AdjustmentRecord)
    catalog = DynamoCatalog()

    def reserve_dynamo(sku: str, quantity: int) -> None:
        ProductItem(sku).update(actions=[ProductItem.reserved.add(quantity), ProductItem.available.add(-quantity)])

    return Store(catalog, reserve_dynamo)


def details(
    sku: str, *, category: str = "tea", status: ProductStatus = ProductStatus.ACTIVE, **more: Any
) -> ProductDetails:
    return ProductDetails(
        sku=sku,
        name=f"Product {sku}",
        description="A fine thing",
        category=category,
        price=Money(1250, "usd"),
        images=("https://img.example/a.png",),
        status=status,
        **more,
    )


def adjust(store: Store, sku: str, delta: int, adjustment_id: str) -> Any:
    return store.catalog.apply_adjustment(
        sku=sku, delta=delta, reason="received", actor="staff@example.com", adjustment_id=adjustment_id
    )


def test_a_missing_product_reads_as_none_and_its_stock_as_not_found(store: Store) -> None:
    assert store.catalog.get("NOPE-1") is None
    with pytest.raises(NotFound):
        store.catalog.stock("NOPE-1")


def test_upsert_creates_a_product_with_no_stock_and_reads_it_back(store: Store) -> None:
    written = store.catalog.upsert(details("TEA-1", low_stock_threshold=3))
    read = store.catalog.get("TEA-1")
    assert read is not None
    for product in (written, read):
        assert (product.sku, product.name, product.category, product.price) == (
            "TEA-1",
            "Product TEA-1",
            "tea",
            Money(1250, "usd"),
        )
        assert product.images == ("https://img.example/a.png",)
        assert product.status is ProductStatus.ACTIVE
        assert (product.stock.on_hand, product.stock.reserved, product.stock.available) == (0, 0, 0)
        assert product.stock.low_stock_threshold == 3


def test_upsert_of_an_existing_product_keeps_its_stock(store: Store) -> None:
    store.catalog.upsert(details("TEA-1"))
    adjust(store, "TEA-1", 7, "adj-1")
    store.reserve("TEA-1", 2)
    updated = store.catalog.upsert(replace(details("TEA-1"), name="Renamed", status=ProductStatus.DRAFT))
    assert updated.name == "Renamed"
    assert updated.status is ProductStatus.DRAFT
    assert (updated.stock.on_hand, updated.stock.reserved) == (7, 2)
    assert store.catalog.stock("TEA-1").available == 5


def test_an_adjustment_applies_once_whatever_the_retries(store: Store) -> None:
    store.catalog.upsert(details("TEA-1"))
    first = adjust(store, "TEA-1", 10, "adj-1")
    assert first.applied is True
    assert first.after.on_hand == 10
    again = adjust(store, "TEA-1", 10, "adj-1")
    assert again.applied is False
    assert again.after.on_hand == 10
    assert store.catalog.stock("TEA-1").on_hand == 10
    assert adjust(store, "TEA-1", -4, "adj-2").after.on_hand == 6
    assert store.catalog.stock("TEA-1").on_hand == 6


def test_an_adjustment_never_takes_on_hand_below_reserved(store: Store) -> None:
    store.catalog.upsert(details("TEA-1"))
    adjust(store, "TEA-1", 5, "adj-1")
    store.reserve("TEA-1", 3)
    with pytest.raises(Conflict) as refused:
        adjust(store, "TEA-1", -3, "adj-2")
    assert refused.value.problem_code == "below_reserved"
    assert store.catalog.stock("TEA-1").on_hand == 5
    down_to_reserved = adjust(store, "TEA-1", -2, "adj-3")
    assert down_to_reserved.applied is True
    assert (down_to_reserved.after.on_hand, down_to_reserved.after.available) == (3, 0)
    # the refused adjustment wrote nothing: its id may still be used
    with pytest.raises(Conflict):
        adjust(store, "TEA-1", -1, "adj-2")


def test_an_adjustment_of_an_unknown_product_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        adjust(store, "NOPE-1", 5, "adj-1")
    store.catalog.upsert(details("TEA-1"))
    # nothing was recorded under the refused adjustment's id
    assert adjust(store, "TEA-1", 5, "adj-1").applied is True


def test_adjustments_are_not_products(store: Store) -> None:
    store.catalog.upsert(details("TEA-1"))
    adjust(store, "TEA-1", 5, "adj-1")
    assert store.catalog.get("ADJUSTMENT#adj-1") is None
    products, cursor = store.catalog.list(category=None, limit=10, start=None)
    assert [p.sku for p in products] == ["TEA-1"]
    assert cursor is None


def _all_pages(store: Store, category: str | None, limit: int) -> tuple[list[list[Product]], list[Any]]:
    pages: list[list[Product]] = []
    cursors: list[Any] = []
    start = None
    while True:
        page, start = store.catalog.list(category=category, limit=limit, start=start)
        pages.append(page)
        cursors.append(start)
        if start is None:
            return pages, cursors
        assert len(pages) < 20, "the cursor never ends"


@pytest.mark.parametrize("category", [None, "tea"])
def test_list_pages_through_every_public_product_once(store: Store, category: str | None) -> None:
    for n in range(1, 6):
        store.catalog.upsert(details(f"TEA-{n}"))
    store.catalog.upsert(details("TEA-9", status=ProductStatus.DRAFT))
    store.catalog.upsert(details("TEA-8", status=ProductStatus.ARCHIVED))
    store.catalog.upsert(details("MUG-1", category="mugs"))

    pages, cursors = _all_pages(store, category, limit=2)
    listed = [p.sku for page in pages for p in page]
    expected = {f"TEA-{n}" for n in range(1, 6)} | ({"MUG-1"} if category is None else set())
    assert sorted(listed) == sorted(expected)  # each once, no hidden product
    assert all(len(page) == 2 for page in pages[:-1])  # full pages until the last
    assert cursors[-1] is None
    if category is not None:
        assert listed == sorted(listed)  # the category index reads in SKU order


def test_a_page_that_ends_exactly_has_no_cursor(store: Store) -> None:
    for n in range(1, 3):
        store.catalog.upsert(details(f"TEA-{n}"))
    page, cursor = store.catalog.list(category="tea", limit=2, start=None)
    assert [p.sku for p in page] == ["TEA-1", "TEA-2"]
    assert cursor is None
    assert store.catalog.list(category="empty", limit=2, start=None) == ([], None)


def test_a_cursor_not_of_this_list_is_the_callers_error(store: Store) -> None:
    for n in range(1, 4):
        store.catalog.upsert(details(f"TEA-{n}"))
    _, by_category = store.catalog.list(category="tea", limit=1, start=None)
    assert by_category is not None
    for bad in ({"sku": 5}, {"nope": "TEA-1"}, by_category):
        with pytest.raises(ValidationFailed):
            store.catalog.list(category=None, limit=1, start=bad)
    with pytest.raises(ValidationFailed):
        store.catalog.list(category="mugs", limit=1, start=by_category)  # another category's cursor
