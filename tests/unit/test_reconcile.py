"""The order reconciler (`orders.service.reconcile`) over the in-memory ports: every in-flight
order past its deadline is driven to its next state, once, and one failure stops nothing else."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from commerce.errors import TransientError
from commerce.orders import OrderStatus, PaymentState, StockState
from orders import service
from orders.domain.model import Order
from orders.domain.returns import ReturnLine, ReturnStatus
from tests.unit.ledger_fakes import FakeLedger, Intent
from tests.unit.orders_fakes import delivered, make_orders, paid_order

CREATED = "2026-01-01T00:00:00.000Z"
LATER = "2026-01-01T01:00:00.000Z"
"""When the ledger writes (every change stamps `updatedAt`): after the reconciler's cutoffs."""
NOW = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
DEADLINES = service.Deadlines(reservation_seconds=900, stuck_after_seconds=60)
FRESH = {"A": {"onHand": 10, "reserved": 0, "available": 10}, "B": {"onHand": 10, "reserved": 0, "available": 10}}


def ledger(**stock: dict[str, int]) -> FakeLedger:
    return FakeLedger({**FRESH, **stock}, clock=lambda: LATER)


def pending(order_id: str = "o1", **changes: Any) -> Order:
    return paid_order(
        order_id,
        status=OrderStatus.PENDING_PAYMENT,
        payment_state=PaymentState.PENDING,
        history=({"status": "PENDING_PAYMENT", "note": "checkout"},),
        **changes,
    )


def reconcile(deps: service.Orders, now: datetime = NOW) -> dict[str, int]:
    return service.reconcile(deps, now=now, deadlines=DEADLINES)


def test_an_unpaid_order_past_its_reservation_is_cancelled_and_a_younger_one_left() -> None:
    reserved = {"onHand": 10, "reserved": 4, "available": 6}
    young = pending("o2", updated_at="2026-01-01T00:20:00.000Z")
    deps, parts = make_orders(pending(), young, ledger=ledger(A=reserved))
    assert reconcile(deps) == {"PENDING_PAYMENT->CANCELLED": 1}
    order = parts["store"].orders["o1"]
    assert order.status is OrderStatus.CANCELLED and order.payment_state is PaymentState.VOIDED
    assert parts["ledger"].stock["A"] == {"onHand": 10, "reserved": 2, "available": 8}
    assert parts["money"].released == [("pi_o1", PaymentState.VOIDED)]
    assert parts["store"].orders["o2"].status is OrderStatus.PENDING_PAYMENT
    assert reconcile(deps) == {}, "nothing is done twice"


def test_an_unpaid_order_whose_payment_was_authorized_at_the_last_moment_is_paid_and_its_workflow_started() -> None:
    deps, parts = make_orders(pending(), ledger=ledger(A={"onHand": 10, "reserved": 2, "available": 8}))
    parts["money"].intents["pi_o1"] = Intent("pi_o1", "requires_capture", 2759, "usd", "o1")
    assert reconcile(deps) == {"PENDING_PAYMENT->restarted": 1}
    assert parts["store"].orders["o1"].status is OrderStatus.PAID and parts["money"].released == []
    assert parts["workflows"].restarts == [("o1", 1)]


def test_a_paid_order_unchanged_past_the_workflows_timeout_is_restarted_once() -> None:
    deps, parts = make_orders(paid_order(), ledger=ledger(A={"onHand": 10, "reserved": 2, "available": 8}))
    assert reconcile(deps) == {"PAID->restarted": 1}
    assert parts["workflows"].restarts == [("o1", 1)]
    assert parts["store"].orders["o1"].reconcile_attempts == 1
    assert reconcile(deps) == {}, "the restart stamped the order: its new execution has its whole timeout"
    assert parts["workflows"].restarts == [("o1", 1)]


def test_a_paid_order_whose_workflow_may_still_run_is_left_alone() -> None:
    # Changed 3 minutes ago: past the stuck threshold (60 s) but within the workflow's 5-minute
    # timeout, so an execution of it may still be running (an Express execution cannot be asked).
    deps, parts = make_orders(paid_order(updated_at="2026-01-01T00:27:00.000Z"), ledger=ledger())
    assert reconcile(deps) == {}
    assert parts["workflows"].restarts == [] and parts["store"].orders["o1"].reconcile_attempts == 0


def test_a_paid_order_changed_recently_is_not_stuck() -> None:
    deps, parts = make_orders(paid_order(updated_at="2026-01-01T00:29:30.000Z"), ledger=ledger())
    assert reconcile(deps) == {} and parts["workflows"].restarts == []


def cancelling(**changes: Any) -> Order:
    return paid_order(
        status=OrderStatus.CANCELLING,
        stock_state=StockState.RELEASED,
        end_as=OrderStatus.CANCELLED,
        history=({"status": "PAID"}, {"status": "CANCELLING", "note": "cancelled by customer"}),
        **changes,
    )


def test_a_cancelling_order_is_finished() -> None:
    deps, parts = make_orders(cancelling(), ledger=ledger())
    assert reconcile(deps) == {"CANCELLING->CANCELLED": 1}
    order = parts["store"].orders["o1"]
    assert order.status is OrderStatus.CANCELLED and order.payment_state is PaymentState.VOIDED
    assert parts["money"].released == [("pi_o1", PaymentState.VOIDED)] and parts["ledger"].stock == FRESH


def test_a_failing_order_is_counted_and_left_for_the_next_run() -> None:
    deps, parts = make_orders(cancelling(), paid_order("o2"), ledger=ledger())
    parts["money"].unavailable = 1
    assert reconcile(deps) == {"CANCELLING->failed": 1, "PAID->restarted": 1}
    assert parts["store"].orders["o1"].status is OrderStatus.CANCELLING
    assert reconcile(deps) == {"CANCELLING->CANCELLED": 1}


def test_a_refunding_order_has_its_refund_resumed() -> None:
    deps, parts = make_orders(delivered(), ledger=ledger())
    ret = service.request_return(deps, "o1", [ReturnLine("A", 1, "x")], now=datetime(2026, 3, 2, tzinfo=UTC))
    parts["payments"].refund_failures = 1
    with pytest.raises(TransientError):
        service.refund_return(deps, ret.return_id, restock=True)
    order = parts["store"].orders["o1"]
    assert order.status is OrderStatus.REFUNDING and order.refunding_return == ret.return_id
    assert parts["store"].return_rows[ret.return_id].status is ReturnStatus.REFUNDING
    assert reconcile(deps, NOW + timedelta(hours=2)) == {"REFUNDING->REFUNDED": 1}
    order = parts["store"].orders["o1"]
    assert order.status is OrderStatus.PARTIALLY_REFUNDED and order.refunding_return is None
    assert order.refunded == 1080 and parts["payments"].refunds == {ret.return_id: 1080}
    assert parts["store"].return_rows[ret.return_id].restocked, "the restock chosen first is kept"
    assert parts["ledger"].stock["A"]["onHand"] == 11
