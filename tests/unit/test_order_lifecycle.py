"""The order lifecycle's rules (`commerce.orders`), pure: which status each planning function
starts from, and what each planned `Change` moves together."""

import itertools
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from commerce.errors import Conflict
from commerce.orders import (
    CANCELLABLE,
    ENDED,
    IN_FLIGHT,
    TERMINAL,
    TRANSITIONS,
    Change,
    OrderState,
    OrderStatus,
    PaymentState,
    StockMove,
    StockState,
    authorized,
    cancel_finished,
    cancelling,
    captured,
    check_transition,
    committed,
    confirmed,
    declined,
    delivered,
    late_payment_released,
    money_settled,
    refund_finished,
    refunding,
    return_requested,
    shipped,
)

S = OrderStatus


def test_the_happy_path_is_allowed() -> None:
    path = ["PENDING_PAYMENT", "PAID", "CONFIRMED", "SHIPPED", "DELIVERED"]
    for current, target in itertools.pairwise(path):
        check_transition(OrderStatus(current), OrderStatus(target))


@pytest.mark.parametrize("terminal", ["PAYMENT_FAILED", "CANCELLED", "REFUNDED"])
def test_terminal_statuses_go_nowhere(terminal: str) -> None:
    assert TRANSITIONS[OrderStatus(terminal)] == frozenset()
    with pytest.raises(Conflict):
        check_transition(OrderStatus(terminal), OrderStatus.PAID)


def test_shipped_orders_cannot_be_cancelled() -> None:
    with pytest.raises(Conflict) as refused:
        check_transition(OrderStatus.SHIPPED, OrderStatus.CANCELLED)
    assert refused.value.problem_code == "invalid_state"
    with pytest.raises(Conflict):
        check_transition(OrderStatus.SHIPPED, OrderStatus.CANCELLING)


def test_cancellation_always_passes_through_cancelling() -> None:
    for status in S:
        assert S.CANCELLED not in TRANSITIONS[status] or status is S.CANCELLING
    assert all(S.CANCELLING in TRANSITIONS[status] for status in CANCELLABLE)


def test_terminal_and_in_flight_sets() -> None:
    assert set(TRANSITIONS) == set(S), "every status has its onward transitions"
    assert {S.PAYMENT_FAILED, S.CANCELLED, S.REFUNDED} == TERMINAL
    assert {S.PENDING_PAYMENT, S.PAID, S.CANCELLING, S.REFUNDING} == IN_FLIGHT
    assert not IN_FLIGHT & TERMINAL and ENDED <= TERMINAL
    assert {S.PENDING_PAYMENT, S.PAID, S.CONFIRMED} == CANCELLABLE
    assert all(onward <= set(S) for onward in TRANSITIONS.values())


def order(status: S = S.PAID, **changes: Any) -> OrderState:
    state = OrderState(
        order_id="o1",
        status=status,
        lines=(("A", 2), ("B", 1)),
        total=3000,
        payment_intent_id="pi_o1",
    )
    return replace(state, **changes)


Planner = Callable[[OrderState], Change]

PLANNERS: dict[str, tuple[Planner, dict[str, Any], frozenset[S]]] = {
    "authorized": (lambda o: authorized(o, "pi_o1"), {}, frozenset({S.PENDING_PAYMENT})),
    "declined": (lambda o: declined(o, "card_declined", "declined"), {}, frozenset({S.PENDING_PAYMENT})),
    "captured": (captured, {"payment_state": PaymentState.AUTHORIZED}, frozenset({S.PAID})),
    "committed": (committed, {"stock_state": StockState.RESERVED}, frozenset({S.PAID})),
    "confirmed": (
        confirmed,
        {"payment_state": PaymentState.CAPTURED, "stock_state": StockState.COMMITTED},
        frozenset({S.PAID}),
    ),
    "cancelling": (lambda o: cancelling(o, "why"), {}, CANCELLABLE),
    "money_settled": (lambda o: money_settled(o, PaymentState.VOIDED), {}, frozenset({S.CANCELLING})),
    "late_payment_released": (lambda o: late_payment_released(o, PaymentState.VOIDED), {}, ENDED),
    "cancel_finished": (
        cancel_finished,
        {"stock_state": StockState.RELEASED, "payment_state": PaymentState.VOIDED},
        frozenset({S.CANCELLING}),
    ),
    "cancel_finished_as_failed": (
        cancel_finished,
        {"stock_state": StockState.RELEASED, "payment_state": PaymentState.VOIDED, "end_as": S.PAYMENT_FAILED},
        frozenset({S.CANCELLING}),
    ),
    "shipped": (lambda o: shipped(o, "UPS"), {}, frozenset({S.CONFIRMED, S.SHIPPED})),
    "delivered": (lambda o: delivered(o, "UPS"), {}, frozenset({S.SHIPPED})),
    "return_requested": (
        lambda o: return_requested(o, "r1"),
        {},
        frozenset({S.DELIVERED, S.RETURN_REQUESTED, S.PARTIALLY_REFUNDED}),
    ),
    "refunding": (
        lambda o: refunding(o, "r1", 1000),
        {"payment_state": PaymentState.CAPTURED, "stock_state": StockState.COMMITTED},
        frozenset({S.RETURN_REQUESTED, S.PARTIALLY_REFUNDED}),
    ),
    "refund_finished": (
        lambda o: refund_finished(o, "r1", 1000, S.PARTIALLY_REFUNDED, ()),
        {"payment_state": PaymentState.CAPTURED, "refunding_return": "r1"},
        frozenset({S.REFUNDING}),
    ),
}


