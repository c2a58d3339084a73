"""The order workflow's steps and compensations, shipping and tracking, with in-memory ports."""

from collections.abc import Callable
from typing import Any

import pytest

from commerce.errors import Conflict
from commerce.orders import OrderStatus, shipped
from orders import service
from orders.domain.model import OrderNotActive, PaymentState, Shipment, StockState, TrackingEvent, TrackingStatus
from tests.unit.orders_fakes import make_orders, paid_order

HAPPY_PATH = (
    service.capture_payment,
    service.commit_stock,
    service.issue_invoice,
    service.request_fulfilment,
    service.confirm_order,
)


def run_workflow(deps: service.Orders, order_id: str = "o1") -> None:
    for step in HAPPY_PATH:
        step(deps, order_id)


def test_a_paid_order_is_captured_committed_invoiced_and_confirmed_once_even_when_steps_rerun() -> None:
    deps, parts = make_orders(paid_order())
    run_workflow(deps)
    run_workflow(deps)
    order = parts["store"].orders["o1"]
    assert order.status is OrderStatus.CONFIRMED
    assert order.payment_state is PaymentState.CAPTURED and parts["payments"].captured == ["pi_o1"]
    assert order.stock_state is StockState.COMMITTED
    assert parts["store"].stock["A"] == {"onHand": 8, "reserved": 0, "available": 8}
    assert order.invoice_number == "INV-2026-000001" and parts["store"].sequence == 1
    assert parts["fulfilment"].requested == ["o1"]
    assert parts["mailer"].tries == 0, "no workflow step sends email"


def test_each_step_overtaken_by_another_execution_of_the_workflow_succeeds_without_doing_it_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Express runs at least once: a second execution may do a step between this one's read of the
    order and its write. The write is refused; the step finds the work done and succeeds (a
    failure here would send the order to Compensate and cancel a good order)."""
    deps, parts = make_orders(paid_order())
    capture, apply, issue = parts["payments"].capture, deps.ledger.apply, deps.store.issue_invoice

    def overtaken(original: Callable[..., Any], step: Callable[[service.Orders, str], Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            monkeypatch.undo()
            step(deps, "o1")  # the other execution, all the way through this step
            return original(*args, **kwargs)

        return run

    monkeypatch.setattr(parts["payments"], "capture", overtaken(capture, service.capture_payment))
    assert service.capture_payment(deps, "o1") == {"captured": False}
    monkeypatch.setattr(deps.ledger, "apply", overtaken(apply, service.commit_stock))
    assert service.commit_stock(deps, "o1") == {"committed": False}
    monkeypatch.setattr(deps.store, "issue_invoice", overtaken(issue, service.issue_invoice))
    assert service.issue_invoice(deps, "o1") == {"invoiceNumber": "INV-2026-000001"}
    assert service.confirm_order(deps, "o1") == {"status": "CONFIRMED"}
    order = parts["store"].orders["o1"]
    assert parts["payments"].captured == ["pi_o1"] and order.payment_state is PaymentState.CAPTURED
    assert parts["store"].stock["A"] == {"onHand": 8, "reserved": 0, "available": 8}
    assert parts["store"].sequence == 1, "one invoice number taken"


def test_invoice_numbers_follow_each_other_without_gaps() -> None:
    deps, _ = make_orders(paid_order("o1"), paid_order("o2"), paid_order("o3"))
    numbers = [service.issue_invoice(deps, o)["invoiceNumber"] for o in ("o2", "o1", "o3", "o1")]
    assert numbers == ["INV-2026-000001", "INV-2026-000002", "INV-2026-000003", "INV-2026-000002"]


def compensate(deps: service.Orders, outcome: str, reason: str = "step failed") -> dict[str, object]:
    """The workflow's Catch: one `compensate` task (stock back, money released, order ended)."""
    return service.compensate(deps, "o1", outcome, reason)


