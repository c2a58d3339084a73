"""In-memory order ports: for unit tests only."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from commerce.clock import now, utcnow_str
from commerce.errors import TransientError
from commerce.orders import Change, OrderLine, OrderStatus
from orders.domain.emails import Email
from orders.domain.invoice import invoice_document
from orders.domain.model import Order, OrderNotActive, PaymentState, Shipment, StockState, invoice_number
from orders.domain.returns import Return, ReturnStatus
from orders.service import Orders
from tests.unit.ledger_fakes import FakeLedger, FakeMoney, Intent, Record, Write, intent_status, state_of


def paid_order(order_id: str = "o1", **changes: Any) -> Order:
    order = Order(
        order_id=order_id,
        status=OrderStatus.PAID,
        email="ada@example.com",
        owner="user-1",
        lines=(OrderLine("A", "Tent", 2, 1000),),
        subtotal=2000,
        shipping=599,
        tax=160,
        total=2759,
        currency="usd",
        shipping_address={"name": "Ada", "line1": "1 Main", "city": "X", "postalCode": "1", "country": "US"},
        token_hash="h",
        created_at="2026-01-01T00:00:00.000Z",
        payment_intent_id=f"pi_{order_id}",
        payment_state=PaymentState.AUTHORIZED,
        history=({"status": "PENDING_PAYMENT", "note": "checkout"}, {"status": "PAID", "note": "payment authorized"}),
    )
    return replace(order, **changes)


def record_of(order: Order) -> Record:
    """The order item behind a domain `Order` (absent attributes left out, as DynamoDB has them)."""
    record: Record = {
        "orderId": order.order_id,
        "status": order.status.value,
        "email": order.email,
        "owner": order.owner,
        "lines": [
            {"sku": x.sku, "name": x.name, "quantity": x.quantity, "unitPrice": x.unit_price} for x in order.lines
        ],
        "subtotalAmount": order.subtotal,
        "shippingAmount": order.shipping,
        "taxAmount": order.tax,
        "totalAmount": order.total,
        "currency": order.currency,
        "shippingAddress": dict(order.shipping_address),
        "orderTokenHash": order.token_hash,
        "createdAt": order.created_at,
        "updatedAt": order.updated_at or order.created_at,
        "history": [dict(h) for h in order.history],
        "stockState": order.stock_state.value,
        "paymentState": order.payment_state.value,
    }
    optional: dict[str, Any] = {
        "paymentIntentId": order.payment_intent_id,
        "invoiceNumber": order.invoice_number,
        "fulfilmentRequestedAt": order.fulfilment_requested_at,
        "emailsSent": set(order.emails) or None,
        "refundedAmount": order.refunded or None,
        "returnsVersion": order.returns_version or None,
        "endAs": order.end_as.value if order.end_as else None,
        "refundingReturn": order.refunding_return,
        "reconcileAttempts": order.reconcile_attempts or None,
    }
    record.update({name: value for name, value in optional.items() if value is not None})
    return record


def _order(record: Record) -> Order:
    """`orders.adapters.dynamodb.order_of` over a ledger record."""
    state = state_of(record)
    return Order(
        order_id=record["orderId"],
        status=state.status,
        email=record["email"],
        owner=record.get("owner"),
        lines=tuple(OrderLine.from_item(x) for x in record["lines"]),
        subtotal=int(record["subtotalAmount"]),
        shipping=int(record["shippingAmount"]),
        tax=int(record["taxAmount"]),
        total=int(record["totalAmount"]),
        currency=record["currency"],
        shipping_address=dict(record["shippingAddress"]),
        token_hash=record["orderTokenHash"],
        created_at=record["createdAt"],
        payment_intent_id=record.get("paymentIntentId"),
        history=tuple(dict(h) for h in record["history"]),
        stock_state=state.stock_state,
        payment_state=state.payment_state,
        invoice_number=record.get("invoiceNumber"),
        fulfilment_requested_at=record.get("fulfilmentRequestedAt"),
        emails={name: "sent" for name in record.get("emailsSent") or set()},
        refunded=state.refunded,
        returns_version=state.returns_version,
        end_as=state.end_as,
        refunding_return=state.refunding_return,
        updated_at=state.updated_at,
        reconcile_attempts=int(record.get("reconcileAttempts") or 0),
    )


class FakeOrderStore:
    """The orders store over the shared `FakeLedger`: the order items are the ledger's (every
    `get` builds the domain Order from the ledger's record); shipments, returns and invoices are
    kept here and written in the same transaction as the order change they go with."""

    def __init__(self, ledger: FakeLedger, *orders: Order) -> None:
        self.ledger = ledger
        for order in orders:
            ledger.add(record_of(order))
        self.invoices: dict[str, dict[str, Any]] = {}
        self.sequence = 0
        self.shipment_rows: dict[str, Shipment] = {}
        self.return_rows: dict[str, Return] = {}

    @property
    def orders(self) -> dict[str, Order]:
        """Every order as `get` reads it (what the ledger holds now)."""
        return {order_id: _order(record) for order_id, record in self.ledger.records.items()}

    @property
    def stock(self) -> dict[str, dict[str, int]]:
        return self.ledger.stock

    def get(self, order_id: str) -> Order | None:
        record = self.ledger.record(order_id)
        return _order(record) if record is not None else None

    def _newest_first(self, orders: list[Order]) -> list[Order]:
        return sorted(orders, key=lambda o: o.created_at, reverse=True)

    def list_for_owner(self, owner: str, limit: int, start: Any) -> tuple[list[Order], None]:
        """Newest first, as the `byOwner` index (sorted by `createdAt`) is read."""
        return self._newest_first([o for o in self.orders.values() if o.owner == owner])[:limit], None

    def list_all(self, status: str | None, limit: int, start: Any) -> tuple[list[Order], None]:
        """Newest first, as the `byStatus` index is read (and a scan's page is sorted)."""
        found = [o for o in self.orders.values() if status in (None, o.status.value)]
        return self._newest_first(found)[:limit], None

    def issue_invoice(self, order: Order, seller: dict[str, str]) -> str:
        """The counter (of this year's numbers, as the table keeps one per year), the invoice and
        the order's mark (once, while PAID) at once."""
        number = invoice_number(now().year, self.sequence + 1)
        mark = self.ledger.invoice_mark(order.order_id, number)
        if not mark.condition():
            existing = self.get(order.order_id)
            if existing is not None and existing.invoice_number:
                return existing.invoice_number
            raise OrderNotActive(f"order {order.order_id} left PAID before its invoice was issued")
        self.sequence += 1
        self.invoices[order.order_id] = invoice_document(order, number=number, issued_at=utcnow_str(), seller=seller)
        mark.action()
        return number

    def invoice(self, order_id: str) -> dict[str, Any] | None:
        return self.invoices.get(order_id)

    def mark(self, order: Order, flag: str) -> bool:
        if flag.startswith("emails."):
            return self.ledger.add_email(order.order_id, flag.removeprefix("emails."))
        return self.ledger.mark_once(order.order_id, flag)

    def shipments(self, order_id: str) -> list[Shipment]:
        return [s for s in self.shipment_rows.values() if s.order_id == order_id]

    def shipment(self, shipment_id: str) -> Shipment | None:
        return self.shipment_rows.get(shipment_id)

    def shipment_by_tracking(self, tracking_number: str) -> Shipment | None:
        return next((s for s in self.shipment_rows.values() if s.tracking_number == tracking_number), None)

    def add_shipment(self, change: Change, shipment: Shipment) -> bool:
        def save() -> None:
            self.shipment_rows[shipment.shipment_id] = shipment

        new = Write(
            lambda: shipment.shipment_id not in self.shipment_rows, save, item=f"SHIPMENT#{shipment.shipment_id}"
        )
        return self.ledger.apply(change, extra=new)

    def save_shipment(self, before: Shipment, after: Shipment) -> bool:
        """Only from the events read; a missing shipment fails the condition as in DynamoDB."""
        stored = self.shipment_rows.get(before.shipment_id)
        if stored is None or stored.events != before.events:
            return False
        self.shipment_rows[before.shipment_id] = after
        return True

    def returns(self, order_id: str) -> list[Return]:
        return sorted((r for r in self.return_rows.values() if r.order_id == order_id), key=lambda r: r.created_at)

    def return_by_id(self, return_id: str) -> Return | None:
        return self.return_rows.get(return_id)

    def add_return(self, change: Change, ret: Return, currency: str) -> bool:
        def save() -> None:
            self.return_rows[ret.return_id] = ret

        new = Write(lambda: ret.return_id not in self.return_rows, save, item=f"RETURN#{ret.return_id}")
        return self.ledger.apply(change, extra=new)

    def _return_is(self, return_id: str, status: ReturnStatus) -> bool:
        current = self.return_rows.get(return_id)
        return current is not None and current.status is status

    def begin_refund(self, change: Change, ret: Return, *, amount: int, restock: bool) -> bool:
        def mark() -> None:
            current = self.return_rows[ret.return_id]
            self.return_rows[ret.return_id] = replace(
                current, status=ReturnStatus.REFUNDING, refund_amount=amount, restocked=restock
            )

        refunding = Write(
            lambda: self._return_is(ret.return_id, ReturnStatus.REQUESTED), mark, f"RETURN#{ret.return_id}"
        )
        return self.ledger.apply(change, extra=refunding)

    def finish_refund(self, change: Change, ret: Return) -> bool:
        def mark() -> None:
            current = self.return_rows[ret.return_id]
            self.return_rows[ret.return_id] = replace(current, status=ReturnStatus.REFUNDED, refunded_at="now")

        refunded = Write(
            lambda: self._return_is(ret.return_id, ReturnStatus.REFUNDING), mark, f"RETURN#{ret.return_id}"
        )
        return self.ledger.apply(change, extra=refunded)


class FakeOrderPayments:
    """Capture and a return's refund, on the same intents `FakeMoney` reads (both are Stripe)."""

    def __init__(self, intents: dict[str, Intent], *, fail_capture: bool = False) -> None:
        self.intents = intents
        self.fail_capture = fail_capture
        self.captured: list[str] = []
        self.refunds: dict[str, int] = {}
        self.refund_failures = 0
        """How many of the next refunds fail as an unreachable Stripe does."""

    def capture(self, intent_id: str, order_id: str) -> None:
        if self.intents[intent_id].status == "succeeded":
            return
        if self.fail_capture:
            raise RuntimeError("card issuer declined the capture")
        self.intents[intent_id] = replace(self.intents[intent_id], status="succeeded")
        self.captured.append(intent_id)

    def refund(self, intent_id: str, *, amount: int, return_id: str) -> None:
        if self.refund_failures:
            self.refund_failures -= 1
            raise TransientError("The payment provider is unavailable (APIConnectionError).", retry_after=2)
        self.refunds.setdefault(return_id, amount)


class FakeWorkflows:
    """The order workflow's restarts, recorded as (order id, attempt)."""

    def __init__(self) -> None:
        self.restarts: list[tuple[str, int]] = []

    def restart(self, order_id: str, attempt: int, correlation_id: str | None) -> None:
        self.restarts.append((order_id, attempt))


class FakeMailer:
    """Records what it sends; with `refuse` set it fails like SES in the sandbox."""

    def __init__(self) -> None:
        self.sent: list[Email] = []
        self.refuse: str | None = None
        self.tries = 0

    def send(self, email: Email) -> None:
        self.tries += 1
        if self.refuse:
            raise RuntimeError(self.refuse)
        self.sent.append(email)


class FakeFulfilment:
    def __init__(self) -> None:
        self.requested: list[str] = []

    def request(self, order: Order) -> None:
        self.requested.append(order.order_id)


def make_orders(
    *orders: Order, fail_capture: bool = False, ledger: FakeLedger | None = None
) -> tuple[Orders, dict[str, Any]]:
    """The orders service over in-memory ports, one shared ledger (stocked with 10 of A, 2 of
    them reserved, and 10 of B, unless given) and each order's intent in its Stripe state."""
    ledger = ledger or FakeLedger(
        {"A": {"onHand": 10, "reserved": 2, "available": 8}, "B": {"onHand": 10, "reserved": 0, "available": 10}}
    )
    intents = {
        o.payment_intent_id: Intent(
            o.payment_intent_id, intent_status(o.payment_state), o.total, o.currency, o.order_id
        )
        for o in orders
        if o.payment_intent_id
    }
    store, money = FakeOrderStore(ledger, *orders), FakeMoney(intents)
    payments = FakeOrderPayments(intents, fail_capture=fail_capture)
    mailer, fulfilment, workflows = FakeMailer(), FakeFulfilment(), FakeWorkflows()
    deps = Orders(
        store=store,
        ledger=ledger,
        payments=payments,
        money=money,
        mailer=mailer,
        fulfilment=fulfilment,
        workflows=workflows,
    )
    return deps, {
        "store": store,
        "ledger": ledger,
        "payments": payments,
        "money": money,
        "mailer": mailer,
        "fulfilment": fulfilment,
        "workflows": workflows,
    }


def delivered(**changes: Any) -> Order:
    """A paid order with two lines, captured and committed, delivered on 2026-03-01."""
    order = paid_order(
        status=OrderStatus.DELIVERED,
        lines=(OrderLine("A", "Tent", 2, 1000), OrderLine("B", "Mug", 1, 500)),
        subtotal=2500,
        tax=200,
        total=3299,
        payment_state=PaymentState.CAPTURED,
        stock_state=StockState.COMMITTED,
        history=({"status": "DELIVERED", "at": "2026-03-01T00:00:00.000Z"},),
    )
    return replace(order, **changes)