def _cases() -> list[Any]:
    cases = []
    for name in sorted(PLANNERS):
        for status in S:
            cases.append(pytest.param(name, status, id=f"{name}-{status}"))
    return cases


@pytest.mark.parametrize(("name", "status"), _cases())
def test_every_planning_function_refuses_from_the_wrong_status(name: str, status: S) -> None:
    plan, favourable, allowed = PLANNERS[name]
    state = order(status, **favourable)
    if status in allowed:
        change = plan(state)
        assert change.order is state
        if change.status is not None:
            assert change.status in TRANSITIONS[status] or change.status is status
    else:
        with pytest.raises(Conflict):
            plan(state)
            raise AssertionError(f"{name} planned a change from {status}")


@pytest.mark.parametrize("status", sorted(CANCELLABLE))
def test_cancelling_gives_the_stock_back_in_the_same_change(status: S) -> None:
    reserved = cancelling(order(status, stock_state=StockState.RESERVED), "cancelled by customer")
    assert reserved.status is S.CANCELLING and reserved.stock is StockMove.RELEASE
    assert reserved.stock_target is StockState.RELEASED
    assert reserved.facts == {"endAs": "CANCELLED"} and reserved.note == "cancelled by customer"
    held = cancelling(order(status, stock_state=StockState.COMMITTED), "step failed", end_as=S.PAYMENT_FAILED)
    assert held.status is S.CANCELLING and held.stock is StockMove.RESTORE
    assert held.stock_target is StockState.RESTORED and held.facts == {"endAs": "PAYMENT_FAILED"}
    assert reserved.payment is None and held.payment is None, "the money follows in its own step"


def test_a_cancelling_note_is_bounded() -> None:
    assert len(cancelling(order(), "x" * 2000).note) == 500


def test_a_decline_releases_the_reservation_in_the_failing_write() -> None:
    change = declined(order(S.PENDING_PAYMENT), "insufficient_funds", "insufficient_funds")
    assert change.status is S.PAYMENT_FAILED and change.stock is StockMove.RELEASE
    assert change.facts == {"declineCode": "insufficient_funds"}
    assert declined(order(S.PENDING_PAYMENT), None, "canceled").facts == {}


def test_authorized_records_the_intent_and_keeps_the_stock_reserved() -> None:
    change = authorized(order(S.PENDING_PAYMENT), "pi_new")
    assert change.status is S.PAID and change.payment is PaymentState.AUTHORIZED and change.stock is None
    assert change.facts == {"paymentIntentId": "pi_new"}


@pytest.mark.parametrize("payment", list(PaymentState), ids=str)
@pytest.mark.parametrize("stock", list(StockState), ids=str)
def test_confirmed_requires_the_payment_captured_and_the_stock_committed(
    payment: PaymentState, stock: StockState
) -> None:
    state = order(S.PAID, payment_state=payment, stock_state=stock)
    if payment is PaymentState.CAPTURED and stock is StockState.COMMITTED:
        assert confirmed(state).status is S.CONFIRMED
    else:
        with pytest.raises(Conflict) as refused:
            confirmed(state)
        assert refused.value.problem_code == "invalid_state"


def test_captured_and_committed_need_an_authorized_payment_and_reserved_stock() -> None:
    for payment in set(PaymentState) - {PaymentState.AUTHORIZED}:
        with pytest.raises(Conflict):
            captured(order(S.PAID, payment_state=payment))
    for stock in set(StockState) - {StockState.RESERVED}:
        with pytest.raises(Conflict):
            committed(order(S.PAID, stock_state=stock))
    assert captured(order(S.PAID, payment_state=PaymentState.AUTHORIZED)).payment is PaymentState.CAPTURED
    assert committed(order(S.PAID)).stock is StockMove.COMMIT


