"""Refunds never exceed what was captured minus what was already refunded."""

from __future__ import annotations

import pytest
import stripe

from tests.stripe_emulator.test_payment_intents import manual_intent


def test_partial_capture_then_refunds_up_to_the_captured_amount(client: stripe.StripeClient) -> None:
    pi = manual_intent(client, 5000)
    client.v1.payment_intents.capture(pi.id, params={"amount_to_capture": 3000})
    first = client.v1.refunds.create(
        params={"payment_intent": pi.id, "amount": 1000, "reason": "requested_by_customer"}
    )
    assert (first.amount, first.status, first.payment_intent) == (1000, "succeeded", pi.id)
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 2001})
    assert too_much.value.code == "amount_too_large" and too_much.value.param == "amount"
    assert "($20.01)" in str(too_much.value.user_message) and "($20.00)" in str(too_much.value.user_message)
    rest = client.v1.refunds.create(params={"payment_intent": pi.id})
    assert rest.amount == 2000
    charge = client.v1.charges.retrieve(rest.charge)
    assert (charge.amount_captured, charge.amount_refunded, charge.refunded) == (3000, 3000, True)
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 1})
    assert again.value.code == "charge_already_refunded"
    listed = client.v1.refunds.list(params={"payment_intent": pi.id})
    assert [r.amount for r in listed.data] == [2000, 1000]


def test_refund_by_charge_and_partial_flag(client: stripe.StripeClient) -> None:
    pi = client.v1.payment_intents.create(
        params={"amount": 1200, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    refund = client.v1.refunds.create(params={"charge": pi.latest_charge, "amount": 200})
    assert refund.payment_intent == pi.id
    charge = client.v1.charges.retrieve(pi.latest_charge, params={"expand": ["refunds"]})
    assert (charge.amount_refunded, charge.refunded) == (200, False)
    assert [r.id for r in charge.refunds.data] == [refund.id]
    assert client.v1.refunds.retrieve(refund.id).amount == 200


def test_refunding_an_uncaptured_intent_is_an_error(client: stripe.StripeClient) -> None:
    pi = manual_intent(client)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.refunds.create(params={"payment_intent": pi.id})
    assert exc.value.code == "payment_intent_unexpected_state"
    assert "Cancel" in str(exc.value.user_message)
    with pytest.raises(stripe.InvalidRequestError) as by_charge:
        client.v1.refunds.create(params={"charge": pi.latest_charge})
    assert by_charge.value.code == "charge_not_refundable"
    bare = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    with pytest.raises(stripe.InvalidRequestError) as nothing:
        client.v1.refunds.create(params={"payment_intent": bare.id})
    assert nothing.value.code == "charge_not_refundable"


def test_refund_validation(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={})
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.refunds.create(params={"payment_intent": "pi_nope"})
    assert missing.value.code == "resource_missing"
    pi = client.v1.payment_intents.create(
        params={"amount": 1000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    with pytest.raises(stripe.InvalidRequestError) as zero:
        client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 0})
    assert zero.value.param == "amount"
