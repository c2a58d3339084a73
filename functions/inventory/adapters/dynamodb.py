"""Catalog and stock in the Products table, through PynamoDB: the product item as
`commerce.records.products` declares it (one item per SKU, catalog fields and stock counters).
Adjustments also write an item of their own keyed by the adjustment id in the same
transaction, so a retried adjustment can never apply twice."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model

from commerce.clock import utcnow_str
from commerce.dynamo import key_from_cursor, refused_by_condition, retrying, transaction
from commerce.errors import NotFound
from commerce.money import Money
from commerce.records import products
from commerce.records.products import PRODUCT, ProductItem
from inventory.domain.model import DEFAULT_LOW_STOCK_THRESHOLD, Product, ProductStatus, Stock, below_reserved
from inventory.service import AdjustmentResult, ProductDetails

ADJUSTMENT = "adjustment"


class AdjustmentRecord(Model):
    """Ledger of stock adjustments, in the Products table under `ADJUSTMENT#<id>` keys."""

    class Meta:
        table_name: str | None = None
        region: str | None = None

    sku = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default=ADJUSTMENT)
    target = UnicodeAttribute()
    delta = NumberAttribute()
    reason = UnicodeAttribute()
    actor = UnicodeAttribute()
    at = UnicodeAttribute()


def _stock(record: ProductItem) -> Stock:
    return Stock(
        on_hand=int(record.on_hand or 0),
        reserved=int(record.reserved or 0),
        low_stock_threshold=(
            int(record.low_stock_threshold) if record.low_stock_threshold is not None else DEFAULT_LOW_STOCK_THRESHOLD
        ),
    )


def _chunks(items: Iterator[str], size: int) -> Iterator[list[str]]:
    while chunk := list(islice(items, size)):
        yield chunk


def _product(record: ProductItem) -> Product:
    return Product(
        sku=record.sku,
        name=record.name or "",
        description=record.description or "",
        category=record.category or "",
        price=Money(int(record.price_amount or 0), record.currency or "usd"),
        images=tuple(str(i) for i in record.images or ()),
        status=ProductStatus(record.status or ProductStatus.DRAFT),
        stock=_stock(record),
        updated_at=record.updated_at or "",
    )


class DynamoCatalog:
    """The `Catalog` port on DynamoDB."""

    def __init__(self) -> None:
        products.bind_tables(AdjustmentRecord)

    def get(self, sku: str) -> Product | None:
        try:
            record = ProductItem.get(sku)
        except ProductItem.DoesNotExist:
            return None
        return _product(record) if record.kind == PRODUCT else None

    def list(
        self, *, category: str | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Product], dict[str, Any] | None]:
        """A full page of public products, and a cursor naming the last one returned (never a
        hidden product the read passed over), None when nothing follows."""
        if category is None:
            scanned = ProductItem.scan(
                (ProductItem.kind == PRODUCT) & (ProductItem.status == ProductStatus.ACTIVE.value),
                page_size=limit,
                last_evaluated_key=key_from_cursor(start, ("sku",)),
            )
            products = [_product(r) for r in islice(scanned, limit + 1)]
            return products[:limit], ({"sku": products[limit - 1].sku} if len(products) > limit else None)
        keys = ProductItem.by_category.query(
            category,
            page_size=limit,
            last_evaluated_key=key_from_cursor(start, ("sku", "category"), {"category": category}),
        )
        found: list[Product] = []
        for chunk in _chunks((k.sku for k in keys), limit + 1):
            records = {r.sku: r for r in ProductItem.batch_get(chunk)}
            found += [p for p in (_product(records[s]) for s in chunk if s in records) if p.is_public]
            if len(found) > limit:
                break
        more = len(found) > limit
        return found[:limit], ({"sku": found[limit - 1].sku, "category": category} if more else None)

    def upsert(self, details: ProductDetails) -> Product:
        now = utcnow_str()
        record = ProductItem(details.sku)
        actions: list[Any] = [
            ProductItem.kind.set(PRODUCT),
            ProductItem.name.set(details.name),
            ProductItem.description.set(details.description),
            ProductItem.category.set(details.category),
            ProductItem.price_amount.set(details.price.amount),
            ProductItem.currency.set(details.price.currency),
            ProductItem.images.set(list(details.images)),  # type: ignore[arg-type]
            ProductItem.status.set(details.status.value),
            ProductItem.on_hand.set(ProductItem.on_hand | 0),
            ProductItem.reserved.set(ProductItem.reserved | 0),
            ProductItem.available.set(ProductItem.available | 0),
            ProductItem.low_stock_threshold.set(
                details.low_stock_threshold
                if details.low_stock_threshold is not None
                else ProductItem.low_stock_threshold | DEFAULT_LOW_STOCK_THRESHOLD
            ),
            ProductItem.created_at.set(ProductItem.created_at | now),
            ProductItem.updated_at.set(now),
        ]
        condition = ProductItem.kind.does_not_exist() | (ProductItem.kind == PRODUCT)
        retrying(lambda: record.update(actions=actions, condition=condition), what="product write")
        return _product(record)

    def stock(self, sku: str) -> Stock:
        product = self.get(sku)
        if product is None:
            raise NotFound(f"No product {sku}.", code="product_not_found")
        return product.stock

    def apply_adjustment(
        self, *, sku: str, delta: int, reason: str, actor: str, adjustment_id: str
    ) -> AdjustmentResult:
        ledger_key = f"ADJUSTMENT#{adjustment_id}"
        now = utcnow_str()
        condition = (ProductItem.kind == PRODUCT) & (ProductItem.available >= max(-delta, 0))

        def adjust() -> None:
            with transaction() as tx:
                tx.update(
                    ProductItem(sku),
                    actions=[
                        ProductItem.on_hand.add(delta),
                        ProductItem.available.add(delta),
                        ProductItem.updated_at.set(now),
                    ],
                    condition=condition,
                )
                tx.save(
                    AdjustmentRecord(ledger_key, target=sku, delta=delta, reason=reason, actor=actor, at=now),
                    condition=AdjustmentRecord.sku.does_not_exist(),
                )

        try:
            retrying(adjust, what="stock adjustment")
        except TransactWriteError as exc:
            return self._explain_refusal(exc, sku=sku, delta=delta, ledger_key=ledger_key)
        after = self.stock(sku)
        return AdjustmentResult(after=after, applied=True)

    def _explain_refusal(self, exc: TransactWriteError, *, sku: str, delta: int, ledger_key: str) -> AdjustmentResult:
        """A cancelled transaction is explained by reading what is there now: the ledger entry
        (this adjustment was already applied), the product (unknown SKU), or its stock."""
        if not refused_by_condition(exc):
            raise exc
        try:
            AdjustmentRecord.get(ledger_key, consistent_read=True)
            return AdjustmentResult(after=self.stock(sku), applied=False)
        except AdjustmentRecord.DoesNotExist:
            raise below_reserved(self.stock(sku), delta) from exc