def refundable(**changes: Any) -> OrderState:
    captured_and_committed: dict[str, Any] = {
        "payment_state": PaymentState.CAPTURED,
        "stock_state": StockState.COMMITTED,
    }
    return order(S.RETURN_REQUESTED, **{**captured_and_committed, **changes})


def test_refunding_never_above_what_was_captured_and_not_yet_refunded() -> None:
    change = refunding(refundable(refunded=1000), "r1", 2000)
    assert change.status is S.REFUNDING and change.facts == {"refundingReturn": "r1"}
    assert change.refund == 0, "the amount is recorded when the refund is done"
    for amount, refunded in ((2001, 1000), (3001, 0), (0, 0), (-5, 0)):
        with pytest.raises(Conflict) as refused:
            refunding(refundable(refunded=refunded), "r1", amount)
        assert refused.value.problem_code == "refund_exceeds_payment"


def test_one_refund_at_a_time() -> None:
    with pytest.raises(Conflict) as refused:
        refunding(replace(refundable(), status=S.REFUNDING, refunding_return="r0"), "r1", 100)
    assert refused.value.problem_code == "refund_in_progress"


def test_only_a_captured_payment_is_refunded() -> None:
    for payment in set(PaymentState) - {PaymentState.CAPTURED}:
        with pytest.raises(Conflict):
            refunding(refundable(payment_state=payment), "r1", 100)


def test_refund_finished_records_the_amount_and_restock_for_its_own_return_only() -> None:
    state = order(S.REFUNDING, payment_state=PaymentState.CAPTURED, refunding_return="r1")
    change = refund_finished(state, "r1", 1000, S.REFUNDED, (("A", 1),))
    assert change.status is S.REFUNDED and change.refund == 1000 and change.restock == (("A", 1),)
    with pytest.raises(Conflict):
        refund_finished(state, "r2", 1000, S.REFUNDED, ())


@pytest.mark.parametrize("stock", [StockState.RESERVED, StockState.COMMITTED])
def test_cancel_finished_refuses_while_stock_is_held(stock: StockState) -> None:
    with pytest.raises(Conflict):
        cancel_finished(order(S.CANCELLING, stock_state=stock, payment_state=PaymentState.VOIDED))


@pytest.mark.parametrize("payment", [PaymentState.AUTHORIZED, PaymentState.CAPTURED])
def test_cancel_finished_refuses_while_money_is_held(payment: PaymentState) -> None:
    with pytest.raises(Conflict):
        cancel_finished(order(S.CANCELLING, stock_state=StockState.RELEASED, payment_state=payment))


@pytest.mark.parametrize("payment", [PaymentState.PENDING, PaymentState.VOIDED, PaymentState.REFUNDED])
@pytest.mark.parametrize("stock", [StockState.RELEASED, StockState.RESTORED])
def test_cancel_finished_ends_as_asked_once_stock_and_money_are_back(payment: PaymentState, stock: StockState) -> None:
    state = order(S.CANCELLING, stock_state=stock, payment_state=payment)
    assert cancel_finished(state).status is S.CANCELLED
    failed = cancel_finished(replace(state, end_as=S.PAYMENT_FAILED))
    assert failed.status is S.PAYMENT_FAILED and failed.note == "payment failed"


def test_money_settled_refunds_what_is_left_and_voids_nothing() -> None:
    state = order(S.CANCELLING, payment_state=PaymentState.CAPTURED, refunded=500)
    refunded = money_settled(state, PaymentState.REFUNDED)
    assert refunded.payment is PaymentState.REFUNDED and refunded.refund == 2500 and refunded.status is None
    voided = money_settled(order(S.CANCELLING, payment_state=PaymentState.AUTHORIZED), PaymentState.VOIDED)
    assert voided.payment is PaymentState.VOIDED and voided.refund == 0
    for outcome in (PaymentState.AUTHORIZED, PaymentState.CAPTURED):
        with pytest.raises(Conflict):
            money_settled(state, outcome)


def test_a_late_payment_is_recorded_without_moving_the_ended_order() -> None:
    change = late_payment_released(order(S.CANCELLED, payment_state=PaymentState.AUTHORIZED), PaymentState.VOIDED)
    assert change.status is None and change.payment is PaymentState.VOIDED and change.stock is None


def test_a_second_shipment_keeps_the_order_shipped_and_a_second_return_bumps_the_version() -> None:
    assert shipped(order(S.SHIPPED), "DHL").status is None
    assert shipped(order(S.CONFIRMED), "UPS").status is S.SHIPPED
    again = return_requested(order(S.RETURN_REQUESTED, returns_version=1), "r2")
    assert again.status is None and again.returns_version
    first = return_requested(order(S.DELIVERED), "r1")
    assert first.status is S.RETURN_REQUESTED and first.returns_version
