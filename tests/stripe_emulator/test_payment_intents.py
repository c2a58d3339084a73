"""PaymentIntents through the official SDK: statuses, capture, cancel, test cards, errors."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request

import pytest
import stripe

from shopstack.stripe_emulator import EmulatorServer
from tests.stripe_emulator.conftest import API_KEY, Control


def manual_intent(client: stripe.StripeClient, amount: int = 1500, pm: str = "pm_card_visa") -> stripe.PaymentIntent:
    return client.v1.payment_intents.create(
        params={"amount": amount, "currency": "usd", "capture_method": "manual", "payment_method": pm, "confirm": True}
    )


def test_both_sdk_configurations_reach_the_emulator(server: EmulatorServer, control: Control) -> None:
    client = stripe.StripeClient(API_KEY, base_addresses={"api": server.url})
    created = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    saved = (stripe.api_key, stripe.api_base)
    stripe.api_key, stripe.api_base = API_KEY, server.url
    try:
        fetched = stripe.PaymentIntent.retrieve(created.id)
        updated = stripe.PaymentIntent.modify(created.id, metadata={"order": "o-1"})
    finally:
        stripe.api_key, stripe.api_base = saved
    assert fetched.id == created.id and fetched.amount == 1000
    assert updated.metadata["order"] == "o-1"


def test_create_states_and_client_secret(client: stripe.StripeClient) -> None:
    bare = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd", "description": "cart 1"})
    assert bare.status == "requires_payment_method"
    assert bare.client_secret.startswith(bare.id + "_secret_")
    assert bare.capture_method == "automatic_async" and bare.latest_charge is None
    with_pm = client.v1.payment_intents.create(
        params={"amount": 1000, "currency": "usd", "payment_method": "pm_card_visa"}
    )
    assert with_pm.status == "requires_confirmation"
    confirmed = client.v1.payment_intents.confirm(with_pm.id)
    assert confirmed.status == "succeeded" and confirmed.amount_received == 1000


def test_manual_capture_with_metadata_and_expand(client: stripe.StripeClient) -> None:
    pi = client.v1.payment_intents.create(
        params={
            "amount": 2599,
            "currency": "eur",
            "capture_method": "manual",
            "payment_method": "pm_card_mastercard",
            "confirm": True,
            "metadata": {"orderId": "ord_1", "cart": "c_9"},
            "receipt_email": "a@example.com",
            "expand": ["latest_charge"],
        }
    )
    assert pi.status == "requires_capture"
    assert pi.amount_capturable == 2599 and pi.amount_received == 0
    assert pi.metadata.to_dict() == {"orderId": "ord_1", "cart": "c_9"}
    assert pi.latest_charge.object == "charge"
    assert pi.latest_charge.captured is False and pi.latest_charge.amount_captured == 0
    assert pi.latest_charge.payment_method_details.card.brand == "mastercard"
    captured = client.v1.payment_intents.capture(pi.id, params={"expand": ["latest_charge"]})
    assert captured.status == "succeeded" and captured.amount_received == 2599 and captured.amount_capturable == 0
    assert captured.latest_charge.captured is True and captured.latest_charge.amount_captured == 2599


def test_partial_capture_releases_the_remainder(client: stripe.StripeClient) -> None:
    pi = manual_intent(client, 5000)
    captured = client.v1.payment_intents.capture(pi.id, params={"amount_to_capture": 3000})
    assert captured.status == "succeeded"
    assert captured.amount_received == 3000 and captured.amount_capturable == 0
    charge = client.v1.charges.retrieve(captured.latest_charge)
    assert (charge.amount, charge.amount_captured, charge.amount_refunded) == (5000, 3000, 0)
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.payment_intents.capture(pi.id)
    assert again.value.code == "payment_intent_unexpected_state"


def test_capture_more_than_capturable_is_refused(client: stripe.StripeClient) -> None:
    pi = manual_intent(client, 1000)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.capture(pi.id, params={"amount_to_capture": 1001})
    assert exc.value.code == "amount_too_large" and exc.value.param == "amount_to_capture"
    assert client.v1.payment_intents.retrieve(pi.id).status == "requires_capture"


def test_capturing_a_non_capturable_intent_is_an_error(client: stripe.StripeClient) -> None:
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.capture(pi.id)
    assert exc.value.http_status == 400
    assert exc.value.code == "payment_intent_unexpected_state"
    assert "status of requires_payment_method" in str(exc.value.user_message)
    assert exc.value.error.payment_intent.id == pi.id


def test_update_merges_and_unsets_metadata(client: stripe.StripeClient) -> None:
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd", "metadata": {"a": "1", "b": "2"}})
    updated = client.v1.payment_intents.update(pi.id, params={"metadata": {"b": "", "c": "3"}})
    assert updated.metadata.to_dict() == {"a": "1", "c": "3"}
    succeeded = client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"})
    assert succeeded.status == "succeeded"
    client.v1.payment_intents.update(pi.id, params={"metadata": {"shipped": "yes"}})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.update(pi.id, params={"amount": 2000})
    assert exc.value.code == "payment_intent_unexpected_state"


def test_cancel(client: stripe.StripeClient) -> None:
    pi = manual_intent(client)
    canceled = client.v1.payment_intents.cancel(pi.id, params={"cancellation_reason": "abandoned"})
    assert canceled.status == "canceled" and canceled.cancellation_reason == "abandoned"
    assert canceled.amount_capturable == 0 and canceled.canceled_at
    charge = client.v1.charges.retrieve(canceled.latest_charge)
    assert charge.captured is False and charge.refunded is True
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.cancel(pi.id)
    assert exc.value.code == "payment_intent_unexpected_state"
    done = client.v1.payment_intents.create(
        params={"amount": 1000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.cancel(done.id)
    with pytest.raises(stripe.InvalidRequestError) as bad_reason:
        client.v1.payment_intents.cancel(
            client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"}).id,
            params={"cancellation_reason": "bored"},
        )
    assert bad_reason.value.param == "cancellation_reason"


def test_confirming_a_succeeded_intent_is_an_error(client: stripe.StripeClient) -> None:
    pi = client.v1.payment_intents.create(
        params={"amount": 1000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.confirm(pi.id)
    assert exc.value.code == "payment_intent_unexpected_state"


@pytest.mark.parametrize(
    ("pm", "code", "decline_code"),
    [
        ("pm_card_chargeDeclined", "card_declined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card"),
    ],
)
def test_declines(client: stripe.StripeClient, pm: str, code: str, decline_code: str) -> None:
    with pytest.raises(stripe.CardError) as exc:
        manual_intent(client, pm=pm)
    err = exc.value
    assert err.http_status == 402 and err.code == code
    assert err.error is not None and err.error.decline_code == decline_code and err.error.type == "card_error"
    pi = err.error.payment_intent
    assert pi.status == "requires_payment_method" and pi.payment_method is None
    assert pi.last_payment_error.decline_code == decline_code
    assert pi.last_payment_error.payment_method.card.last4
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.status == "failed" and charge.failure_code == code
    retried = client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"})
    assert retried.status == "requires_capture" and retried.last_payment_error is None


@pytest.mark.parametrize(
    ("number", "status", "decline_code"),
    [
        ("4242424242424242", "requires_capture", None),
        ("4000000000000002", None, "generic_decline"),
        ("4000000000009995", None, "insufficient_funds"),
        ("4000002500003155", "requires_action", None),
    ],
)
def test_card_numbers(client: stripe.StripeClient, number: str, status: str | None, decline_code: str | None) -> None:
    pm = client.v1.payment_methods.create(
        params={"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2040, "cvc": "123"}}
    )
    assert pm.card.last4 == number[-4:] and pm.type == "card"
    if decline_code:
        with pytest.raises(stripe.CardError) as exc:
            manual_intent(client, pm=pm.id)
        assert exc.value.error.decline_code == decline_code
    else:
        assert manual_intent(client, pm=pm.id).status == status


def test_incorrect_card_number(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_methods.create(params={"type": "card", "card": {"number": "4242424242424241"}})
    assert exc.value.code == "incorrect_number"


def test_three_d_secure(client: stripe.StripeClient, control: Control) -> None:
    pi = manual_intent(client, pm="pm_card_authenticationRequired")
    assert pi.status == "requires_action" and pi.next_action.type == "use_stripe_sdk"
    assert pi.latest_charge is None
    done = control.post(f"/_emulator/payment_intents/{pi.id}/authenticate", {"outcome": "succeed"})
    assert done["status"] == "requires_capture"
    charge = client.v1.charges.retrieve(done["latest_charge"])
    assert charge.payment_method_details.card.three_d_secure.result == "authenticated"

    failing = manual_intent(client, pm="pm_card_authenticationRequired")
    failed = control.post(f"/_emulator/payment_intents/{failing.id}/authenticate", {"outcome": "fail"})
    assert failed["status"] == "requires_payment_method"
    assert failed["last_payment_error"]["code"] == "payment_intent_authentication_failure"
    status, answer = control.call("POST", f"/_emulator/payment_intents/{failing.id}/authenticate", {})
    assert status == 400 and answer["error"]["code"] == "payment_intent_unexpected_state"


def test_three_d_secure_redirect(client: stripe.StripeClient) -> None:
    pi = client.v1.payment_intents.create(
        params={
            "amount": 1000,
            "currency": "usd",
            "payment_method": "pm_card_threeDSecure2Required",
            "confirm": True,
            "return_url": "http://127.0.0.1:9/done",
        }
    )
    assert pi.status == "requires_action" and pi.next_action.type == "redirect_to_url"
    assert pi.next_action.redirect_to_url.return_url == "http://127.0.0.1:9/done"

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(pi.next_action.redirect_to_url.url, timeout=5)
    assert redirect.value.code == 302
    location = f"http://127.0.0.1:9/done?payment_intent={pi.id}&redirect_status=succeeded"
    assert redirect.value.headers["Location"] == location
    assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"


def test_the_test_banks_challenge_page_completes_or_fails_and_goes_back(
    client: stripe.StripeClient, control: Control
) -> None:
    """A shop that confirmed on its server sends the shopper to the emulator's challenge page, which
    posts the choice and goes back to the shop's page with the outcome."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    back = "http://127.0.0.1:9/#/authenticate/o1?token=t"
    for outcome, status, intent_status in (
        ("fail", "failed", "requires_payment_method"),
        ("succeed", "succeeded", "requires_capture"),
    ):
        pi = manual_intent(client, pm="pm_card_authenticationRequired")
        page_url = f"{control.base}/_emulator/payment_intents/{pi.id}/challenge?return_url={urllib.parse.quote(back)}"
        with urllib.request.urlopen(page_url, timeout=5) as response:
            page = response.read().decode()
            assert response.headers["Content-Type"].startswith("text/html")
        assert "Complete authentication" in page and "Fail authentication" in page and "15.00 USD" in page
        form = urllib.parse.urlencode({"outcome": outcome, "redirect": "true", "return_url": back}).encode()
        request = urllib.request.Request(f"{control.base}/_emulator/payment_intents/{pi.id}/authenticate", data=form)
        with pytest.raises(urllib.error.HTTPError) as redirect:
            urllib.request.build_opener(NoRedirect).open(request, timeout=5)
        assert redirect.value.code == 302
        assert redirect.value.headers["Location"] == f"{back}&payment_intent={pi.id}&redirect_status={status}"
        assert client.v1.payment_intents.retrieve(pi.id).status == intent_status
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(
            f"{control.base}/_emulator/payment_intents/{pi.id}/challenge?return_url=javascript:x", timeout=5
        )
    assert refused.value.code == 400


