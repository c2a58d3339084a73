"""One in-memory ledger behind both services' fakes: for unit tests only.

`FakeLedger` is `commerce.ledger` in memory: the order items (`records`, keyed by order id, with
the Orders table's attribute names; an attribute that is absent in DynamoDB is absent here) and
the Products stock counters (`stock`, {sku: {"onHand", "reserved", "available"}}). `apply` writes
a planned `commerce.orders.Change` with exactly the conditions of `commerce.ledger.apply`: the
status as read; the stock state the move requires (or none yet, for RESERVED); the payment state
as read (or none yet, for PENDING/AUTHORIZED); the returns version as read; the refunded amount
leaving room for the refund; every decremented counter at least the line's quantity and every
product present. Like a DynamoDB transaction it writes everything or nothing (with `extra`, the
other items of the same transaction), so the checkout and orders fakes, which each build their
own domain `Order` from the records, read exactly what the ledger wrote.

`FakeMoney` is `commerce.stripe_money.StripeMoney` over a dict of intents (each with `status`,
`amount`, `currency`, `order_id`, such as checkout's `Payment`)."""

from __future__ import annotations

import copy
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, replace
from typing import Any

from commerce.clock import utcnow_str
from commerce.errors import TransientError
from commerce.orders import (
    STOCK_MOVES,
    Change,
    OrderState,
    OrderStatus,
    PaymentState,
    StockState,
)

Record = dict[str, Any]
"""An order item (`ORDER#<id>` / `ORDER`) by its DynamoDB attribute names."""

FACTS = ("paymentIntentId", "declineCode", "endAs", "refundingReturn")
"""The facts a change may record (`commerce.ledger._FACTS`); any other name is an error there."""

RESTOCK = {"onHand": 1, "available": 1}


class TransactionInvalid(Exception):
    """What DynamoDB answers (ValidationException) to a transaction it cannot even evaluate:
    two operations on one item, or one update that sets and removes the same attribute."""


@dataclass(frozen=True)
class Write:
    """Another item written in the same transaction as an order change: the whole transaction
    is refused, and nothing written, unless `condition()` holds."""

    condition: Callable[[], bool]
    action: Callable[[], None]
    item: str = "extra"
    """The item's key, to refuse two operations on one item as DynamoDB does."""


def state_of(record: Record) -> OrderState:
    """`commerce.ledger.state_of` over a record."""
    payment = record.get("paymentState")
    if not payment:
        pending = (OrderStatus.PENDING_PAYMENT.value, OrderStatus.PAYMENT_FAILED.value)
        payment = PaymentState.PENDING if record["status"] in pending else PaymentState.AUTHORIZED
    return OrderState(
        order_id=record["orderId"],
        status=OrderStatus(record["status"]),
        lines=lines_of(record),
        total=int(record["totalAmount"]),
        currency=record["currency"],
        stock_state=StockState(record.get("stockState") or StockState.RESERVED),
        payment_state=PaymentState(payment),
        payment_intent_id=record.get("paymentIntentId"),
        refunded=int(record.get("refundedAmount") or 0),
        returns_version=int(record.get("returnsVersion") or 0),
        end_as=OrderStatus(record["endAs"]) if record.get("endAs") else None,
        refunding_return=record.get("refundingReturn"),
        updated_at=record.get("updatedAt") or record["createdAt"],
        correlation_id=record.get("correlationId"),
    )


def lines_of(record: Record) -> tuple[tuple[str, int], ...]:
    return tuple((str(x["sku"]), int(x["quantity"])) for x in record["lines"])


