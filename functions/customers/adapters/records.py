"""The customer's records that other services own: orders (with their shipments, returns and
invoices) in the Orders table and carts in the Carts table. Read and anonymized only through
their owner modules in the shared layer (`commerce.records.fulfilment`, `commerce.records.carts`),
which hand them over as plain items: this service reads whatever those items hold (export) and
decides what a personal field becomes (erasure), never their keys or layout."""

from __future__ import annotations

from typing import Any

from commerce.clock import utcnow_str
from commerce.records import carts, fulfilment
from customers.domain.crm import OrderBundle
from customers.domain.profile import ERASED_EMAIL, ERASED_OWNER, anonymized_address, anonymized_bill_to

REDACTION = fulfilment.Redaction(
    email=ERASED_EMAIL, owner=ERASED_OWNER, address=anonymized_address, bill_to=anonymized_bill_to
)


class DynamoOrderRecords:
    """The `OrderRecords` port on the Orders table, through its owner module."""

    def orders_of(self, owner: str) -> list[OrderBundle]:
        return [OrderBundle(order, related) for order, related in fulfilment.customer_orders(owner)]

    def anonymize(self, bundle: OrderBundle, owner: str) -> None:
        """Personal fields of every item under the order replaced in place; the rest (status,
        lines, totals, history, invoice number) kept for accounting."""
        fulfilment.anonymize((bundle.order, *bundle.related), owner, REDACTION, at=utcnow_str())


class DynamoCartRecords:
    """The `CartRecords` port on the Carts table, through its owner module."""

    def carts_of(self, owner: str) -> list[dict[str, Any]]:
        return carts.carts_of(owner)

    def delete(self, cart: dict[str, Any]) -> None:
        carts.delete(cart)
