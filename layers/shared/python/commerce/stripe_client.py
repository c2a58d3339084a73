"""The `stripe` SDK client every service shares. The keys live in Secrets Manager (read through
Powertools parameters with a short cache); `apiBase` in the secret points the SDK elsewhere (the
local Stripe emulator), so real Stripe test mode needs configuration only.

Payments are "configured" when the secret holds a Stripe secret or restricted key (`sk_test_`,
`sk_live_`, `rk_test_`, `rk_live_`) and a webhook signing secret (`whsec_`), neither of them the
placeholder the stack creates the secret with. `require_configured` refuses with a 503
`payments_unavailable` otherwise; its detail names what is missing, never a value."""

from __future__ import annotations

import json
import logging
from functools import cache
from typing import Any

from commerce.config import int_setting, setting
from commerce.errors import DependencyUnavailable, PaymentsUnavailable, TransientError

SECRET_MAX_AGE_SECONDS = 30
"""How long a function trusts the secret it read: a key put in place, rolled or removed takes
effect within this time (one Secrets Manager call per warm function and 30 s at most).
STRIPE_SECRET_MAX_AGE_SECONDS in the function's environment sets another."""

SECRET_KEY_PREFIXES = ("sk_test_", "sk_live_", "rk_test_", "rk_live_")
WEBHOOK_SECRET_PREFIX = "whsec_"
PLACEHOLDER_MARK = "replace_me"
"""The stack creates the secret with `sk_test_replace_me` / `whsec_replace_me` (infra/stacks/shared.py)."""
RETRY_AFTER_SECONDS = 30

_log = logging.getLogger("commerce.stripe_client")


def configuration_problems(raw: str | None, *, webhook: bool = True) -> list[str]:
    """What stops the secret's value from taking payments (empty when it is usable); with
    `webhook=False` only the API key counts. Pure; the answer names fields, never their values."""
    if raw is None or not raw.strip():
        return ["the Stripe secret is empty"]
    try:
        value = json.loads(raw)
    except ValueError:
        return ["the Stripe secret is not a JSON object"]
    if not isinstance(value, dict):
        return ["the Stripe secret is not a JSON object"]
    problems = []
    key = value.get("secretKey")
    if not isinstance(key, str) or not key.strip():
        problems.append("secretKey is missing")
    elif PLACEHOLDER_MARK in key:
        problems.append("secretKey is still the placeholder")
    elif not key.startswith(SECRET_KEY_PREFIXES):
        problems.append("secretKey is not a Stripe secret or restricted key (sk_test_, sk_live_, rk_test_, rk_live_)")
    hook = value.get("webhookSecret")
    if not webhook:
        return problems
    if not isinstance(hook, str) or not hook.strip():
        problems.append("webhookSecret is missing")
    elif PLACEHOLDER_MARK in hook:
        problems.append("webhookSecret is still the placeholder")
    elif not hook.startswith(WEBHOOK_SECRET_PREFIX):
        problems.append("webhookSecret is not a Stripe webhook signing secret (whsec_)")
    return problems


def not_configured(problems: list[str]) -> PaymentsUnavailable:
    return PaymentsUnavailable(
        "Payments are not configured: " + "; ".join(problems) + ". Nothing was reserved or charged.",
        retry_after=RETRY_AFTER_SECONDS,
    )


def _raw_secret() -> str | None:
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    name = setting("STRIPE_SECRET_NAME")
    try:
        raw = parameters.get_secret(name, max_age=int_setting("STRIPE_SECRET_MAX_AGE_SECONDS", SECRET_MAX_AGE_SECONDS))
    except GetParameterError as exc:
        _log.error("cannot read the Stripe secret %s: %s", name, exc)
        raise not_configured(["the Stripe secret cannot be read"]) from exc
    return raw if isinstance(raw, str) else None


def stripe_settings(*, webhook: bool = True) -> dict[str, Any]:
    """The secret's value, after checking it can take payments (else `PaymentsUnavailable`);
    `webhook=False` for calls that only need the API key (capture, refund in the workflow)."""
    raw = _raw_secret()
    problems = configuration_problems(raw, webhook=webhook)
    if problems:
        _log.error("payments are not configured: %s", "; ".join(problems))
        raise not_configured(problems)
    value: dict[str, Any] = json.loads(raw or "{}")
    return value


def require_configured() -> None:
    """Refuse (503 `payments_unavailable`) unless the Stripe secret holds usable keys."""
    stripe_settings()


def refused_keys(exc: Exception) -> PaymentsUnavailable:
    """Stripe refused the key (AuthenticationError) or its permissions (PermissionError): the next
    call re-reads the secret, and the caller answers 503."""
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    _log.error("Stripe refused the configured key: %s", type(exc).__name__)
    return PaymentsUnavailable(
        "Payments are not configured: Stripe refused the secret key. Nothing was charged.",
        retry_after=RETRY_AFTER_SECONDS,
    )


def key_errors() -> tuple[type[Exception], ...]:
    import stripe

    return (stripe.AuthenticationError, stripe.PermissionError)


DEFAULT_TIMEOUT_SECONDS = 8
DEFAULT_NETWORK_RETRIES = 2
"""Per Stripe request: 8 s, retried twice (Stripe-Idempotency-Key makes retries safe). Functions a
caller waits on (10 s timeout) set STRIPE_TIMEOUT_SECONDS=3 and STRIPE_NETWORK_RETRIES=1, so a
hanging Stripe answers 503/202 within their timeout instead of a 502 from API Gateway."""


@cache
def _client(api_key: str, api_base: str | None, timeout: float, retries: int) -> Any:
    import stripe

    options: dict[str, Any] = {
        "max_network_retries": retries,
        "http_client": stripe.new_default_http_client(timeout=timeout),
    }
    if api_base:
        options["base_addresses"] = {"api": api_base}
    return stripe.StripeClient(api_key, **options)


def client() -> Any:
    from commerce.config import int_setting

    config = stripe_settings(webhook=False)
    return _client(
        str(config["secretKey"]),
        config.get("apiBase"),
        float(int_setting("STRIPE_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS)),
        int_setting("STRIPE_NETWORK_RETRIES", DEFAULT_NETWORK_RETRIES),
    )


def plain(obj: Any) -> dict[str, Any]:
    """SDK objects (StripeObject) as plain dicts."""
    if obj is None:
        return {}
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def transient_errors() -> tuple[type[Exception], ...]:
    import stripe

    return (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)


def transient(exc: Exception) -> TransientError:
    """A Stripe failure worth retrying, told to the caller without the SDK's message (which names
    internal addresses): 503 with Retry-After over HTTP, retried by name in the workflows."""
    _log.warning("stripe unavailable: %s", exc)
    return TransientError(f"The payment provider is unavailable ({type(exc).__name__}); retry shortly.", retry_after=2)


def unavailable(exc: Exception) -> DependencyUnavailable:
    return DependencyUnavailable(
        f"The payment provider is unavailable ({type(exc).__name__}); retry shortly.", retry_after=2
    )
