"""Cancellation, expiry and late payments (`commerce.settlement`) over the in-memory ledger and
money: whoever runs them, however often and however interleaved, stock goes back once and money
is released once."""

from dataclasses import replace

import pytest

from commerce import settlement
from commerce.errors import Conflict, NotFound, TransientError
from commerce.orders import (
    Change,
    OrderState,
    OrderStatus,
    PaymentState,
    StockState,
    authorized,
    cancelling,
    committed,
)
from tests.unit.ledger_fakes import FakeLedger, FakeMoney, Intent, order_record

S = OrderStatus
TOTAL = 2500


def setup(
    status: S = S.PENDING_PAYMENT,
    *,
    intent: str | None = None,
    payment: PaymentState = PaymentState.PENDING,
    stock: StockState = StockState.RESERVED,
) -> tuple[FakeLedger, FakeMoney]:
    """One order of 2 A and 1 B, its stock held as `stock` says, its intent in the Stripe state
    behind `payment` (requires_payment_method when PENDING)."""
    counters = {
        StockState.RESERVED: {"onHand": 10, "reserved": 2, "available": 8},
        StockState.COMMITTED: {"onHand": 8, "reserved": 0, "available": 8},
    }.get(stock, {"onHand": 10, "reserved": 0, "available": 10})
    ledger = FakeLedger({"A": dict(counters), "B": {"onHand": 10, "reserved": 0, "available": 10}})
    state = OrderState(
        "o1", status, (("A", 2),), TOTAL, stock_state=stock, payment_state=payment, payment_intent_id=intent
    )
    ledger.add(order_record(state))
    intents = {}
    if intent:
        status_of = {
            PaymentState.PENDING: "requires_payment_method",
            PaymentState.AUTHORIZED: "requires_capture",
            PaymentState.CAPTURED: "succeeded",
        }[payment]
        intents[intent] = Intent(intent, status_of, TOTAL, "usd", "o1")
    return ledger, FakeMoney(intents)


def stock_back(ledger: FakeLedger) -> bool:
    return ledger.stock["A"] == {"onHand": 10, "reserved": 0, "available": 10}


def test_cancelling_an_unpaid_order_without_intent_gives_its_stock_back_once() -> None:
    ledger, money = setup()
    done = settlement.cancel(ledger, money, "o1", "cancelled by customer")
    assert done.status is S.CANCELLED and done.stock_state is StockState.RELEASED
    assert stock_back(ledger) and money.released == []
    assert ledger.history("o1")[-2:] == ["CANCELLING", "CANCELLED"]
    assert settlement.cancel(ledger, money, "o1", "again").status is S.CANCELLED
    assert settlement.finish(ledger, money, "o1").status is S.CANCELLED
    assert stock_back(ledger) and ledger.history("o1").count("CANCELLING") == 1


def test_cancelling_a_paid_order_voids_its_authorization() -> None:
    ledger, money = setup(S.PAID, intent="pi_1", payment=PaymentState.AUTHORIZED)
    done = settlement.cancel(ledger, money, "o1", "cancelled by staff")
    assert done.status is S.CANCELLED and done.payment_state is PaymentState.VOIDED and done.refunded == 0
    assert money.released == [("pi_1", PaymentState.VOIDED)] and money.intents["pi_1"].status == "canceled"
    assert stock_back(ledger)


def test_cancelling_a_confirmed_order_refunds_and_restores_committed_stock() -> None:
    ledger, money = setup(S.CONFIRMED, intent="pi_1", payment=PaymentState.CAPTURED, stock=StockState.COMMITTED)
    done = settlement.cancel(ledger, money, "o1", "cancelled by staff")
    assert done.status is S.CANCELLED and done.stock_state is StockState.RESTORED
    assert done.payment_state is PaymentState.REFUNDED and done.refunded == TOTAL
    assert money.released == [("pi_1", PaymentState.REFUNDED)] and stock_back(ledger)


def test_an_unreachable_payment_provider_leaves_the_order_cancelling_with_its_stock_back() -> None:
    ledger, money = setup(S.PAID, intent="pi_1", payment=PaymentState.AUTHORIZED)
    money.unavailable = 1
    with pytest.raises(TransientError):
        settlement.cancel(ledger, money, "o1", "cancelled by customer")
    state = ledger.state("o1")
    assert state is not None and state.status is S.CANCELLING and state.payment_state is PaymentState.AUTHORIZED
    assert state.stock_state is StockState.RELEASED and stock_back(ledger)
    done = settlement.cancel(ledger, money, "o1", "cancelled by customer")
    assert done.status is S.CANCELLED and done.payment_state is PaymentState.VOIDED
    assert stock_back(ledger) and money.released == [("pi_1", PaymentState.VOIDED)]
    assert ledger.history("o1")[-2:] == ["CANCELLING", "CANCELLED"]


