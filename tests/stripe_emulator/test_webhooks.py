"""Events, and signed webhook deliveries that the SDK's own verification accepts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from shopstack.stripe_emulator import sign
from shopstack.waiting import eventually
from tests.stripe_emulator.conftest import Control, Receiver
from tests.stripe_emulator.test_payment_intents import manual_intent


@pytest.fixture
def endpoint(client: stripe.StripeClient, receiver: Receiver) -> Iterator[stripe.WebhookEndpoint]:
    receiver.reset()
    yield client.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": ["*"]})
    receiver.reset()


def types_of(receiver: Receiver) -> list[str]:
    return [e["type"] for e in receiver.events()]


def settled(control: Control) -> list[dict[str, Any]] | None:
    """The emulator's delivery log once every delivery in it is done (delivered or given up)."""
    log: list[dict[str, Any]] = control.get("/_emulator/webhooks")["deliveries"]
    return log if log and not any(d["pending"] for d in log) else None


def test_deliveries_verify_with_the_sdk(
    client: stripe.StripeClient, receiver: Receiver, endpoint: stripe.WebhookEndpoint
) -> None:
    assert endpoint.secret.startswith("whsec_")
    pi = manual_intent(client, 2000)
    client.v1.payment_intents.capture(pi.id, params={"amount_to_capture": 1500})
    client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 500})
    received = receiver.wait_for(7)
    assert types_of(receiver) == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.amount_capturable_updated",
        "charge.captured",
        "payment_intent.succeeded",
        "refund.created",
        "charge.refunded",
    ]
    for delivery in received:
        event = stripe.Webhook.construct_event(
            delivery.body.decode(), delivery.headers["Stripe-Signature"], endpoint.secret
        )
        assert event.data.object.id
    refunded = received[-1].event
    assert refunded["type"] == "charge.refunded"
    assert refunded["data"]["object"]["amount_refunded"] == 500
    assert refunded["data"]["previous_attributes"] == {"amount_refunded": 0, "refunded": False}
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            received[0].body.decode(), received[0].headers["Stripe-Signature"], "whsec_wrong"
        )


def test_signature_format_and_tolerance(
    client: stripe.StripeClient, receiver: Receiver, endpoint: stripe.WebhookEndpoint, control: Control
) -> None:
    control.post("/_emulator/clock", {"offset": -600})
    client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    stale = receiver.wait_for(1)[0]
    header = stale.headers["Stripe-Signature"]
    timestamp = int(header.split(",")[0].removeprefix("t="))
    assert abs(timestamp - (time.time() - 600)) < 5
    assert header == sign(stale.body, endpoint.secret, timestamp)
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.Webhook.construct_event(stale.body.decode(), header, endpoint.secret, tolerance=300)
    assert stripe.Webhook.construct_event(stale.body.decode(), header, endpoint.secret, tolerance=900)


def test_failed_deliveries_are_retried_until_2xx(
    client: stripe.StripeClient, receiver: Receiver, endpoint: stripe.WebhookEndpoint, control: Control
) -> None:
    receiver.plan.extend([500, 1.0, 200])
    pi = client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    attempts = receiver.wait_for(3)
    assert {a.event["id"] for a in attempts} == {attempts[0].event["id"]}
    log = eventually(lambda: settled(control), timeout=5, interval=0.02)
    assert log[0]["delivered"] and log[0]["attempts"] == 3 and log[0]["last_status"] == 200
    assert [h["status"] for h in log[0]["history"]] == [500, None, 200]
    assert "timed out" in log[0]["history"][1]["error"]
    assert attempts[1].at - attempts[0].at >= 0.04
    event = client.v1.events.retrieve(log[0]["event_id"])
    assert event.type == "payment_intent.created" and event.data.object.id == pi.id
    assert event.pending_webhooks == 0


def test_deliveries_give_up_after_max_attempts(
    client: stripe.StripeClient, receiver: Receiver, endpoint: stripe.WebhookEndpoint, control: Control
) -> None:
    control.post("/_emulator/webhooks/config", {"max_attempts": 3})
    receiver.plan.extend([503] * 10)
    client.v1.payment_intents.create(params={"amount": 1000, "currency": "usd"})
    receiver.wait_for(3)
    log = eventually(lambda: settled(control), timeout=5, interval=0.02)  # given up: no attempt follows
    assert log[0]["failed"] and log[0]["attempts"] == 3 and len(receiver.received) == 3


def test_pause_resume_reverse_and_redeliver(
    client: stripe.StripeClient, receiver: Receiver, endpoint: stripe.WebhookEndpoint, control: Control
) -> None:
    control.post("/_emulator/webhooks/pause")
    pi = manual_intent(client)
    client.v1.payment_intents.cancel(pi.id)
    held = control.get("/_emulator/webhooks")["deliveries"]  # scheduled by the calls themselves
    assert len(held) == 4 and all(d["pending"] and d["attempts"] == 0 for d in held), held
    assert receiver.received == []
    assert control.get("/_emulator/webhooks")["paused"] is True
    control.post("/_emulator/webhooks/resume", {"order": "reverse"})
    receiver.wait_for(4)
    assert types_of(receiver) == [
        "payment_intent.canceled",
        "payment_intent.amount_capturable_updated",
        "charge.succeeded",
        "payment_intent.created",
    ]
    first = receiver.events()[0]["id"]
    control.post(f"/_emulator/webhooks/redeliver/{first}")
    assert receiver.wait_for(5)[-1].event["id"] == first


def test_enabled_events_filter_and_event_listing(
    client: stripe.StripeClient, receiver: Receiver, control: Control
) -> None:
    receiver.reset()
    only = control.post(
        "/_emulator/webhook_endpoints", {"url": receiver.url, "enabled_events": ["payment_intent.payment_failed"]}
    )
    with pytest.raises(stripe.CardError):
        manual_intent(client, pm="pm_card_chargeDeclinedInsufficientFunds")
    delivered = receiver.wait_for(1)
    eventually(lambda: settled(control), timeout=5, interval=0.02)  # every delivery scheduled is done
    assert types_of(receiver) == ["payment_intent.payment_failed"]
    event = stripe.Webhook.construct_event(
        delivered[0].body.decode(), delivered[0].headers["Stripe-Signature"], only["secret"]
    )
    assert event.data.object.last_payment_error.decline_code == "insufficient_funds"
    failures = client.v1.events.list(params={"type": "payment_intent.payment_failed"})
    assert [e.id for e in failures.data] == [event.id]
    everything = client.v1.events.list(params={"limit": 100})
    assert [e.type for e in everything.data][-1] == "payment_intent.created"


def test_webhook_endpoints_are_loopback_only(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.webhook_endpoints.create(params={"url": "https://example.com/hook", "enabled_events": ["*"]})
    assert exc.value.param == "url"
