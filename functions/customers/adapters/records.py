"""The customer's records that other services own: orders (with their shipments, returns and
invoices) in the Orders table and carts in the Carts table. Read and anonymized through boto3
as plain items, because this service reads whatever those items hold (export) and changes only
their personal fields (erasure), never their layout."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from functools import cache, partial
from typing import Any

from commerce.clock import utcnow_str
from commerce.config import setting
from commerce.dynamo import retrying
from customers.domain.crm import OrderBundle
from customers.domain.profile import ERASED_EMAIL, ERASED_OWNER, anonymized_address, anonymized_bill_to


@cache
def _resource() -> Any:
    import boto3

    return boto3.resource("dynamodb")


def _table(name: str) -> Any:
    return _resource().Table(setting(name))


def plain(value: Any) -> Any:
    """DynamoDB values as JSON: numbers as int (or float), sets as sorted lists."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(plain(v) for v in value)
    if isinstance(value, bytes | bytearray):
        return None
    return value


def _pages(call: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    while True:
        page = call(**kwargs)
        yield from page.get("Items", [])
        if not page.get("LastEvaluatedKey"):
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class DynamoOrderRecords:
    """The `OrderRecords` port on the Orders table (orders service's layout, read-mostly)."""

    def orders_of(self, owner: str) -> list[OrderBundle]:
        table = _table("ORDERS_TABLE")
        found = _pages(
            table.query,
            IndexName="byOwner",
            KeyConditionExpression="#owner = :owner",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={":owner": owner},
            ScanIndexForward=False,
        )
        bundles = []
        for indexed in found:
            if indexed.get("sk") != "ORDER":
                continue
            items = [
                plain(i)
                for i in _pages(
                    table.query,
                    KeyConditionExpression="pk = :pk",
                    ExpressionAttributeValues={":pk": indexed["pk"]},
                    ConsistentRead=True,
                )
            ]
            order = next((i for i in items if i.get("sk") == "ORDER"), None)
            if order is None or order.get("owner") != owner:  # the index lags the table
                continue
            bundles.append(OrderBundle(order, tuple(i for i in items if i.get("sk") != "ORDER")))
        return bundles

    def anonymize(self, bundle: OrderBundle, owner: str) -> None:
        """Personal fields of every item under the order replaced in place; the rest (status,
        lines, totals, history, invoice number) kept for accounting."""
        from botocore.exceptions import ClientError

        table = _table("ORDERS_TABLE")
        stamp = utcnow_str()
        for item in (bundle.order, *bundle.related):
            sets: dict[str, Any] = {}
            if "email" in item:
                sets["email"] = ERASED_EMAIL
            if item.get("owner") == owner:
                sets["owner"] = ERASED_OWNER
            if "shippingAddress" in item:
                sets["shippingAddress"] = anonymized_address(item["shippingAddress"])
            if "billTo" in item:
                sets["billTo"] = anonymized_bill_to(item["billTo"])
            document = item.get("document")
            if isinstance(document, dict) and "billTo" in document:
                sets["document.billTo"] = anonymized_bill_to(document["billTo"])
            if not sets:
                continue
            sets["erasedAt"] = stamp
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
            if item.get("sk") == "ORDER":
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


class DynamoCartRecords:
    """The `CartRecords` port on the Carts table. Carts have no index by owner, so a customer's
    carts are found with a filtered scan: only export and erasure, both rare, need them."""

    def carts_of(self, owner: str) -> list[dict[str, Any]]:
        items = _pages(
            _table("CARTS_TABLE").scan,
            FilterExpression="#owner = :owner",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={":owner": owner},
            ConsistentRead=True,
        )
        return [plain(i) for i in items]

    def delete(self, cart: dict[str, Any]) -> None:
        key = {"pk": cart["pk"], "sk": cart["sk"]}
        retrying(lambda: _table("CARTS_TABLE").delete_item(Key=key), what="cart deletion")
