"""The one owner of the Orders table's items besides the order itself: shipments, returns,
invoices and the invoice counters. Their PynamoDB models, keys and indexes are declared here
and nowhere else. Item layout:

- `ORDER#<id>` / `SHIPMENT#<shipment id>`: a shipment and its tracking events (indexes
  `byShipment`, `byTracking`)
- `ORDER#<id>` / `RETURN#<return id>`: a return and its refund (index `byReturn`)
- `ORDER#<id>` / `INVOICE`: the invoice document
- `INVOICE_SEQ#<year>` / `SEQ`: the year's last invoice number

The order item (`ORDER#<id>` / `ORDER`) shares their partition and is `commerce.ledger`'s.

Who uses what: the orders service writes and reads these items through the models here (its
adapters turn them into its domain objects and write them in the ledger's transactions). The
customers service reads and anonymizes a customer's whole order partitions, for data export and
erasure, only through `customer_orders` and `anonymize` below: it never learns the keys.
Erasure also replaces the personal fields of the order item itself (email, owner, shipping
address), conditioned on the owner; no field `commerce.ledger` reads or conditions on is written.

Why the shared layer: two services need these items and services never import each other; the
layer is the one module both import."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from commerce.dynamo import bind, retrying
from commerce.ledger import ORDER, ORDER_PREFIX
from commerce.records import pages, resource_table, stored_json

TABLE_SETTING = "ORDERS_TABLE"
SHIPMENT_PREFIX = "SHIPMENT#"
RETURN_PREFIX = "RETURN#"
INVOICE = "INVOICE"


class ByShipment(GlobalSecondaryIndex["ShipmentRecord"]):
    class Meta:
        index_name = "byShipment"
        projection = AllProjection()

    shipment_id = UnicodeAttribute(hash_key=True, attr_name="shipmentId")


class ByTracking(GlobalSecondaryIndex["ShipmentRecord"]):
    class Meta:
        index_name = "byTracking"
        projection = AllProjection()

    tracking_number = UnicodeAttribute(hash_key=True, attr_name="trackingNumber")


class ShipmentRecord(Model):
    """`ORDER#<id>` / `SHIPMENT#<shipment id>`."""

    class Meta:
        table_name: str | None = None
        region: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    shipment_id = UnicodeAttribute(attr_name="shipmentId")
    order_id = UnicodeAttribute(attr_name="orderId")
    carrier = UnicodeAttribute()
    tracking_number = UnicodeAttribute(attr_name="trackingNumber")
    status = UnicodeAttribute()
    created_at = UnicodeAttribute(attr_name="createdAt")
    events = ListAttribute[Any](of=MapAttribute)
    version = NumberAttribute(default=0)
    by_shipment = ByShipment()
    by_tracking = ByTracking()


class ByReturn(GlobalSecondaryIndex["ReturnRecord"]):
    class Meta:
        index_name = "byReturn"
        projection = AllProjection()

    return_id = UnicodeAttribute(hash_key=True, attr_name="returnId")


class ReturnRecord(Model):
    """`ORDER#<id>` / `RETURN#<return id>`."""

    class Meta:
        table_name: str | None = None
        region: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    return_id = UnicodeAttribute(attr_name="returnId")
    order_id = UnicodeAttribute(attr_name="orderId")
    status = UnicodeAttribute()
    lines = ListAttribute[Any](of=MapAttribute)
    created_at = UnicodeAttribute(attr_name="createdAt")
    refund_amount = NumberAttribute(attr_name="refundAmount", null=True)
    currency = UnicodeAttribute(null=True)
    refunded_at = UnicodeAttribute(attr_name="refundedAt", null=True)
    restocked = UnicodeAttribute(null=True)
    by_return = ByReturn()


class InvoiceRecord(Model):
    """`ORDER#<id>` / `INVOICE`."""

    class Meta:
        table_name: str | None = None
        region: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    invoice_number = UnicodeAttribute(attr_name="invoiceNumber")
    document = MapAttribute[str, Any]()


class SequenceRecord(Model):
    """`INVOICE_SEQ#<year>` / `SEQ`."""

    class Meta:
        table_name: str | None = None
        region: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    seq = NumberAttribute(default=0)


def bind_tables() -> None:
    """Point the models at the Orders table (on first use, not at import)."""
    bind(TABLE_SETTING, ShipmentRecord, InvoiceRecord, SequenceRecord, ReturnRecord)


def partition(order_id: str) -> str:
    """The partition key every item of an order shares."""
    return f"{ORDER_PREFIX}{order_id}"


def shipment_key(order_id: str, shipment_id: str) -> tuple[str, str]:
    return partition(order_id), f"{SHIPMENT_PREFIX}{shipment_id}"


def return_key(order_id: str, return_id: str) -> tuple[str, str]:
    return partition(order_id), f"{RETURN_PREFIX}{return_id}"


def invoice_key(order_id: str) -> tuple[str, str]:
    return partition(order_id), INVOICE


def sequence_key(year: int) -> tuple[str, str]:
    return f"INVOICE_SEQ#{year}", "SEQ"


# --- a customer's orders, for data export and erasure -----------------------------------------
#
# Read and written as plain items (boto3's resource layer) because export hands over whatever the
# items hold and erasure changes only their personal fields, never their layout.


def _table() -> Any:
    return resource_table(TABLE_SETTING)


def customer_orders(owner: str) -> list[tuple[dict[str, Any], tuple[dict[str, Any], ...]]]:
    """Every order `owner` placed, newest first, as plain items: the order item and the other
    items of its partition (shipments, returns, invoice), each read strongly consistent. Found
    through the order item's `byOwner` index, which lags the table: an order whose item no
    longer names the owner is left out."""
    table = _table()
    found = pages(
        table.query,
        IndexName="byOwner",
        KeyConditionExpression="#owner = :owner",
        ExpressionAttributeNames={"#owner": "owner"},
        ExpressionAttributeValues={":owner": owner},
        ScanIndexForward=False,
    )
    orders = []
    for indexed in found:
        if indexed.get("sk") != ORDER:
            continue
        items = [
            stored_json(i)
            for i in pages(
                table.query,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": indexed["pk"]},
                ConsistentRead=True,
            )
        ]
        order = next((i for i in items if i.get("sk") == ORDER), None)
        if order is None or order.get("owner") != owner:
            continue
        orders.append((order, tuple(i for i in items if i.get("sk") != ORDER)))
    return orders


@dataclass(frozen=True)
class Redaction:
    """What a personal field becomes on erasure (the customers service decides the values;
    this module knows which fields of which items are personal)."""

    email: str
    owner: str
    address: Callable[[Any], dict[str, Any]]
    bill_to: Callable[[Any], dict[str, Any]]


def _personal_fields(item: dict[str, Any], owner: str, redaction: Redaction) -> dict[str, Any]:
    """The document paths of `item` that hold personal data, with what they become."""
    sets: dict[str, Any] = {}
    if "email" in item:
        sets["email"] = redaction.email
    if item.get("owner") == owner:
        sets["owner"] = redaction.owner
    if "shippingAddress" in item:
        sets["shippingAddress"] = redaction.address(item["shippingAddress"])
    if "billTo" in item:
        sets["billTo"] = redaction.bill_to(item["billTo"])
    document = item.get("document")
    if isinstance(document, dict) and "billTo" in document:
        sets["document.billTo"] = redaction.bill_to(document["billTo"])
    return sets


def anonymize(items: Iterable[dict[str, Any]], owner: str, redaction: Redaction, *, at: str) -> None:
    """Replace the personal fields of each item (as `customer_orders` read it) in place, stamped
    `erasedAt`; the rest (status, lines, totals, history, invoice number) is kept for accounting.
    An item gone meanwhile, or an order item no longer `owner`'s, is left alone. Only personal
    fields are written: never an attribute `commerce.ledger` conditions an order change on."""
    from botocore.exceptions import ClientError

    table = _table()
    for item in items:
        sets = _personal_fields(item, owner, redaction)
        if not sets:
            continue
        sets["erasedAt"] = at
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        assignments = []
        for i, (path, value) in enumerate(sets.items()):
            segments = []
            for j, segment in enumerate(path.split(".")):
                names[f"#a{i}_{j}"] = segment
                segments.append(f"#a{i}_{j}")
            assignments.append(f"{'.'.join(segments)} = :v{i}")
            values[f":v{i}"] = value
        condition = "attribute_exists(pk)"
        if item.get("sk") == ORDER:
            condition += " AND #owner = :owner"
            names["#owner"] = "owner"
            values[":owner"] = owner
        update = partial(
            table.update_item,
            Key={"pk": item["pk"], "sk": item["sk"]},
            UpdateExpression="SET " + ", ".join(assignments),
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
        try:
            retrying(update, what="order anonymization")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
