"""Checkout use cases with in-memory ports: what a shopper and the payment provider can do."""

import pytest

from checkout import service
from checkout.domain.cart import Cart, CartStatus
from checkout.domain.order import Payment
from commerce.errors import Conflict, NotFound, PaymentDeclined, ValidationFailed
from commerce.orders import OrderStatus, PaymentState, StockState
from tests.unit.checkout_fakes import FakeWebhookLog, make_checkout

ADDRESS = {"name": "Ada", "line1": "1 Main St", "city": "Springfield", "postalCode": "12345", "country": "US"}


TOTAL = 1000 + 599 + 80  # one unit at 10.00, US shipping 5.99, 8% tax


def authorized(intent: str) -> Payment:
    return Payment(intent, "requires_capture", None, TOTAL, "usd", "o1")


def request(payment_method: str | None = "pm_card_visa") -> service.CheckoutRequest:
    return service.CheckoutRequest("ada@example.com", ADDRESS, payment_method)


def cart_with(deps: service.Checkout, **items: int) -> Cart:
    cart, _ = service.create_cart(deps, owner=None)
    for sku, qty in items.items():
        cart = service.set_item(deps, cart, sku, qty)
    return cart


def test_paid_checkout_reserves_stock_and_starts_the_order_workflow() -> None:
    deps, parts = make_checkout(A=5)
    cart = cart_with(deps, A=2)
    body = service.checkout(deps, cart, request(), order_id="o1").to_json()
    assert body["status"] == "PAID"
    assert body["total"] == {"amount": 2000 + 599 + 160, "currency": "usd"}
    assert parts["ledger"].stock["A"] == {"onHand": 5, "reserved": 2, "available": 3}
    assert parts["workflows"].started == {"o1"} and parts["workflows"].expiries == {"o1": 900}
    assert parts["workflows"].starts == ["o1"], "the write that paid the order started its workflow, once"
    names = [e.name for _, e in parts["publisher"].published]
    assert names == ["CartCreated", "CartUpdated"], (
        "order events come from the Orders table's stream, not from checkout"
    )


def test_a_retried_checkout_charges_once() -> None:
    deps, parts = make_checkout(A=5)
    cart = cart_with(deps, A=1)
    first = service.checkout(deps, cart, request(), order_id="o1")
    again = service.checkout(deps, cart, request(), order_id="o1")
    assert first.order.order_id == again.order.order_id and again.order.status is OrderStatus.PAID
    assert parts["payments"].created == 1 and parts["ledger"].stock["A"]["reserved"] == 1


def test_a_declined_card_fails_the_order_and_releases_its_stock() -> None:
    deps, parts = make_checkout(A=5)
    cart = cart_with(deps, A=2)
    with pytest.raises(PaymentDeclined) as declined:
        service.checkout(deps, cart, request("pm_card_chargeDeclined"), order_id="o1")
    assert declined.value.status == 402 and declined.value.problem_code == "card_declined"
    assert declined.value.extra == {"declineCode": "generic_decline", "orderId": "o1"}
    assert parts["ledger"].stock["A"] == {"onHand": 5, "reserved": 0, "available": 5}
    assert parts["stock"].orders["o1"].status is OrderStatus.PAYMENT_FAILED
    assert parts["ledger"].history("o1") == ["PENDING_PAYMENT", "PAYMENT_FAILED"], "released in the failing write"
    assert parts["ledger"].state("o1").stock_state is StockState.RELEASED
    assert parts["workflows"].starts == []


def test_three_d_secure_leaves_the_order_pending_with_a_client_secret() -> None:
    deps, parts = make_checkout(A=5)
    body = service.checkout(
        deps, cart_with(deps, A=1), request("pm_card_authenticationRequired"), order_id="o1"
    ).to_json()
    assert body["status"] == "PENDING_PAYMENT"
    assert body["payment"]["status"] == "requires_action" and body["payment"]["clientSecret"]
    assert parts["workflows"].expiries == {"o1": 900} and parts["workflows"].starts == []


def test_short_stock_reserves_nothing() -> None:
    deps, parts = make_checkout(A=5, B=1)
    cart = cart_with(deps, A=2, B=1)
    parts["ledger"].stock["B"] = {"onHand": 0, "reserved": 0, "available": 0}
    with pytest.raises(Conflict) as refused:
        service.checkout(deps, cart, request(), order_id="o1")
    assert refused.value.problem_code == "out_of_stock"
    assert refused.value.errors == [{"sku": "B", "requested": 1, "available": 0}]
    assert parts["ledger"].counts("available") == {"A": 5, "B": 0} and parts["payments"].created == 0
    assert parts["ledger"].counts("reserved") == {"A": 0, "B": 0} and parts["ledger"].records == {}


