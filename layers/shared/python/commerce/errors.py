"""One error hierarchy for every service. Each error knows its HTTP status and problem code;
`commerce.http` turns any of them into an RFC 9457 response in one place."""

from __future__ import annotations

from typing import Any, ClassVar


class ProblemError(Exception):
    """An error a caller can act on. Subclasses fix the HTTP status and default code."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"

    def __init__(
        self,
        detail: str = "",
        *,
        code: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        retry_after: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.problem_code = code or self.code
        self.errors = errors or []
        self.retry_after = retry_after
        self.extra = extra or {}


class BadRequest(ProblemError):
    status, code, title = 400, "bad_request", "Bad request"


class Unauthorized(ProblemError):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(ProblemError):
    status, code, title = 403, "forbidden", "Not allowed"


class NotFound(ProblemError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(ProblemError):
    status, code, title = 409, "conflict", "Conflict"


class UnsupportedMediaType(ProblemError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class ValidationFailed(ProblemError):
    status, code, title = 422, "validation_error", "Validation failed"


class PaymentDeclined(ProblemError):
    status, code, title = 402, "card_declined", "Payment declined"


class Throttled(ProblemError):
    status, code, title = 429, "throttled", "Too many requests"


class DependencyUnavailable(ProblemError):
    status, code, title = 503, "dependency_unavailable", "A dependency is unavailable"


class PaymentsUnavailable(DependencyUnavailable):
    """Payments cannot be taken: the Stripe keys are missing, placeholders, malformed or refused
    by Stripe. Only an operator fixes it, by putting valid keys in the Stripe secret."""

    code, title = "payments_unavailable", "Payments are unavailable"


class TransientError(DependencyUnavailable):
    """A dependency stayed busy or unreachable through bounded retries; trying again later may work.

    The class name is the contract: a Step Functions task that raises it leaves with error
    `TransientError`, which the workflows retry with backoff (`infra.components.workflow`); over
    HTTP it is a 503 with Retry-After."""


class ConfigurationError(RuntimeError):
    """A required setting is missing: a deployment fault, never the caller's."""
