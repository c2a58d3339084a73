"""In-memory order ports: for unit tests only."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from commerce.orders import OrderStatus, check_transition
from orders.domain.emails import Email
from orders.domain.invoice import invoice_document
from orders.domain.model import Line, Order, PaymentState, Shipment, StockState, invoice_number
from orders.domain.returns import Return, ReturnStatus
from orders.service import Orders


def paid_order(order_id: str = "o1", **changes: Any) -> Order:
    order = Order(
        order_id=order_id,
        status=OrderStatus.PAID,
        email="ada@example.com",
        owner="user-1",
        lines=(Line("A", "Tent", 2, 1000),),
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


class FakeOrderStore:
    def __init__(self, *orders: Order, stock: dict[str, dict[str, int]] | None = None) -> None:
        self.orders = {o.order_id: o for o in orders}
        self.stock = stock or {"A": {"onHand": 10, "reserved": 2, "available": 8}}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.sequence = 0
        self.marks: dict[str, set[str]] = {}
        self.shipment_rows: dict[str, Shipment] = {}
        self.return_rows: dict[str, Return] = {}

    def get(self, order_id: str) -> Order | None:
        return self.orders.get(order_id)

    def list_for_owner(self, owner: str, limit: int, start: Any) -> tuple[list[Order], None]:
        return [o for o in self.orders.values() if o.owner == owner][:limit], None

    def list_all(self, status: str | None, limit: int, start: Any) -> tuple[list[Order], None]:
        return [o for o in self.orders.values() if status in (None, o.status.value)][:limit], None

    def set_payment_state(self, order: Order, target: PaymentState) -> bool:
        self.orders[order.order_id] = replace(self.orders[order.order_id], payment_state=target)
        return True

    def _move(self, order: Order, moves: dict[str, int], expected: StockState, target: StockState) -> bool:
        if self.orders[order.order_id].stock_state is not expected:
            return False
        for line in order.lines:
            for name, sign in moves.items():
                self.stock[line.sku][name] += sign * line.quantity
        self.orders[order.order_id] = replace(self.orders[order.order_id], stock_state=target)
        return True

    def commit_stock(self, order: Order) -> bool:
        return self._move(order, {"onHand": -1, "reserved": -1}, StockState.RESERVED, StockState.COMMITTED)

    def return_stock(self, order: Order) -> bool:
        if order.stock_state is StockState.RESERVED:
            return self._move(order, {"reserved": -1, "available": 1}, StockState.RESERVED, StockState.RELEASED)
        if order.stock_state is StockState.COMMITTED:
            return self._move(order, {"onHand": 1, "available": 1}, StockState.COMMITTED, StockState.RESTORED)
        return False

    def issue_invoice(self, order: Order, seller: dict[str, str]) -> str:
        if self.orders[order.order_id].invoice_number:
            return str(self.orders[order.order_id].invoice_number)
        self.sequence += 1
        number = invoice_number(2026, self.sequence)
        self.invoices[order.order_id] = invoice_document(order, number=number, issued_at="now", seller=seller)
        self.orders[order.order_id] = replace(self.orders[order.order_id], invoice_number=number)
        return number

    def invoice(self, order_id: str) -> dict[str, Any] | None:
        return self.invoices.get(order_id)

    def mark(self, order: Order, flag: str) -> bool:
        current = self.orders[order.order_id]
        if flag.startswith("emails."):
            self.orders[order.order_id] = replace(current, emails={**current.emails, flag[7:]: "sent"})
            return True
        if flag == "fulfilmentRequestedAt":
            self.orders[order.order_id] = replace(current, fulfilment_requested_at="now")
        self.marks.setdefault(order.order_id, set()).add(flag)
        return True

    def transition(self, order: Order, target: OrderStatus, note: str) -> bool:
        check_transition(order.status, target)
        current = self.orders[order.order_id]
        if current.status is not order.status:
            return False
        history = (*current.history, {"status": target.value, "note": note})
        self.orders[order.order_id] = replace(current, status=target, history=history)
        return True

    def shipments(self, order_id: str) -> list[Shipment]:
        return [s for s in self.shipment_rows.values() if s.order_id == order_id]

    def shipment(self, shipment_id: str) -> Shipment | None:
        return self.shipment_rows.get(shipment_id)

    def shipment_by_tracking(self, tracking_number: str) -> Shipment | None:
        return next((s for s in self.shipment_rows.values() if s.tracking_number == tracking_number), None)

    def add_shipment(self, order: Order, shipment: Shipment) -> None:
        self.shipment_rows[shipment.shipment_id] = shipment
        if order.status is OrderStatus.CONFIRMED:
            self.transition(order, OrderStatus.SHIPPED, "shipped")

    def save_shipment(self, before: Shipment, after: Shipment) -> bool:
        if self.shipment_rows[before.shipment_id] != before:
            return False
        self.shipment_rows[before.shipment_id] = after
        return True

    def returns(self, order_id: str) -> list[Return]:
        return [r for r in self.return_rows.values() if r.order_id == order_id]

    def return_by_id(self, return_id: str) -> Return | None:
        return self.return_rows.get(return_id)

    def add_return(self, order: Order, ret: Return) -> None:
        self.return_rows[ret.return_id] = ret
        if order.status is not OrderStatus.RETURN_REQUESTED:
            self.transition(order, OrderStatus.RETURN_REQUESTED, "return requested")

    def complete_refund(
        self, order: Order, ret: Return, *, amount: int, restock: bool, order_status: OrderStatus
    ) -> bool:
        if self.return_rows[ret.return_id].status is not ReturnStatus.REQUESTED:
            return False
        self.return_rows[ret.return_id] = replace(
            ret, status=ReturnStatus.REFUNDED, refund_amount=amount, refunded_at="now", restocked=restock
        )
        if restock:
            for line in ret.lines:
                self.stock[line.sku]["onHand"] += line.quantity
                self.stock[line.sku]["available"] += line.quantity
        if order_status is not order.status:
            self.transition(order, order_status, "refunded")
        return True


class FakeOrderPayments:
    def __init__(self, *, fail_capture: bool = False) -> None:
        self.fail_capture = fail_capture
        self.captured: list[str] = []
        self.returned: list[tuple[str, PaymentState]] = []
        self.refunds: dict[str, int] = {}

    def capture(self, intent_id: str, order_id: str) -> None:
        if self.fail_capture:
            raise RuntimeError("card issuer declined the capture")
        self.captured.append(intent_id)

    def refund(self, intent_id: str, *, amount: int, return_id: str) -> None:
        self.refunds.setdefault(return_id, amount)

    def void_or_refund(self, intent_id: str, order_id: str) -> PaymentState:
        outcome = PaymentState.REFUNDED if intent_id in self.captured else PaymentState.VOIDED
        self.returned.append((intent_id, outcome))
        return outcome


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


def make_orders(*orders: Order, fail_capture: bool = False) -> tuple[Orders, dict[str, Any]]:
    store, payments, mailer, fulfilment = (
        FakeOrderStore(*orders),
        FakeOrderPayments(fail_capture=fail_capture),
        FakeMailer(),
        FakeFulfilment(),
    )
    deps = Orders(store=store, payments=payments, mailer=mailer, fulfilment=fulfilment)
    return deps, {"store": store, "payments": payments, "mailer": mailer, "fulfilment": fulfilment}
