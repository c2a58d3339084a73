"""Which Stripe secret values can take payments (commerce.stripe_client), without any I/O."""

from __future__ import annotations

import json

import pytest

from commerce.errors import PaymentsUnavailable
from commerce.http import problem_response
from commerce.stripe_client import configuration_problems, not_configured

GOOD = {"secretKey": "sk_test_51Habc", "webhookSecret": "whsec_abc"}
PLACEHOLDER = {"secretKey": "sk_test_replace_me", "webhookSecret": "whsec_replace_me"}
"""As infra/stacks/shared.py creates the secret (tests/infra/test_stripe_placeholder.py ties the two)."""


@pytest.mark.parametrize(
    "value",
    [
        GOOD,
        {**GOOD, "secretKey": "sk_live_51Habc"},
        {**GOOD, "secretKey": "rk_test_51Habc"},
        {**GOOD, "apiBase": "http://127.0.0.1:12111"},
    ],
)
def test_real_looking_keys_are_configured(value: dict[str, str]) -> None:
    assert configuration_problems(json.dumps(value)) == []


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (None, "the Stripe secret is empty"),
        ("", "the Stripe secret is empty"),
        ("  ", "the Stripe secret is empty"),
        ("{not json", "the Stripe secret is not a JSON object"),
        ('"sk_test_51Habc"', "the Stripe secret is not a JSON object"),
        (json.dumps(PLACEHOLDER), "secretKey is still the placeholder"),
        (json.dumps({**GOOD, "secretKey": ""}), "secretKey is missing"),
        (json.dumps({"webhookSecret": "whsec_abc"}), "secretKey is missing"),
        (json.dumps({**GOOD, "secretKey": "pk_test_51Habc"}), "secretKey is not a Stripe secret or restricted key"),
        (json.dumps({**GOOD, "webhookSecret": ""}), "webhookSecret is missing"),
        (json.dumps({**GOOD, "webhookSecret": "whsec_replace_me"}), "webhookSecret is still the placeholder"),
        (json.dumps({**GOOD, "webhookSecret": "abc"}), "webhookSecret is not a Stripe webhook signing secret"),
    ],
)
def test_missing_placeholder_and_malformed_keys_are_named(raw: str | None, problem: str) -> None:
    problems = configuration_problems(raw)
    assert any(p.startswith(problem) for p in problems), problems


def test_the_placeholder_the_stack_creates_is_not_configured() -> None:
    assert configuration_problems(json.dumps(PLACEHOLDER)) == [
        "secretKey is still the placeholder",
        "webhookSecret is still the placeholder",
    ]


def test_the_refusal_is_a_503_payments_unavailable_that_never_shows_a_key() -> None:
    secret = {"secretKey": "pk_live_SENSITIVE", "webhookSecret": "whsec_replace_me"}
    error = not_configured(configuration_problems(json.dumps(secret)))
    assert isinstance(error, PaymentsUnavailable)
    response = problem_response(error)
    text = str(response.body)
    body = json.loads(text)
    assert response.status_code == 503 and int(str(response.headers["Retry-After"])) > 0
    assert body["code"] == "payments_unavailable" and body["status"] == 503
    assert "SENSITIVE" not in text and "secretKey" in body["detail"] and "webhookSecret" in body["detail"]


def test_calls_that_need_only_the_api_key_ignore_the_webhook_secret() -> None:
    assert configuration_problems(json.dumps({**GOOD, "webhookSecret": ""}), webhook=False) == []
    assert configuration_problems(json.dumps({**GOOD, "secretKey": ""}), webhook=False) == ["secretKey is missing"]


def test_the_local_webhook_endpoint_subscribes_to_the_events_the_deploy_guide_names() -> None:
    """The local cloud's Stripe endpoint takes the events ops subscribe to on AWS, no more."""
    import re
    from pathlib import Path

    from shopstack.localcloud.up import STRIPE_WEBHOOK_EVENTS

    guide = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text()
    paragraph = guide[guide.index("register the webhook endpoint") :].split("\n\n", 1)[0]
    assert sorted(re.findall(r"`((?:payment_intent|charge)\.[a-z_]+)`", paragraph)) == sorted(STRIPE_WEBHOOK_EVENTS)
