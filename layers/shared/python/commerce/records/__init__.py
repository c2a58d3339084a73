"""Owners of the items that more than one service reads, in the shared layer because services
never import each other (each owner declares its items' models and keys; any other service
reads or changes those items only through the owner's functions):

- `commerce.records.fulfilment`: shipments, returns, invoices and invoice counters in the
  Orders table (the orders service writes them; customers exports and anonymizes them)
- `commerce.records.carts`: carts in the Carts table (checkout writes them; customers exports
  and deletes them)
- `commerce.records.products`: the product item in the Products table (inventory writes its
  catalog fields and adjusts its stock; `commerce.ledger` reserves and commits stock)

The order item and the stock counters are `commerce.ledger`'s; erased accounts are
`commerce.erasures`'. `docs/architecture.md` ("Table owners") maps every table.

Below: the plain-item helpers both use for export and erasure, where items are handed over as
they are stored (boto3's resource layer, numbers and sets as JSON)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from typing import Any

from commerce.config import setting


@cache
def _resource() -> Any:
    import boto3

    return boto3.resource("dynamodb")


def resource_table(table_setting: str) -> Any:
    """The boto3 resource Table a setting names."""
    return _resource().Table(setting(table_setting))


def stored_json(value: Any) -> Any:
    """A stored item read through boto3's resource layer, as JSON: numbers as int (or float), sets as
    sorted lists (`commerce.dynamo.plain` is the same for PynamoDB attribute values)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: stored_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [stored_json(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(stored_json(v) for v in value)
    if isinstance(value, bytes | bytearray):
        return None
    return value


def pages(call: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a paged boto3 resource query or scan."""
    while True:
        page = call(**kwargs)
        yield from page.get("Items", [])
        if not page.get("LastEvaluatedKey"):
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