def test_a_failed_capture_releases_the_stock_voids_the_payment_and_fails_the_order() -> None:
    deps, parts = make_orders(paid_order(), fail_capture=True)
    with pytest.raises(RuntimeError):
        service.capture_payment(deps, "o1")
    assert compensate(deps, "PAYMENT_FAILED", "capture declined") == {"status": "PAYMENT_FAILED"}
    order = parts["store"].orders["o1"]
    assert order.status is OrderStatus.PAYMENT_FAILED
    assert [(h["status"], h["note"]) for h in order.history[-2:]] == [
        ("CANCELLING", "capture declined"),
        ("PAYMENT_FAILED", "payment failed"),
    ], "the reason is the CANCELLING step's note; the order ends as the outcome asked"
    assert order.stock_state is StockState.RELEASED and order.payment_state is PaymentState.VOIDED
    assert parts["store"].stock["A"] == {"onHand": 10, "reserved": 0, "available": 10}
    assert parts["money"].released == [("pi_o1", PaymentState.VOIDED)]


def test_a_failure_after_capture_refunds_and_puts_committed_stock_back() -> None:
    deps, parts = make_orders(paid_order())
    service.capture_payment(deps, "o1")
    service.commit_stock(deps, "o1")
    compensate(deps, "CANCELLED")
    assert compensate(deps, "CANCELLED") == {"status": "CANCELLED"}
    order = parts["store"].orders["o1"]
    assert order.status is OrderStatus.CANCELLED and order.stock_state is StockState.RESTORED
    assert order.payment_state is PaymentState.REFUNDED and order.refunded == order.total
    assert parts["store"].stock["A"] == {"onHand": 10, "reserved": 0, "available": 10}
    assert parts["money"].released == [("pi_o1", PaymentState.REFUNDED)]
    assert parts["mailer"].tries == 0, "no compensation sends email"


def test_steps_after_a_cancellation_stop_the_workflow() -> None:
    deps, _ = make_orders(paid_order())
    service.cancel(deps, "o1", by="customer")
    with pytest.raises(OrderNotActive):
        service.commit_stock(deps, "o1")


def test_a_confirmed_order_can_be_cancelled_but_a_shipped_one_cannot() -> None:
    deps, parts = make_orders(paid_order())
    run_workflow(deps)
    assert service.cancel(deps, "o1", by="staff").status is OrderStatus.CANCELLED
    assert parts["store"].stock["A"] == {"onHand": 10, "reserved": 0, "available": 10}
    order = parts["store"].orders["o1"]
    assert [(h["status"], h.get("note")) for h in order.history[-2:]] == [
        ("CANCELLING", "cancelled by staff"),
        ("CANCELLED", "cancelled"),
    ]
    assert order.stock_state is StockState.RESTORED and order.payment_state is PaymentState.REFUNDED
    assert parts["money"].released == [("pi_o1", PaymentState.REFUNDED)]
    deps, _ = make_orders(paid_order())
    run_workflow(deps)
    service.create_shipment(deps, "o1", carrier="UPS", tracking_number="1Z999")
    with pytest.raises(Conflict):
        service.cancel(deps, "o1", by="customer")


def test_shipping_then_delivery_moves_the_order_and_emails_the_customer() -> None:
    deps, parts = make_orders(paid_order())
    run_workflow(deps)
    shipment = service.create_shipment(deps, "o1", carrier="UPS", tracking_number="1Z999")
    assert parts["store"].orders["o1"].status is OrderStatus.SHIPPED
    moving = TrackingEvent(TrackingStatus.IN_TRANSIT, "2030-01-02T00:00:00.000Z", "Memphis")
    shipment = service.record_tracking(deps, shipment, moving)
    shipment = service.record_tracking(deps, shipment, moving)
    done = service.record_tracking(deps, shipment, TrackingEvent(TrackingStatus.DELIVERED, "2030-01-03T00:00:00.000Z"))
    assert [e.status for e in done.events] == [
        TrackingStatus.SHIPPED,
        TrackingStatus.IN_TRANSIT,
        TrackingStatus.DELIVERED,
    ]
    assert parts["store"].orders["o1"].status is OrderStatus.DELIVERED
    assert parts["mailer"].tries == 0, "shipping and tracking send no email inline"


