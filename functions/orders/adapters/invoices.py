"""Invoices in the Orders table (`ORDER#<id>` / `INVOICE` and the year's counter
`INVOICE_SEQ#<year>` / `SEQ`, models and keys in `commerce.records.fulfilment`, their owner).

Numbers are gapless and sequential per year: the counter moves only in the transaction that
writes the invoice and marks the order (`commerce.ledger.invoice_mark`, once, while PAID),
conditioned on the counter's value as read; a transaction refused because another invoice took
the number reads the counter again."""

from __future__ import annotations

import functools
from typing import Any

from pynamodb.exceptions import TransactWriteError

from commerce import ledger
from commerce.clock import now, utcnow_str
from commerce.dynamo import plain, refused_by_condition, retrying
from commerce.errors import TransientError
from commerce.ledger import transaction
from commerce.orders import OrderStatus
from commerce.records import fulfilment
from commerce.records.fulfilment import InvoiceRecord, SequenceRecord
from orders.domain.invoice import invoice_document
from orders.domain.model import Order, OrderNotActive, invoice_number

ATTEMPTS = 20


class DynamoInvoices:
    """The invoice part of the `OrderStore` port."""

    def __init__(self) -> None:
        fulfilment.bind_tables()
        ledger.bind_tables()

    def invoice(self, order_id: str) -> dict[str, Any] | None:
        try:
            document: dict[str, Any] = plain(
                InvoiceRecord.get(*fulfilment.invoice_key(order_id), consistent_read=True).document
            )
            return document
        except InvoiceRecord.DoesNotExist:
            return None

    def issue_invoice(self, order: Order, seller: dict[str, str]) -> str:
        """The order's invoice number: a new one, or the one it already has (a step run again)."""
        issued = now()
        counter_key = fulfilment.sequence_key(issued.year)
        for _ in range(ATTEMPTS):
            try:
                current = int(SequenceRecord.get(*counter_key, consistent_read=True).seq)
            except SequenceRecord.DoesNotExist:
                current = 0
            number = invoice_number(issued.year, current + 1)
            document = invoice_document(order, number=number, issued_at=utcnow_str(), seller=seller)
            try:
                retrying(
                    functools.partial(self._take_invoice_number, order, counter_key, current, number, document),
                    what="invoice write",
                )
            except TransactWriteError as exc:
                if not refused_by_condition(exc):
                    raise
                existing = ledger.read(order.order_id)
                if existing is not None and existing.invoice_number:
                    return existing.invoice_number
                if existing is None or existing.status != OrderStatus.PAID.value:
                    raise OrderNotActive(f"order {order.order_id} left PAID before its invoice was issued") from exc
                continue
            return number
        raise TransientError(
            f"could not take an invoice number after {ATTEMPTS} attempts; retry shortly", retry_after=1
        )

    @staticmethod
    def _take_invoice_number(
        order: Order, counter_key: tuple[str, str], current: int, number: str, document: dict[str, Any]
    ) -> None:
        """Counter, invoice and order mark in one transaction, conditioned on the counter read."""
        with transaction() as tx:
            sequence = SequenceRecord(*counter_key)
            counter_condition = SequenceRecord.seq == current if current else SequenceRecord.pk.does_not_exist()
            tx.update(sequence, actions=[SequenceRecord.seq.set(current + 1)], condition=counter_condition)
            tx.save(
                InvoiceRecord(*fulfilment.invoice_key(order.order_id), invoice_number=number, document=document),
                condition=InvoiceRecord.pk.does_not_exist(),
            )
            ledger.invoice_mark(tx, order.order_id, number)