def test_adding_more_than_available_is_409_and_unknown_sku_404() -> None:
    deps, _ = make_checkout(A=2)
    cart, _ = service.create_cart(deps, owner=None)
    with pytest.raises(Conflict):
        service.set_item(deps, cart, "A", 3)
    with pytest.raises(NotFound):
        service.set_item(deps, cart, "NOPE", 1)


def test_client_confirmed_payment_is_settled_by_the_webhook_once() -> None:
    deps, parts = make_checkout(A=5)
    body = service.checkout(deps, cart_with(deps, A=1), request(None), order_id="o1").to_json()
    assert body["status"] == "PENDING_PAYMENT" and parts["workflows"].starts == []
    intent = body["payment"]["paymentIntentId"]
    parts["payments"].intents[intent] = authorized(intent)
    log = FakeWebhookLog()
    event = {
        "id": "evt_1",
        "type": "payment_intent.amount_capturable_updated",
        "data": {"object": {"id": intent}},
    }
    assert service.on_stripe_event(deps, log, event) == "PAID"
    assert service.on_stripe_event(deps, log, event) == "duplicate"
    assert parts["stock"].orders["o1"].status is OrderStatus.PAID and parts["workflows"].started == {"o1"}
    assert parts["workflows"].starts == ["o1"], "the webhook that paid the order started its workflow, once"


def test_an_intent_for_another_amount_never_pays_the_order() -> None:
    deps, parts = make_checkout(A=5)
    body = service.checkout(deps, cart_with(deps, A=1), request(None), order_id="o1").to_json()
    intent = body["payment"]["paymentIntentId"]
    parts["payments"].intents[intent] = Payment(intent, "requires_capture", None, 1, "usd", "o1")
    assert "mismatch" in service.on_payment_event(deps, intent)
    assert parts["stock"].orders["o1"].status is OrderStatus.PENDING_PAYMENT


def test_an_unpaid_order_expires_voids_its_payment_and_releases_stock() -> None:
    deps, parts = make_checkout(A=5)
    body = service.checkout(deps, cart_with(deps, A=2), request(None), order_id="o1").to_json()
    result = service.expire_reservation(deps, "o1")
    assert result == {"orderId": "o1", "status": "CANCELLED", "expired": True}
    assert parts["ledger"].stock["A"] == {"onHand": 5, "reserved": 0, "available": 5}
    assert parts["payments"].intents[body["payment"]["paymentIntentId"]].status == "canceled"
    assert parts["ledger"].history("o1") == ["PENDING_PAYMENT", "CANCELLING", "CANCELLED"]
    assert parts["ledger"].state("o1").payment_state is PaymentState.VOIDED
    assert service.expire_reservation(deps, "o1")["status"] == "CANCELLED", "a repeated expiry changes nothing"
    assert parts["ledger"].stock["A"]["available"] == 5 and len(parts["money"].released) == 1


def test_a_payment_authorized_just_before_expiry_wins() -> None:
    deps, parts = make_checkout(A=5)
    body = service.checkout(deps, cart_with(deps, A=1), request(None), order_id="o1").to_json()
    intent = body["payment"]["paymentIntentId"]
    parts["payments"].intents[intent] = Payment(intent, "requires_capture", None, 1000 + 599 + 80, "usd", "o1")
    assert service.expire_reservation(deps, "o1")["status"] == "PAID"
    assert parts["ledger"].stock["A"]["reserved"] == 1 and parts["workflows"].started == {"o1"}
    assert parts["money"].released == [], "a payment that won is never voided"


def test_an_expiry_message_before_its_time_is_sent_on_for_the_time_left() -> None:
    deps, parts = make_checkout(A=5)
    service.checkout(deps, cart_with(deps, A=1), request(None), order_id="o1")
    result = service.reservation_due(deps, "o1", expires_at=2_000, now=1_099.5, correlation_id="c1")
    assert result == {"orderId": "o1", "status": "WAITING", "expired": False}
    assert parts["workflows"].expiries["o1"] == 901 and parts["workflows"].correlations["o1"] == "c1"
    assert parts["stock"].orders["o1"].status is OrderStatus.PENDING_PAYMENT
    assert service.reservation_due(deps, "o1", expires_at=2_000, now=2_000, correlation_id="c1")["expired"]


def test_the_expiry_of_a_paid_order_changes_nothing_and_starts_no_second_workflow() -> None:
    deps, parts = make_checkout(A=5)
    service.checkout(deps, cart_with(deps, A=1), request(), order_id="o1")
    assert parts["workflows"].starts == ["o1"]
    result = service.reservation_due(deps, "o1", expires_at=1, now=2, correlation_id=None)
    assert result == {"orderId": "o1", "status": "PAID", "expired": False}
    assert parts["workflows"].starts == ["o1"] and parts["money"].released == []
    assert parts["ledger"].stock["A"]["reserved"] == 1