def test_a_cancelling_order_is_finished_by_whoever_comes_next() -> None:
    ledger, money = setup(S.PAID, intent="pi_1", payment=PaymentState.AUTHORIZED)
    money.unavailable = 1
    with pytest.raises(TransientError):
        settlement.cancel(ledger, money, "o1", "cancelled by customer", end_as=S.PAYMENT_FAILED)
    assert settlement.finish(ledger, money, "o1").status is S.PAYMENT_FAILED, "the end chosen first holds"
    assert stock_back(ledger)


def test_a_cancellation_that_loses_the_race_to_another_releases_nothing_twice() -> None:
    ledger, money = setup(S.PAID, intent="pi_1", payment=PaymentState.AUTHORIZED)

    def customer_first(_: Change) -> None:
        """The workflow's compensation has read the order; a customer's cancellation runs to
        the end before its write."""
        settlement.cancel(ledger, money, "o1", "cancelled by customer")

    ledger.before_apply.append(customer_first)
    done = settlement.cancel(ledger, money, "o1", "capture failed", end_as=S.PAYMENT_FAILED)
    assert done.status is S.CANCELLED, "the first write wins; the second actor only resumes"
    assert len(ledger.refused) == 1 and ledger.refused[0].status is S.CANCELLING
    assert stock_back(ledger) and money.released == [("pi_1", PaymentState.VOIDED)]
    assert ledger.history("o1").count("CANCELLING") == 1


def test_a_stale_cancelling_write_is_refused_and_moves_no_stock() -> None:
    ledger, _ = setup()
    read_by_both = ledger.state("o1")
    assert read_by_both is not None
    assert ledger.apply(cancelling(read_by_both, "expired"))
    assert not ledger.apply(cancelling(read_by_both, "cancelled by customer"))
    assert stock_back(ledger) and ledger.history("o1").count("CANCELLING") == 1


def test_an_expiry_that_a_payment_overtakes_voids_nothing_and_keeps_the_reservation() -> None:
    ledger, money = setup(intent="pi_1")
    pending = ledger.state("o1")
    assert pending is not None

    def webhook_first(_: Change) -> None:
        """The expiry asked Stripe (not authorized yet); the webhook then pays the order first."""
        assert ledger.apply(authorized(pending, "pi_1"))

    ledger.before_apply.append(webhook_first)
    after = settlement.expire(ledger, money, "o1")
    assert after.status is S.PAID and after.payment_state is PaymentState.AUTHORIZED
    assert money.released == [] and ledger.stock["A"] == {"onHand": 10, "reserved": 2, "available": 8}


def test_expiry_leaves_a_paid_order_alone() -> None:
    ledger, money = setup(S.PAID, intent="pi_1", payment=PaymentState.AUTHORIZED)
    assert settlement.expire(ledger, money, "o1").status is S.PAID
    assert money.released == [] and money.asked == [] and ledger.applied == []
    assert ledger.stock["A"] == {"onHand": 10, "reserved": 2, "available": 8}


def test_expiry_cancels_an_unpaid_order_and_voids_its_intent() -> None:
    ledger, money = setup(intent="pi_1")
    done = settlement.expire(ledger, money, "o1")
    assert done.status is S.CANCELLED and done.payment_state is PaymentState.VOIDED
    assert money.asked == ["pi_1"] and money.released == [("pi_1", PaymentState.VOIDED)] and stock_back(ledger)
    assert settlement.expire(ledger, money, "o1").status is S.CANCELLED
    assert len(money.released) == 1 and stock_back(ledger)


def test_expiry_pays_an_order_whose_payment_was_authorized_at_the_last_moment() -> None:
    ledger, money = setup(intent="pi_1")
    money.intents["pi_1"] = replace(money.intents["pi_1"], status="requires_capture")
    paid = settlement.expire(ledger, money, "o1")
    assert paid.status is S.PAID and paid.payment_state is PaymentState.AUTHORIZED and money.released == []


def test_an_intent_for_another_amount_never_pays_an_expiring_order() -> None:
    ledger, money = setup(intent="pi_1")
    money.intents["pi_1"] = replace(money.intents["pi_1"], status="requires_capture", amount=1)
    assert settlement.expire(ledger, money, "o1").status is S.CANCELLED


