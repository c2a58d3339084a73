"""Idempotency-Key semantics, and SDK retries through injected faults."""

from __future__ import annotations

import pytest
import requests
import stripe

from shopstack.stripe_emulator import EmulatorServer
from tests.stripe_emulator.conftest import API_KEY, Control

CREATE = {
    "amount": 1500,
    "currency": "usd",
    "capture_method": "manual",
    "payment_method": "pm_card_visa",
    "confirm": "true",
}


def post(
    server: EmulatorServer, path: str, data: dict[str, str], key: str, api_key: str = API_KEY
) -> requests.Response:
    headers = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": key}
    return requests.post(server.url + path, data=data, headers=headers, timeout=5)


def intent_count(client: stripe.StripeClient) -> int:
    return len(client.v1.payment_intents.list(params={"limit": 100}).data)


def test_same_key_same_params_replays_the_first_response(server: EmulatorServer, client: stripe.StripeClient) -> None:
    first = post(server, "/v1/payment_intents", CREATE, "order-1")
    second = post(server, "/v1/payment_intents", CREATE, "order-1")
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["Original-Request"] == first.headers["Request-Id"]
    assert "Idempotent-Replayed" not in first.headers
    assert intent_count(client) == 1


def test_same_key_other_params_or_endpoint_is_an_idempotency_error(client: stripe.StripeClient) -> None:
    client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"}, options={"idempotency_key": "k1"})
    try:
        client.v1.payment_intents.create(params={"amount": 2000, "currency": "usd"}, options={"idempotency_key": "k1"})
    except stripe.IdempotencyError as exc:
        assert exc.http_status == 400 and exc.error is not None and exc.error.type == "idempotency_error"
    else:
        raise AssertionError("expected IdempotencyError")
    try:
        client.v1.refunds.create(params={"payment_intent": "pi_x"}, options={"idempotency_key": "k1"})
    except stripe.IdempotencyError as exc:
        assert "same endpoint" in str(exc.user_message)
    else:
        raise AssertionError("expected IdempotencyError")


def test_keys_are_scoped_per_api_key_and_expire_after_a_day(
    server: EmulatorServer, client: stripe.StripeClient, control: Control
) -> None:
    a = post(server, "/v1/payment_intents", CREATE, "shared").json()["id"]
    b = post(server, "/v1/payment_intents", CREATE, "shared", api_key="sk_test_other").json()["id"]
    assert a != b
    control.post("/_emulator/clock", {"advance": 24 * 3600 - 60})
    assert post(server, "/v1/payment_intents", CREATE, "shared").json()["id"] == a
    control.post("/_emulator/clock", {"advance": 120})
    assert post(server, "/v1/payment_intents", CREATE, "shared").json()["id"] not in (a, b)


def test_declines_are_replayed_and_validation_errors_are_not_saved(
    server: EmulatorServer, client: stripe.StripeClient
) -> None:
    declined = {**CREATE, "payment_method": "pm_card_chargeDeclined"}
    first = post(server, "/v1/payment_intents", declined, "decline-1")
    again = post(server, "/v1/payment_intents", declined, "decline-1")
    assert first.status_code == again.status_code == 402
    assert again.content == first.content
    assert len(client.v1.charges.list().data) == 1
    invalid = post(server, "/v1/payment_intents", {"currency": "usd"}, "fix-me")
    assert invalid.status_code == 400
    fixed = post(server, "/v1/payment_intents", {"currency": "usd", "amount": "900"}, "fix-me")
    assert fixed.status_code == 200


def test_sdk_retry_after_a_lost_response_gets_the_original_result(
    retrying_client: stripe.StripeClient, client: stripe.StripeClient, control: Control
) -> None:
    fault = control.post(
        "/_emulator/faults", {"next": 1, "kind": "timeout_after_commit", "seconds": 1.0, "path": "/v1/payment_intents"}
    )
    pi = retrying_client.v1.payment_intents.create(
        params={
            "amount": 1500,
            "currency": "usd",
            "capture_method": "manual",
            "payment_method": "pm_card_visa",
            "confirm": True,
        },
        options={"idempotency_key": "checkout-order-7"},
    )
    assert pi.status == "requires_capture"
    assert pi.last_response.headers["Idempotent-Replayed"] == "true"
    assert intent_count(client) == 1
    assert control.get("/_emulator/faults")["faults"][0]["hits"] == 1 == fault["remaining"]