def test_a_repeated_payment_event_of_a_paid_order_starts_no_second_workflow() -> None:
    deps, parts = make_checkout(A=5)
    placed = service.checkout(deps, cart_with(deps, A=1), request(), order_id="o1")
    assert placed.payment is not None
    assert service.on_payment_event(deps, placed.payment.intent_id) == "already paid"
    assert parts["workflows"].starts == ["o1"]


def test_a_payment_authorized_after_the_order_failed_is_voided_and_recorded_once() -> None:
    deps, parts = make_checkout(A=5)
    with pytest.raises(PaymentDeclined):
        service.checkout(deps, cart_with(deps, A=1), request("pm_card_chargeDeclined"), order_id="o1")
    intent = "pi_o1"
    parts["payments"].intents[intent] = authorized(intent)
    assert service.on_payment_event(deps, intent) == "voided: the order had already ended"
    assert parts["payments"].intents[intent].status == "canceled"
    order = parts["stock"].orders["o1"]
    assert order.status is OrderStatus.PAYMENT_FAILED and order.state is not None
    assert order.state.payment_state is PaymentState.VOIDED
    assert service.on_payment_event(deps, intent) == "order is PAYMENT_FAILED", "the voided intent holds nothing"
    assert parts["money"].released == [(intent, PaymentState.VOIDED)]
    assert parts["ledger"].stock["A"] == {"onHand": 5, "reserved": 0, "available": 5}


def test_an_event_for_the_voided_intent_of_an_expired_order_finds_nothing_held() -> None:
    deps, parts = make_checkout(A=5)
    body = service.checkout(deps, cart_with(deps, A=1), request(None), order_id="o1").to_json()
    service.expire_reservation(deps, "o1")
    intent = body["payment"]["paymentIntentId"]
    assert parts["payments"].intents[intent].status == "canceled"
    assert service.on_payment_event(deps, intent) == "order is CANCELLED"
    assert parts["stock"].orders["o1"].status is OrderStatus.CANCELLED


def test_a_webhook_that_pays_the_order_first_also_records_its_intent() -> None:
    deps, parts = make_checkout(A=5)
    body = service.checkout(deps, cart_with(deps, A=1), request(None), order_id="o1").to_json()
    intent = body["payment"]["paymentIntentId"]
    del parts["ledger"].records["o1"]["paymentIntentId"]
    parts["payments"].intents[intent] = authorized(intent)
    assert service.on_payment_event(deps, intent) == "PAID"
    assert parts["stock"].orders["o1"].payment_intent_id == intent


def test_reading_a_guest_cart_never_claims_it_and_only_its_holder_claims_it_explicitly() -> None:
    from commerce.errors import Conflict

    deps, _ = make_checkout(A=5)
    cart, token = service.create_cart(deps, owner=None)
    assert service.open_cart(deps, cart.cart_id, sub="user-1", token=token).owner is None
    with pytest.raises(NotFound):
        service.claim_cart(deps, cart.cart_id, sub="user-1", token=None)
    claimed = service.claim_cart(deps, cart.cart_id, sub="user-1", token=token)
    assert claimed.owner == "user-1"
    assert service.open_cart(deps, cart.cart_id, sub="user-1", token=None).cart_id == cart.cart_id
    with pytest.raises(NotFound):
        service.open_cart(deps, cart.cart_id, sub="user-2", token=None)
    with pytest.raises(Conflict):
        service.claim_cart(deps, cart.cart_id, sub="user-2", token=token)


def test_an_order_belongs_to_whoever_checked_out_not_to_whoever_claimed_the_cart() -> None:
    deps, _ = make_checkout(A=5)
    cart, token = service.create_cart(deps, owner=None)
    cart = service.set_item(deps, cart, "A", 1)
    service.claim_cart(deps, cart.cart_id, sub="someone-else", token=token)
    cart = service.open_cart(deps, cart.cart_id, sub=None, token=token)
    request = service.CheckoutRequest("ada@example.com", dict(ADDRESS), "pm_card_visa", owner=None)
    placed = service.checkout(deps, cart, request, order_id="o-guest")
    order = deps.orders.get(placed.order.order_id)
    assert order is not None and order.owner is None


def test_checkout_refuses_with_503_before_reserving_when_payments_are_not_configured() -> None:
    from commerce.errors import PaymentsUnavailable

    deps, parts = make_checkout(A=5)
    cart = cart_with(deps, A=2)
    parts["payments"].problems = ["secretKey is still the placeholder"]
    with pytest.raises(PaymentsUnavailable) as refused:
        service.checkout(deps, cart, request(), order_id="o1")
    assert refused.value.status == 503 and refused.value.problem_code == "payments_unavailable"
    assert refused.value.retry_after and "secretKey is still the placeholder" in refused.value.detail
    assert parts["ledger"].stock["A"] == {"onHand": 5, "reserved": 0, "available": 5}
    assert "o1" not in parts["stock"].orders and parts["workflows"].expiries == {}
    parts["payments"].problems = []
    body = service.checkout(deps, cart, request(), order_id="o1").to_json()
    assert body["status"] == "PAID", "the same Idempotency-Key works once keys are in place"


