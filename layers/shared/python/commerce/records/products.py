"""The one declaration of the product item in the Products table: one item per SKU (`sku` as its
key, `kind` = "product") holding the catalog fields and the stock counters, so a product read
is one GetItem and a stock change is one conditional write. `available` (= `onHand` -
`reserved`) is stored and kept in step by every write, because DynamoDB conditions cannot do
arithmetic: a change that would take it below zero fails its condition instead of overselling.

Who uses what: inventory writes the catalog fields and adjusts `onHand`/`available` (its
adjustment items, `ADJUSTMENT#<id>`, only inventory reads; they stay in its adapter);
`commerce.ledger` moves `reserved`/`available`/`onHand` on an order's behalf; checkout reads
names, prices and status through the ledger's binding to price a cart.

Why the shared layer: inventory and the ledger (checkout, orders) change the same item, and
services never import each other."""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from commerce.dynamo import bind

TABLE_SETTING = "PRODUCTS_TABLE"
PRODUCT = "product"
"""`kind` of a product item (other kinds share the table: inventory's adjustments)."""
ACTIVE = "ACTIVE"
"""The status of a product on sale (inventory's `ProductStatus.ACTIVE`)."""


class ByCategory(GlobalSecondaryIndex["ProductItem"]):
    class Meta:
        index_name = "byCategory"
        projection = KeysOnlyProjection()

    category = UnicodeAttribute(hash_key=True)
    sku = UnicodeAttribute(range_key=True)


class ProductItem(Model):
    class Meta:
        table_name: str | None = None
        region: str | None = None

    sku = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default=PRODUCT)
    name = UnicodeAttribute(null=True)
    description = UnicodeAttribute(null=True)
    category = UnicodeAttribute(null=True)
    price_amount = NumberAttribute(attr_name="priceAmount", null=True)
    currency = UnicodeAttribute(null=True)
    images = ListAttribute(of=UnicodeAttribute, null=True)
    status = UnicodeAttribute(null=True)
    on_hand = NumberAttribute(attr_name="onHand", default=0)
    reserved = NumberAttribute(default=0)
    available = NumberAttribute(default=0)
    low_stock_threshold = NumberAttribute(attr_name="lowStockThreshold", null=True)
    """None until staff set one: inventory's default applies."""
    created_at = UnicodeAttribute(attr_name="createdAt", null=True)
    updated_at = UnicodeAttribute(attr_name="updatedAt", null=True)
    by_category = ByCategory()


def bind_tables(*more: type[Model]) -> None:
    """Point the model (and the caller's other item models in the same table) at the Products
    table, on first use, not at import."""
    bind(TABLE_SETTING, ProductItem, *more)
