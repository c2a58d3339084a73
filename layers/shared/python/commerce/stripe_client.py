"""The `stripe` SDK client every service shares. The keys live in Secrets Manager (read through
Powertools parameters with a cache); `apiBase` in the secret points the SDK elsewhere (the local
Stripe emulator), so real Stripe test mode needs configuration only."""

from __future__ import annotations

from functools import cache
from typing import Any

from commerce.config import setting
from commerce.errors import DependencyUnavailable

SECRET_MAX_AGE_SECONDS = 300


def stripe_settings() -> dict[str, Any]:
    from aws_lambda_powertools.utilities import parameters

    value: dict[str, Any] = parameters.get_secret(
        setting("STRIPE_SECRET_NAME"), transform="json", max_age=SECRET_MAX_AGE_SECONDS
    )
    return value


@cache
def _client(api_key: str, api_base: str | None) -> Any:
    import stripe

    options: dict[str, Any] = {"max_network_retries": 2, "http_client": stripe.new_default_http_client(timeout=8)}
    if api_base:
        options["base_addresses"] = {"api": api_base}
    return stripe.StripeClient(api_key, **options)


def client() -> Any:
    config = stripe_settings()
    return _client(str(config["secretKey"]), config.get("apiBase"))


def plain(obj: Any) -> dict[str, Any]:
    """SDK objects (StripeObject) as plain dicts."""
    if obj is None:
        return {}
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def transient_errors() -> tuple[type[Exception], ...]:
    import stripe

    return (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)


def unavailable(exc: Exception) -> DependencyUnavailable:
    return DependencyUnavailable(
        f"The payment provider is unavailable ({type(exc).__name__}); retry shortly.", retry_after=2
    )