def test_a_late_payment_on_an_ended_order_is_voided_and_recorded() -> None:
    ledger, money = setup(S.PAYMENT_FAILED, intent="pi_1", stock=StockState.RELEASED)
    money.intents["pi_1"] = replace(money.intents["pi_1"], status="requires_capture")
    ended = ledger.state("o1")
    assert ended is not None
    assert settlement.release_late_payment(ledger, money, ended) == "voided: the order had already ended"
    after = ledger.state("o1")
    assert after is not None and after.status is S.PAYMENT_FAILED and after.payment_state is PaymentState.VOIDED
    assert money.intents["pi_1"].status == "canceled"
    assert settlement.release_late_payment(ledger, money, after) == "order is PAYMENT_FAILED; nothing held"
    assert money.released == [("pi_1", PaymentState.VOIDED)]


def test_a_late_captured_payment_on_a_cancelled_order_is_refunded_in_full() -> None:
    ledger, money = setup(S.CANCELLED, intent="pi_1", payment=PaymentState.CAPTURED, stock=StockState.RELEASED)
    ended = ledger.state("o1")
    assert ended is not None
    assert settlement.release_late_payment(ledger, money, ended).startswith("refunded")
    after = ledger.state("o1")
    assert after is not None and after.payment_state is PaymentState.REFUNDED and after.refunded == TOTAL


def test_an_unknown_order_is_404() -> None:
    ledger, money = setup()
    with pytest.raises(NotFound):
        settlement.cancel(ledger, money, "nope", "x")


def test_a_shipped_order_cannot_be_cancelled() -> None:
    ledger, money = setup(S.SHIPPED, intent="pi_1", payment=PaymentState.CAPTURED, stock=StockState.COMMITTED)
    with pytest.raises(Conflict):
        settlement.cancel(ledger, money, "o1", "too late")
    assert money.released == []


# --- the fake ledger holds the conditions of commerce.ledger.apply --------------------------------


def test_the_ledger_refuses_a_change_planned_from_a_status_no_longer_there() -> None:
    ledger, _ = setup(S.PAID, intent="pi_1", payment=PaymentState.AUTHORIZED)
    stale = ledger.state("o1")
    assert stale is not None
    ledger.records["o1"]["status"] = "CONFIRMED"
    assert not ledger.apply(committed(stale)) and ledger.stock["A"]["reserved"] == 2


def test_the_ledger_refuses_a_stock_move_from_the_wrong_stock_state_or_below_zero() -> None:
    ledger, _ = setup(S.PAID, intent="pi_1", payment=PaymentState.AUTHORIZED)
    state = ledger.state("o1")
    assert state is not None
    ledger.records["o1"]["stockState"] = "COMMITTED"
    assert not ledger.apply(committed(state))
    ledger.records["o1"]["stockState"] = "RESERVED"
    ledger.stock["A"]["reserved"] = 1
    assert not ledger.apply(committed(state)), "reserved would go below zero"
    assert (
        ledger.stock["A"] == {"onHand": 10, "reserved": 1, "available": 8} and ledger.records["o1"]["status"] == "PAID"
    )
    del ledger.records["o1"]["stockState"]
    ledger.stock["A"]["reserved"] = 2
    assert ledger.apply(committed(state)), "an item without stockState holds its reservation"
    assert ledger.stock["A"] == {"onHand": 8, "reserved": 0, "available": 8}


def test_the_ledger_refuses_a_payment_change_from_another_payment_state() -> None:
    ledger, _ = setup(S.CANCELLING, intent="pi_1", payment=PaymentState.AUTHORIZED, stock=StockState.RELEASED)
    state = ledger.state("o1")
    assert state is not None
    ledger.records["o1"]["paymentState"] = "VOIDED"
    assert not ledger.apply(Change(order=state, note="x", payment=PaymentState.VOIDED))


def test_the_ledger_keeps_refunds_within_the_total() -> None:
    ledger, _ = setup(S.CANCELLING, intent="pi_1", payment=PaymentState.CAPTURED, stock=StockState.RESTORED)
    state = ledger.state("o1")
    assert state is not None
    ledger.records["o1"]["refundedAmount"] = 1
    assert not ledger.apply(Change(order=state, note="x", payment=PaymentState.REFUNDED, refund=TOTAL))
    ledger.records["o1"]["refundedAmount"] = 0
    assert ledger.apply(Change(order=state, note="x", payment=PaymentState.REFUNDED, refund=TOTAL))
    assert ledger.records["o1"]["refundedAmount"] == TOTAL