def test_a_late_in_transit_event_never_undoes_a_delivery() -> None:
    deps, _ = make_orders(paid_order())
    run_workflow(deps)
    shipment = service.create_shipment(deps, "o1", carrier="UPS", tracking_number="1Z999")
    shipment = service.record_tracking(deps, shipment, TrackingEvent(TrackingStatus.DELIVERED, "2030-01-03T00:00:00Z"))
    late = service.record_tracking(deps, shipment, TrackingEvent(TrackingStatus.IN_TRANSIT, "2030-01-02T00:00:00Z"))
    assert late.status is TrackingStatus.DELIVERED


def test_duplicate_tracking_numbers_are_refused() -> None:
    deps, _ = make_orders(paid_order())
    run_workflow(deps)
    service.create_shipment(deps, "o1", carrier="UPS", tracking_number="1Z999")
    with pytest.raises(Conflict):
        service.create_shipment(deps, "o1", carrier="UPS", tracking_number="1Z999")


def test_a_cancellation_the_payment_provider_cannot_finish_stays_cancelling_until_the_next_attempt() -> None:
    deps, parts = make_orders(paid_order())
    parts["money"].unavailable = 1
    order = service.cancel(deps, "o1", by="customer")
    assert order.status is OrderStatus.CANCELLING, "answered 202: the stock is back, the money follows"
    assert order.stock_state is StockState.RELEASED and order.payment_state is PaymentState.AUTHORIZED
    assert parts["store"].stock["A"] == {"onHand": 10, "reserved": 0, "available": 10}
    with pytest.raises(OrderNotActive):
        service.capture_payment(deps, "o1")
    assert parts["payments"].captured == [], "a cancelling order is never captured"
    assert service.cancel(deps, "o1", by="customer").status is OrderStatus.CANCELLED
    assert parts["store"].stock["A"] == {"onHand": 10, "reserved": 0, "available": 10}
    assert parts["money"].released == [("pi_o1", PaymentState.VOIDED)]


def test_compensation_leaves_an_order_that_shipped_meanwhile_as_it_is() -> None:
    deps, parts = make_orders(paid_order())
    run_workflow(deps)
    service.create_shipment(deps, "o1", carrier="UPS", tracking_number="1Z999")
    assert compensate(deps, "CANCELLED") == {"status": "SHIPPED"}
    assert parts["money"].released == [] and parts["store"].stock["A"]["onHand"] == 8


def test_steps_refuse_an_order_that_is_not_ready_or_no_longer_paid() -> None:
    deps, parts = make_orders(paid_order())
    with pytest.raises(OrderNotActive):
        service.confirm_order(deps, "o1")
    assert parts["store"].orders["o1"].status is OrderStatus.PAID, "not captured nor committed: not confirmed"
    service.cancel(deps, "o1", by="customer")
    for step in (service.capture_payment, service.issue_invoice, service.request_fulfilment, service.confirm_order):
        with pytest.raises(OrderNotActive):
            step(deps, "o1")
    assert parts["store"].sequence == 0 and parts["fulfilment"].requested == []


def test_a_shipment_for_an_order_cancelled_meanwhile_is_never_written() -> None:
    deps, parts = make_orders(paid_order())
    run_workflow(deps)
    stale = parts["store"].orders["o1"]
    service.cancel(deps, "o1", by="staff")
    shipment = Shipment("s1", "o1", "UPS", "1Z999", TrackingStatus.SHIPPED, "now")
    assert not parts["store"].add_shipment(shipped(stale.state, "UPS"), shipment)
    assert parts["store"].shipments("o1") == [] and parts["store"].orders["o1"].status is OrderStatus.CANCELLED