def test_off_session_authentication_required_declines(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_intents.create(
            params={
                "amount": 1000,
                "currency": "usd",
                "payment_method": "pm_card_authenticationRequired",
                "confirm": True,
                "error_on_requires_action": True,
            }
        )
    assert exc.value.code == "authentication_required"


def test_validation_errors(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.payment_intents.create(params={"currency": "usd"})
    assert (missing.value.code, missing.value.param) == ("parameter_missing", "amount")
    with pytest.raises(stripe.InvalidRequestError) as small:
        client.v1.payment_intents.create(params={"amount": 10, "currency": "usd"})
    assert small.value.code == "amount_too_small"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd", "colour": "red"})
    assert (unknown.value.code, unknown.value.param) == ("parameter_unknown", "colour")
    with pytest.raises(stripe.InvalidRequestError) as no_pm:
        client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd", "payment_method": "pm_nope"})
    assert no_pm.value.code == "resource_missing" and no_pm.value.http_status == 400
    with pytest.raises(stripe.InvalidRequestError) as not_found:
        client.v1.payment_intents.retrieve("pi_missing")
    assert not_found.value.http_status == 404 and not_found.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as bad_expand:
        client.v1.payment_intents.retrieve("pi_missing", params={"expand": ["customer.invoice"]})
    assert bad_expand.value.param == "expand"


def test_api_keys(server: EmulatorServer, control: Control) -> None:
    not_a_test_key = "sk_live_" + "0" * 4  # the emulator refuses anything but sk_test_ keys
    live = stripe.StripeClient(not_a_test_key, base_addresses={"api": server.url})
    with pytest.raises(stripe.AuthenticationError) as exc:
        live.v1.payment_intents.list()
    assert exc.value.http_status == 401 and "sk_live_" in str(exc.value.user_message)
    request = urllib.request.Request(server.url + "/v1/payment_intents")
    with pytest.raises(urllib.error.HTTPError) as anonymous:
        urllib.request.urlopen(request, timeout=5)
    assert anonymous.value.code == 401


def test_unknown_url_and_version_header(server: EmulatorServer, control: Control) -> None:
    import requests

    auth = {"Authorization": f"Bearer {API_KEY}", "Stripe-Version": "2024-06-20"}
    missing = requests.get(server.url + "/v1/nothing", headers=auth, timeout=5)
    assert missing.status_code == 404 and "Unrecognized request URL" in missing.json()["error"]["message"]
    listed = requests.get(server.url + "/v1/payment_intents", headers=auth, timeout=5)
    assert listed.headers["Stripe-Version"] == "2024-06-20" and listed.headers["Request-Id"].startswith("req_")


def test_lists_paginate_and_expand(client: stripe.StripeClient) -> None:
    ids = [manual_intent(client).id for _ in range(3)]
    first = client.v1.payment_intents.list(params={"limit": 2, "expand": ["data.latest_charge"]})
    assert [pi.id for pi in first.data] == ids[::-1][:2] and first.has_more
    assert first.data[0].latest_charge.object == "charge"
    every = [pi.id for pi in client.v1.payment_intents.list(params={"limit": 2}).auto_paging_iter()]
    assert every == ids[::-1]