def test_keys_stripe_refuses_release_the_stock_at_once_and_answer_503() -> None:
    from commerce.errors import PaymentsUnavailable

    deps, parts = make_checkout(A=5)
    cart = cart_with(deps, A=2)
    parts["payments"].key_refused = True
    with pytest.raises(PaymentsUnavailable):
        service.checkout(deps, cart, request(), order_id="o1")
    assert parts["ledger"].stock["A"] == {"onHand": 5, "reserved": 0, "available": 5}
    assert parts["stock"].orders["o1"].status is OrderStatus.CANCELLED
    assert parts["ledger"].history("o1") == ["PENDING_PAYMENT", "CANCELLING", "CANCELLED"]
    assert parts["money"].released == [], "no intent was created: nothing to void"


class CountingHolds:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def take(self, key: str, limit: int, window_seconds: int) -> bool:
        if self.counts.get(key, 0) >= limit:
            return False
        self.counts[key] = self.counts.get(key, 0) + 1
        return True


def test_a_guest_without_a_payment_method_holds_only_so_much_and_briefly() -> None:
    from dataclasses import replace

    from checkout.service import HoldLimits
    from commerce.errors import Throttled, ValidationFailed

    deps, parts = make_checkout(A=50)
    deps = replace(deps, holds=CountingHolds(), hold_limits=HoldLimits(max_units=3, per_email=2, per_client=5))
    unpaid = service.CheckoutRequest("eve@example.com", dict(ADDRESS), None, client="10.0.0.1")
    with pytest.raises(ValidationFailed) as too_many:
        service.checkout(deps, cart_with(deps, A=4), unpaid, order_id="o-big")
    assert too_many.value.problem_code == "hold_limit_exceeded"
    for n in range(2):
        held = service.checkout(deps, cart_with(deps, A=1), unpaid, order_id=f"o-{n}")
        assert held.order.status is OrderStatus.PENDING_PAYMENT
    with pytest.raises(Throttled):
        service.checkout(deps, cart_with(deps, A=1), unpaid, order_id="o-third")
    assert parts["ledger"].stock["A"]["reserved"] == 2  # the refused ones reserved nothing
    assert parts["workflows"].expiries["o-0"] == 300  # held 5 minutes, not the full 15
    paid = service.CheckoutRequest("eve@example.com", dict(ADDRESS), "pm_card_visa", client="10.0.0.1")
    assert service.checkout(deps, cart_with(deps, A=4), paid, order_id="o-paid").order.status is OrderStatus.PAID


def test_the_same_checkout_again_answers_the_same_order_and_reserves_nothing_twice() -> None:
    deps, parts = make_checkout(A=5)
    cart = cart_with(deps, A=2)
    first = service.checkout(deps, cart, request(), order_id="o1").to_json()
    checked_out = parts["carts"].carts[cart.cart_id]
    again = service.checkout(deps, checked_out, request(), order_id="o1").to_json()
    assert again["orderId"] == first["orderId"] == "o1" and again["status"] == "PAID"
    assert parts["ledger"].stock["A"] == {"onHand": 5, "reserved": 2, "available": 3}
    assert parts["workflows"].starts == ["o1"] and list(parts["workflows"].expiries) == ["o1"]


def test_the_same_key_for_another_open_cart_is_refused_and_that_cart_stays_open() -> None:
    deps, parts = make_checkout(A=5)
    service.checkout(deps, cart_with(deps, A=1), request(), order_id="o1")
    other = cart_with(deps, A=2)
    with pytest.raises(ValidationFailed) as refused:
        service.checkout(deps, other, request(), order_id="o1")
    assert refused.value.problem_code == "idempotency_key_reused"
    assert parts["carts"].carts[other.cart_id].status == CartStatus.OPEN
    assert parts["ledger"].stock["A"] == {"onHand": 5, "reserved": 1, "available": 4}


def test_a_cart_shows_each_line_priced_and_its_totals() -> None:
    deps, _ = make_checkout(A=5)
    body = service.cart_json(deps, cart_with(deps, A=2))
    assert [(i["sku"], i["quantity"], i["unitPrice"]["amount"], i["lineTotal"]["amount"]) for i in body["items"]] == [
        ("A", 2, 1000, 2000)
    ]
    assert body["total"] == {"amount": 2000 + 599 + 160, "currency": "usd"} and body["unavailable"] == []
