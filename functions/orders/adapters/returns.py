"""Returns of an order in the Orders table (`ORDER#<id>` / `RETURN#<return id>`, model and keys
in `commerce.records.fulfilment`, their owner): the orders service's reads and writes of them as
domain `Return`s. Every write is in the same transaction as the order change it goes with
(`commerce.ledger.apply`), conditioned on the return's state as read: REQUESTED -> REFUNDING
(with the amount and restock choice) -> REFUNDED. How much may be returned (never more than
bought) is the domain's rule (`orders.domain.returns`); the order's refunded amount never
exceeds its total is the ledger's condition."""

from __future__ import annotations

from pynamodb.transactions import TransactWrite

from commerce import ledger
from commerce.clock import utcnow_str
from commerce.dynamo import plain
from commerce.orders import Change
from commerce.records import fulfilment
from commerce.records.fulfilment import RETURN_PREFIX, ReturnRecord
from orders.domain.returns import Return, ReturnLine, ReturnStatus


def return_of(record: ReturnRecord) -> Return:
    return Return(
        return_id=record.return_id,
        order_id=record.order_id,
        status=ReturnStatus(record.status),
        lines=tuple(
            ReturnLine(str(x["sku"]), int(x["quantity"]), str(x.get("reason") or "")) for x in plain(record.lines)
        ),
        created_at=record.created_at,
        refund_amount=None if record.refund_amount is None else int(record.refund_amount),
        refunded_at=record.refunded_at,
        restocked=record.restocked == "true",
    )


class DynamoReturns:
    """The returns part of the `OrderStore` port."""

    def __init__(self) -> None:
        fulfilment.bind_tables()
        ledger.bind_tables()

    def returns(self, order_id: str) -> list[Return]:
        records = ReturnRecord.query(
            fulfilment.partition(order_id), ReturnRecord.sk.startswith(RETURN_PREFIX), consistent_read=True
        )
        return sorted((return_of(r) for r in records), key=lambda r: r.created_at)

    def return_by_id(self, return_id: str) -> Return | None:
        found = list(ReturnRecord.by_return.query(return_id, limit=1))
        if not found:
            return None
        try:
            return return_of(ReturnRecord.get(found[0].pk, found[0].sk, consistent_read=True))
        except ReturnRecord.DoesNotExist:
            return None

    def add_return(self, change: Change, ret: Return, currency: str) -> bool:
        """The return and the order's move (RETURN_REQUESTED, returns version), in one transaction."""

        def save(tx: TransactWrite) -> None:
            tx.save(
                ReturnRecord(
                    *fulfilment.return_key(ret.order_id, ret.return_id),
                    return_id=ret.return_id,
                    order_id=ret.order_id,
                    status=ret.status.value,
                    lines=[line.to_json() for line in ret.lines],
                    created_at=ret.created_at,
                    currency=currency,
                ),
                condition=ReturnRecord.pk.does_not_exist(),
            )

        return ledger.apply(change, extra=save)

    def begin_refund(self, change: Change, ret: Return, *, amount: int, restock: bool) -> bool:
        """The return REFUNDING with its amount and restock choice, and the order REFUNDING."""

        def mark(tx: TransactWrite) -> None:
            tx.update(
                ReturnRecord(*fulfilment.return_key(ret.order_id, ret.return_id)),
                actions=[
                    ReturnRecord.status.set(ReturnStatus.REFUNDING.value),
                    ReturnRecord.refund_amount.set(amount),
                    ReturnRecord.restocked.set("true" if restock else "false"),
                ],
                condition=ReturnRecord.status == ReturnStatus.REQUESTED.value,
            )

        return ledger.apply(change, extra=mark)

    def finish_refund(self, change: Change, ret: Return) -> bool:
        """The return REFUNDED, with the order's refunded amount, restock and status."""

        def mark(tx: TransactWrite) -> None:
            tx.update(
                ReturnRecord(*fulfilment.return_key(ret.order_id, ret.return_id)),
                actions=[
                    ReturnRecord.status.set(ReturnStatus.REFUNDED.value),
                    ReturnRecord.refunded_at.set(utcnow_str()),
                ],
                condition=ReturnRecord.status == ReturnStatus.REFUNDING.value,
            )

        return ledger.apply(change, extra=mark)
