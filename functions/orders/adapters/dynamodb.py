"""Orders in the Orders table (pk `ORDER#<id>`, sk `ORDER`), through PynamoDB."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from commerce.dynamo import bind


class OrderRecord(Model):
    class Meta:
        table_name: str | None = None
        region: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()
    total_amount = NumberAttribute(attr_name="totalAmount", null=True)
    currency = UnicodeAttribute(null=True)


class DynamoOrders:
    def __init__(self) -> None:
        bind("ORDERS_TABLE", OrderRecord)

    def summary(self, order_id: str) -> dict[str, Any] | None:
        try:
            record = OrderRecord.get(f"ORDER#{order_id}", "ORDER")
        except OrderRecord.DoesNotExist:
            return None
        return {
            "orderId": order_id,
            "status": record.status,
            "total": {"amount": int(record.total_amount or 0), "currency": record.currency or "usd"},
        }
