"""Returns and refunds with in-memory ports."""

from datetime import UTC, datetime, timedelta

import pytest

from commerce.errors import Conflict, TransientError, ValidationFailed
from commerce.orders import OrderStatus, return_requested
from orders import service
from orders.domain.returns import Return, ReturnLine, ReturnStatus, refund_amount
from tests.unit.orders_fakes import delivered, make_orders, paid_order

DELIVERED_AT = datetime(2026, 3, 1, tzinfo=UTC)


def test_a_partial_return_refunds_its_share_restocks_and_leaves_the_order_partially_refunded() -> None:
    deps, parts = make_orders(delivered())
    ret = service.request_return(deps, "o1", [ReturnLine("A", 1, "too small")], now=DELIVERED_AT + timedelta(days=3))
    assert parts["store"].orders["o1"].status is OrderStatus.RETURN_REQUESTED
    refunded = service.refund_return(deps, ret.return_id, restock=True)
    again = service.refund_return(deps, ret.return_id, restock=True)
    assert refunded.status is ReturnStatus.REFUNDED and again.refund_amount == refunded.refund_amount == 1080
    assert parts["payments"].refunds == {ret.return_id: 1080}
    assert parts["store"].stock["A"]["onHand"] == 11
    assert parts["store"].orders["o1"].status is OrderStatus.PARTIALLY_REFUNDED


def test_returning_everything_ends_refunded() -> None:
    deps, parts = make_orders(delivered())
    now = DELIVERED_AT + timedelta(days=1)
    first = service.request_return(deps, "o1", [ReturnLine("A", 2, "x")], now=now)
    service.refund_return(deps, first.return_id, restock=False)
    second = service.request_return(deps, "o1", [ReturnLine("B", 1, "x")], now=now)
    service.refund_return(deps, second.return_id, restock=False)
    assert parts["store"].orders["o1"].status is OrderStatus.REFUNDED
    assert sum(parts["payments"].refunds.values()) == 3299 - 599  # everything but shipping


def test_never_more_than_bought_less_already_returned() -> None:
    deps, _ = make_orders(delivered())
    now = DELIVERED_AT + timedelta(days=1)
    service.request_return(deps, "o1", [ReturnLine("A", 1, "x")], now=now)
    with pytest.raises(ValidationFailed) as refused:
        service.request_return(deps, "o1", [ReturnLine("A", 2, "x")], now=now)
    assert refused.value.errors == [{"sku": "A", "requested": 2, "returnable": 1}]
    with pytest.raises(ValidationFailed):
        service.request_return(deps, "o1", [ReturnLine("ZZ", 1, "x")], now=now)


def test_returns_close_after_the_window_and_need_a_delivered_order() -> None:
    deps, _ = make_orders(delivered())
    with pytest.raises(Conflict) as late:
        service.request_return(deps, "o1", [ReturnLine("A", 1, "x")], now=DELIVERED_AT + timedelta(days=31))
    assert late.value.problem_code == "return_window_closed"
    deps, _ = make_orders(paid_order(status=OrderStatus.CONFIRMED))
    with pytest.raises(Conflict):
        service.request_return(deps, "o1", [ReturnLine("A", 1, "x")], now=DELIVERED_AT)


def test_the_refund_share_includes_the_lines_tax_rounded_half_up() -> None:
    order = delivered()
    ret = Return("r", "o1", ReturnStatus.REQUESTED, (ReturnLine("B", 1, "x"),), "now")
    assert refund_amount(order, ret) == 500 + 40


def test_a_return_racing_another_is_checked_again_against_it() -> None:
    deps, parts = make_orders(delivered())
    now = DELIVERED_AT + timedelta(days=1)
    stale = parts["store"].orders["o1"]
    service.request_return(deps, "o1", [ReturnLine("A", 2, "x")], now=now)
    late = Return("r-late", "o1", ReturnStatus.REQUESTED, (ReturnLine("A", 2, "x"),), "now")
    assert not parts["store"].add_return(return_requested(stale.state, "r-late"), late, "usd")
    assert parts["store"].return_by_id("r-late") is None and parts["store"].orders["o1"].returns_version == 1


def test_one_refund_at_a_time_and_an_interrupted_one_is_resumed_with_its_restock_choice() -> None:
    deps, parts = make_orders(delivered())
    now = DELIVERED_AT + timedelta(days=1)
    first = service.request_return(deps, "o1", [ReturnLine("A", 1, "x")], now=now)
    second = service.request_return(deps, "o1", [ReturnLine("B", 1, "x")], now=now)
    parts["payments"].refund_failures = 1
    with pytest.raises(TransientError):
        service.refund_return(deps, first.return_id, restock=True)
    assert parts["store"].orders["o1"].status is OrderStatus.REFUNDING
    with pytest.raises(Conflict) as busy:
        service.refund_return(deps, second.return_id, restock=False)
    assert busy.value.problem_code == "refund_in_progress"
    done = service.refund_return(deps, first.return_id, restock=False)
    assert done.status is ReturnStatus.REFUNDED and done.restocked and parts["store"].stock["A"]["onHand"] == 11
    assert parts["store"].orders["o1"].status is OrderStatus.PARTIALLY_REFUNDED
    assert service.refund_return(deps, second.return_id, restock=False).status is ReturnStatus.REFUNDED
    order = parts["store"].orders["o1"]
    assert order.refunded == 1080 + 540 and parts["payments"].refunds == {first.return_id: 1080, second.return_id: 540}
