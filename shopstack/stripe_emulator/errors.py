"""Stripe's error shape: `{"error": {"type", "code", "decline_code", "message", "param", ...}}`."""

from __future__ import annotations

from typing import Any

DOC_BASE = "https://stripe.com/docs/error-codes/"


class StripeError(Exception):
    """An API error answered with Stripe's HTTP status and body.

    `saved` tells the idempotency layer whether the result is stored for the key: Stripe saves
    results once an endpoint has begun executing, but not for requests that failed validation.
    """

    def __init__(
        self,
        status: int,
        type: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        saved: bool = True,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.message = message
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})
        self.saved = saved

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = DOC_BASE + self.code.replace("_", "-")
        if self.decline_code:
            error["decline_code"] = self.decline_code
        error["message"] = self.message
        if self.param:
            error["param"] = self.param
        error.update(self.extra)
        error["type"] = self.type
        return {"error": error}


def invalid_request(
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    status: int = 400,
    saved: bool = True,
    extra: dict[str, Any] | None = None,
) -> StripeError:
    return StripeError(status, "invalid_request_error", message, code=code, param=param, saved=saved, extra=extra)


def validation(message: str, *, param: str | None = None, code: str | None = None) -> StripeError:
    """A parameter that failed validation: no result is saved for the Idempotency-Key."""
    return invalid_request(message, code=code, param=param, saved=False)


def missing_param(param: str) -> StripeError:
    return validation(f"Missing required param: {param}.", param=param, code="parameter_missing")


def no_such(kind: str, object_id: str, *, param: str = "id", status: int = 404) -> StripeError:
    return invalid_request(
        f"No such {kind}: '{object_id}'", code="resource_missing", param=param, status=status, saved=False
    )


def unexpected_state(message: str, *, payment_intent: dict[str, Any] | None = None) -> StripeError:
    extra = {"payment_intent": payment_intent} if payment_intent is not None else None
    return invalid_request(message, code="payment_intent_unexpected_state", extra=extra)


def api_error(message: str = "An unknown error occurred.") -> StripeError:
    return StripeError(500, "api_error", message, saved=False)


def rate_limited() -> StripeError:
    return StripeError(
        429,
        "invalid_request_error",
        "Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.",
        code="rate_limit",
        saved=False,
    )


def authentication(message: str) -> StripeError:
    return StripeError(
        401, "invalid_request_error", message, headers={"WWW-Authenticate": 'Basic realm="Stripe"'}, saved=False
    )