def order_record(state: OrderState, *, created_at: str = "2026-01-01T00:00:00.000Z", **more: Any) -> Record:
    """A minimal order item for an `OrderState` (what a settlement test needs), as checkout's
    placement and the later changes would have left it."""
    record: Record = {
        "orderId": state.order_id,
        "status": state.status.value,
        "email": "ada@example.com",
        "lines": [{"sku": sku, "name": sku, "quantity": q, "unitPrice": 0} for sku, q in state.lines],
        "subtotalAmount": state.total,
        "shippingAmount": 0,
        "taxAmount": 0,
        "totalAmount": state.total,
        "currency": state.currency,
        "createdAt": created_at,
        "updatedAt": state.updated_at or created_at,
        "history": [{"status": state.status.value, "at": created_at, "note": "seeded"}],
        "stockState": state.stock_state.value,
        "paymentState": state.payment_state.value,
    }
    optional = {
        "paymentIntentId": state.payment_intent_id,
        "refundedAmount": state.refunded or None,
        "returnsVersion": state.returns_version or None,
        "endAs": state.end_as.value if state.end_as else None,
        "refundingReturn": state.refunding_return,
    }
    record.update({name: value for name, value in optional.items() if value is not None})
    record.update(more)
    return record


class FakeLedger:
    """The ledger port (`state`, `apply`, `stuck`, `note_reconciled`) and the other writes
    `commerce.ledger` makes for the services (placing, intent, token, marks, invoice mark)."""

    def __init__(
        self, stock: dict[str, dict[str, int]] | None = None, *, clock: Callable[[], str] = utcnow_str
    ) -> None:
        self.records: dict[str, Record] = {}
        self.stock: dict[str, dict[str, int]] = stock if stock is not None else {}
        self.inactive: set[str] = set()
        """Products not ACTIVE (or not products): placing refuses them, as `commerce.ledger.place`."""
        self.clock = clock
        self.applied: list[Change] = []
        self.refused: list[Change] = []
        self.before_apply: list[Callable[[Change], None]] = []
        """Run (and dropped) one per `apply`, before it reads anything: another actor getting
        there first, for interleavings."""

    # reads ------------------------------------------------------------------------------------

    def add(self, record: Record) -> None:
        self.records[record["orderId"]] = copy.deepcopy(record)

    def record(self, order_id: str) -> Record | None:
        return self.records.get(order_id)

    def state(self, order_id: str) -> OrderState | None:
        record = self.records.get(order_id)
        return state_of(record) if record is not None else None

    def counts(self, counter: str) -> dict[str, int]:
        """One counter of every product, e.g. `counts("available")`."""
        return {sku: counters[counter] for sku, counters in self.stock.items()}

    def history(self, order_id: str) -> list[str]:
        return [str(entry["status"]) for entry in self.records[order_id]["history"]]

    def stuck(self, status: OrderStatus, updated_before: str, limit: int = 100) -> list[OrderState]:
        """By the `byStatus` index (oldest created first), filtered on `updatedAt` (an item
        without one never passes the filter)."""
        found = sorted(
            (
                r
                for r in self.records.values()
                if r["status"] == status.value and "updatedAt" in r and r["updatedAt"] < updated_before
            ),
            key=lambda r: str(r["createdAt"]),
        )
        return [state_of(r) for r in found[:limit]]

    # the order change --------------------------------------------------------------------------

    def apply(self, change: Change, *, extra: Write | None = None) -> bool:
        if self.before_apply:
            self.before_apply.pop(0)(change)
        order = change.order
        ops = [f"ORDER#{order.order_id}"]
        if change.stock is not None:
            ops += [f"PRODUCT#{sku}" for sku, _ in order.lines]
        ops += [f"PRODUCT#{sku}" for sku, _ in change.restock]
        if extra is not None:
            ops.append(extra.item)
        if len(set(ops)) != len(ops):
            raise TransactionInvalid(f"Transaction request cannot include multiple operations on one item: {ops}")
        if (
            order.status is OrderStatus.REFUNDING
            and change.status not in (None, order.status)
            and change.facts.get("refundingReturn")
        ):
            raise TransactionInvalid("Two document paths overlap: refundingReturn set and removed")
        unknown = set(change.facts) - set(FACTS)
        if unknown:
            raise KeyError(f"no such fact {sorted(unknown)}")

        record = self.records.get(order.order_id)
        moves = STOCK_MOVES[change.stock][2] if change.stock is not None else {}
        holds = (
            record is not None
            and self._order_holds(record, change)
            and (change.stock is None or self._counters_hold(order.lines, moves))
            and self._counters_hold(change.restock, RESTOCK)
            and (extra is None or extra.condition())
        )
        if record is None or not holds:
            self.refused.append(change)
            return False

        stamp = self.clock()
        record["updatedAt"] = stamp
        if change.status is not None and change.status is not order.status:
            record["status"] = change.status.value
            record["history"] = [*record["history"], {"status": change.status.value, "at": stamp, "note": change.note}]
            if order.status is OrderStatus.REFUNDING:
                record.pop("refundingReturn", None)
        if change.stock is not None:
            record["stockState"] = STOCK_MOVES[change.stock][1].value
            self._move(order.lines, moves)
        if change.payment is not None:
            record["paymentState"] = change.payment.value
        if change.returns_version:
            record["returnsVersion"] = int(record.get("returnsVersion") or 0) + 1
        if change.refund:
            record["refundedAmount"] = int(record.get("refundedAmount") or 0) + change.refund
        record.update({name: value for name, value in change.facts.items() if value})
        self._move(change.restock, RESTOCK)
        if extra is not None:
            extra.action()
        self.applied.append(change)
        return True

    @staticmethod
    def _order_holds(record: Record, change: Change) -> bool:
        """The conditions of `commerce.ledger._order_update`."""
        order = change.order
        if record.get("status") != order.status.value:
            return False
        if change.stock is not None:
            required = STOCK_MOVES[change.stock][0]
            have = record.get("stockState")
            if not (have == required.value or (required is StockState.RESERVED and have is None)):
                return False
        if change.payment is not None:
            have = record.get("paymentState")
            unset_ok = order.payment_state in (PaymentState.PENDING, PaymentState.AUTHORIZED)
            if not (have == order.payment_state.value or (unset_ok and have is None)):
                return False
        if change.returns_version:
            have = record.get("returnsVersion")
            if not (have == order.returns_version or (order.returns_version == 0 and have is None)):
                return False
        if change.refund:
            have = record.get("refundedAmount")
            if not (have is None or have <= order.total - change.refund):
                return False
        return True

    def _counters_hold(self, lines: tuple[tuple[str, int], ...], moves: dict[str, int]) -> bool:
        """`commerce.ledger._stock_updates`: each decremented counter at least the quantity (so
        never below zero); with none decremented, the product must exist."""
        for sku, quantity in lines:
            counters = self.stock.get(sku)
            if counters is None:
                return False
            if any(counters.get(name, 0) < quantity for name, sign in moves.items() if sign < 0):
                return False
        return True

    def _move(self, lines: tuple[tuple[str, int], ...], moves: dict[str, int]) -> None:
        for sku, quantity in lines:
            for name, sign in moves.items():
                self.stock[sku][name] = self.stock[sku].get(name, 0) + sign * quantity

    # the other writes of commerce.ledger -----------------------------------------------------

    def place(self, record: Record, *, extra: Write | None = None) -> bool:
        """`commerce.ledger.place`: the order written PENDING_PAYMENT with every line reserved
        (each product present with enough available), with `extra`, or nothing (False)."""
        lines = lines_of(record)
        refused = (
            record["orderId"] in self.records
            or any(
                sku not in self.stock or sku in self.inactive or self.stock[sku]["available"] < q for sku, q in lines
            )
            or (extra is not None and not extra.condition())
        )
        if refused:
            return False
        self.add({**record, "stockState": StockState.RESERVED.value, "paymentState": PaymentState.PENDING.value})
        self._move(lines, {"reserved": 1, "available": -1})
        if extra is not None:
            extra.action()
        return True

    def set_intent(self, order_id: str, intent_id: str) -> bool:
        record = self.records.get(order_id)
        if record is None or record["status"] != OrderStatus.PENDING_PAYMENT.value:
            return False
        record.update(paymentIntentId=intent_id, updatedAt=self.clock())
        return True

    def set_token(self, order_id: str, token_hash: str) -> bool:
        record = self.records.get(order_id)
        if record is None:
            return False
        record["orderTokenHash"] = token_hash
        return True

    def add_email(self, order_id: str, name: str) -> bool:
        record = self.records.get(order_id)
        if record is None:
            return False
        record["emailsSent"] = {*record.get("emailsSent", set()), name}
        return True

    def mark_once(self, order_id: str, flag: str) -> bool:
        if flag not in ("fulfilmentRequestedAt", "fulfilmentAcceptedAt"):
            raise KeyError(flag)
        record = self.records.get(order_id)
        if record is None or flag in record:
            return False
        record[flag] = self.clock()
        return True

    def invoice_mark(self, order_id: str, number: str) -> Write:
        """The order's invoice number, for the invoice's own transaction: once, while PAID."""

        def holds() -> bool:
            record = self.records.get(order_id)
            return record is not None and "invoiceNumber" not in record and record["status"] == OrderStatus.PAID.value

        return Write(holds, lambda: self.records[order_id].update(invoiceNumber=number), item=f"ORDER#{order_id}")

    def note_reconciled(self, order: OrderState) -> int | None:
        record = self.records.get(order.order_id)
        if record is None:
            return None
        attempts = int(record.get("reconcileAttempts") or 0) + 1
        # `commerce.ledger.note_reconciled`: the status and the updatedAt as read (an item without
        # updatedAt never matches: the state read it as createdAt)
        if record["status"] != order.status.value or record.get("updatedAt") != order.updated_at:
            return None
        record["reconcileAttempts"] = attempts
        record["updatedAt"] = self.clock()
        return attempts