def test_sdk_generated_keys_survive_a_dropped_connection(
    retrying_client: stripe.StripeClient, client: stripe.StripeClient, control: Control
) -> None:
    pi = client.v1.payment_intents.create(
        params={
            "amount": 4000,
            "currency": "usd",
            "capture_method": "manual",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    control.post(
        "/_emulator/faults", {"next": 1, "kind": "drop_after_commit", "path": f"/v1/payment_intents/{pi.id}/capture"}
    )
    captured = retrying_client.v1.payment_intents.capture(pi.id, params={"amount_to_capture": 2500})
    assert captured.status == "succeeded" and captured.amount_received == 2500
    assert captured.last_response.headers["Idempotent-Replayed"] == "true"


def test_500_is_retried_by_the_sdk(
    retrying_client: stripe.StripeClient, client: stripe.StripeClient, control: Control
) -> None:
    control.post("/_emulator/faults", {"next": 2, "kind": "error_500"})
    pi = retrying_client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    assert pi.status == "requires_payment_method" and intent_count(client) == 1
    control.post("/_emulator/faults", {"next": 1, "kind": "error_500"})
    try:
        client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    except stripe.APIError as exc:
        assert exc.http_status == 500 and exc.error is not None and exc.error.type == "api_error"
    else:
        raise AssertionError("expected APIError")


def test_429_and_409(retrying_client: stripe.StripeClient, client: stripe.StripeClient, control: Control) -> None:
    control.post("/_emulator/faults", {"next": 1, "kind": "rate_limit_429", "method": "POST"})
    try:
        retrying_client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    except stripe.RateLimitError as exc:
        assert exc.http_status == 429 and exc.error is not None and exc.error.code == "rate_limit"
    else:
        raise AssertionError("expected RateLimitError")
    control.post("/_emulator/faults", {"next": 1, "kind": "rate_limit_429", "should_retry": True})
    assert retrying_client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"}).id
    control.post("/_emulator/faults", {"next": 1, "kind": "conflict_409"})
    assert retrying_client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"}).id
    assert intent_count(client) == 2


def test_fault_filters_and_clearing(client: stripe.StripeClient, control: Control) -> None:
    control.post("/_emulator/faults", {"next": 5, "kind": "error_500", "path": "/v1/refunds"})
    assert client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"}).id
    status, _ = control.call("DELETE", "/_emulator/faults")
    assert status == 200 and control.get("/_emulator/faults") == {"faults": []}
    status, answer = control.call("POST", "/_emulator/faults", {"kind": "explode"})
    assert status == 400 and answer["error"]["param"] == "kind"


def test_an_unexpected_state_fault_refuses_a_capture_for_good(
    retrying_client: stripe.StripeClient, control: Control
) -> None:
    intent = retrying_client.v1.payment_intents.create(
        params={
            "amount": 1000,
            "currency": "usd",
            "capture_method": "manual",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    control.post(
        "/_emulator/faults",
        {"kind": "unexpected_state_400", "next": 1, "path": f"/v1/payment_intents/{intent.id}/capture"},
    )
    with pytest.raises(stripe.InvalidRequestError) as refused:
        retrying_client.v1.payment_intents.capture(intent.id)
    assert refused.value.code == "payment_intent_unexpected_state"
    assert retrying_client.v1.payment_intents.retrieve(intent.id).status == "requires_capture"


def test_an_exact_path_fault_leaves_deeper_paths_alone(client: stripe.StripeClient, control: Control) -> None:
    intent = client.v1.payment_intents.create(
        params={"amount": 500, "currency": "usd", "capture_method": "manual", "payment_method": "pm_card_visa"}
    )
    control.post("/_emulator/faults", {"kind": "error_500", "path": "/v1/payment_intents", "exact": True})
    assert client.v1.payment_intents.confirm(intent.id).status == "requires_capture"
    with pytest.raises(stripe.APIError):
        client.v1.payment_intents.create(params={"amount": 500, "currency": "usd"})