# --- money -------------------------------------------------------------------------------------

VOIDABLE = ("requires_capture", "requires_payment_method", "requires_action", "requires_confirmation")
AUTHORIZED = ("requires_capture", "succeeded")


@dataclass(frozen=True)
class Intent:
    """A Stripe PaymentIntent as far as `FakeMoney` reads it."""

    intent_id: str
    status: str
    amount: int
    currency: str = "usd"
    order_id: str | None = None


def intent_status(payment: PaymentState) -> str:
    """The intent's Stripe status behind an order's payment state."""
    return {
        PaymentState.PENDING: "requires_payment_method",
        PaymentState.AUTHORIZED: "requires_capture",
        PaymentState.CAPTURED: "succeeded",
        PaymentState.VOIDED: "canceled",
        PaymentState.REFUNDED: "succeeded",
    }[payment]


class FakeMoney:
    """`commerce.settlement.Money`: `release` voids an intent not captured (VOIDED), refunds a
    captured one (REFUNDED), and reports an already canceled one VOIDED; idempotent like Stripe
    with its idempotency keys. Set `unavailable` to make the next releases raise TransientError."""

    def __init__(self, intents: MutableMapping[str, Any] | None = None) -> None:
        self.intents: MutableMapping[str, Any] = intents if intents is not None else {}
        self.released: list[tuple[str, PaymentState]] = []
        self.refunded: set[str] = set()
        self.asked: list[str] = []
        self.unavailable = 0
        """How many of the next `release` calls raise TransientError."""

    def release(self, intent_id: str, order_id: str) -> PaymentState:
        if self.unavailable:
            self.unavailable -= 1
            raise TransientError("The payment provider is unavailable (APIConnectionError).", retry_after=2)
        intent = self.intents[intent_id]
        if intent.status == "canceled":
            outcome = PaymentState.VOIDED
        elif intent.status in VOIDABLE:
            self.intents[intent_id] = replace(intent, status="canceled")
            outcome = PaymentState.VOIDED
        elif intent.status == "succeeded":
            self.refunded.add(intent_id)
            outcome = PaymentState.REFUNDED
        else:
            raise TransientError(f"payment {intent_id} is {intent.status}; retry shortly", retry_after=2)
        self.released.append((intent_id, outcome))
        return outcome

    def authorized_for(self, intent_id: str, order: OrderState) -> bool:
        self.asked.append(intent_id)
        intent = self.intents.get(intent_id)
        return (
            intent is not None
            and intent.status in AUTHORIZED
            and intent.order_id == order.order_id
            and intent.amount == order.total
            and intent.currency == order.currency
        )
