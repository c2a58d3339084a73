"""HTTP edge of every API function: one resolver factory, problem responses (RFC 9457) for
every error in one place, the caller's identity, and compact JSON responses."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from commerce.errors import (
    BadRequest,
    DependencyUnavailable,
    Forbidden,
    NotFound,
    ProblemError,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from commerce.jsonutil import dumps
from commerce.observability import correlation_of, logger

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
    from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

PROBLEM_JSON = "application/problem+json"
MAX_BODY_BYTES = 64 * 1024
ADMIN_GROUP = "admin"


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    from aws_lambda_powertools.event_handler import Response

    return Response(status_code=status, content_type="application/json", body=dumps(body), headers=headers)


def problem_body(error: ProblemError) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"/problems/{error.problem_code}",
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.problem_code,
    }
    if error.errors:
        body["errors"] = error.errors
    body.update(error.extra)
    return body


def problem_response(error: ProblemError) -> Response:
    from aws_lambda_powertools.event_handler import Response

    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
    return Response(
        status_code=error.status, content_type=PROBLEM_JSON, body=dumps(problem_body(error)), headers=headers
    )


def _field(loc: Any) -> str:
    parts = [str(p) for p in (loc or ()) if p not in ("body",)]
    return ".".join(parts) or "body"


def validation_problem(exc: RequestValidationError) -> ProblemError:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return BadRequest("The request body is not valid JSON.", code="malformed_json")
    fields = [
        {"field": _field(e.get("loc")), "message": str(e.get("msg", "invalid")), "type": e.get("type")} for e in errors
    ]
    return ValidationFailed("The request has invalid fields.", errors=fields)


_TRANSIENT_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
}


def unexpected_problem(exc: Exception) -> ProblemError:
    """A dependency that is busy or unreachable is a 503 the caller may retry; anything else
    is our fault: a 500 that shows no internals."""
    from botocore.exceptions import ConnectionError, ReadTimeoutError

    from commerce.dynamo import error_code

    cause: BaseException | None = exc
    while cause is not None:  # e.g. Powertools idempotency wraps the store's error
        if isinstance(cause, DependencyUnavailable):
            return cause
        if isinstance(cause, ConnectionError | ReadTimeoutError) or error_code(cause) in _TRANSIENT_CODES:
            return DependencyUnavailable("A dependency is busy or unreachable; please retry.", retry_after=1)
        cause = cause.__cause__
    return ProblemError("Something went wrong on our side.")


@cache
def resolver_class() -> type[APIGatewayRestResolver]:
    """`CommerceResolver`, defined on first use: importing this module (for `dumps`,
    `problem_body` or the caller's identity, as event consumers and the services do) then
    imports nothing of Powertools' event handler (its resolvers, asyncio with them): only the
    API functions, which build a resolver, pay for it."""
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    class CommerceResolver(APIGatewayRestResolver):
        """Powertools REST resolver with shopstack's error contract and request limits."""

        def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
            self._cors = cors_config()
            response = self._answer(event, context)
            correlation = correlation_of(event)
            if correlation:  # the storefront shows it beside an error, so support can find the request
                response.setdefault("multiValueHeaders", {})["X-Correlation-Id"] = [correlation]
            logger().info(
                "request",
                extra={
                    "method": event.get("httpMethod"),
                    "route": event.get("resource"),
                    "path": event.get("path"),
                    "status": response.get("statusCode"),
                },
            )
            return response

        def _answer(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
            try:
                self._admit(event)
            except Exception as exc:
                if not isinstance(exc, ProblemError):
                    logger().exception("unhandled error")
                refused = exc if isinstance(exc, ProblemError) else unexpected_problem(exc)
                return {
                    "statusCode": refused.status,
                    "headers": {
                        "Content-Type": PROBLEM_JSON,
                        **security_headers(event),
                        **({"Retry-After": str(refused.retry_after)} if refused.retry_after is not None else {}),
                    },
                    "body": dumps(problem_body(refused)),
                    "isBase64Encoded": False,
                }
            response = super().resolve(event, context)
            headers = response.setdefault("multiValueHeaders", {})
            for name, value in security_headers(event).items():
                headers[name] = [value]
            return response

        @staticmethod
        def _admit(event: Mapping[str, Any]) -> None:
            """Checks that come before routing and body validation: size, then staff routes (a member
            of the admin group whose account is not erased)."""
            body = event.get("body") or ""
            if len(body) > MAX_BODY_BYTES * 4 // 3 + 4:
                raise BadRequest(f"The request body exceeds {MAX_BODY_BYTES} bytes.", code="body_too_large")
            try:
                raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8", "surrogatepass")
                raw.decode("utf-8")
            except ValueError as exc:  # binascii.Error and UnicodeDecodeError
                raise BadRequest("The request body is not UTF-8 encoded JSON.", code="malformed_json") from exc
            if len(raw) > MAX_BODY_BYTES:
                raise BadRequest(f"The request body exceeds {MAX_BODY_BYTES} bytes.", code="body_too_large")
            if raw.strip() and not is_json_media_type(header(event, "content-type")):
                raise UnsupportedMediaType("Send the request body as application/json.")
            if str(event.get("resource") or event.get("path") or "").startswith("/admin/"):
                from commerce.erasures import refuse_erased

                refuse_erased(str(require_admin(event).sub), event)

    return CommerceResolver


def header(event: Mapping[str, Any], name: str) -> str | None:
    """A request header, by case-insensitive name."""
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def is_json_media_type(content_type: str | None) -> bool:
    """No Content-Type (taken as JSON), application/json or any `+json` type, parameters aside."""
    if content_type is None or not content_type.strip():
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


CORS_HEADERS = ["Idempotency-Key", "X-Cart-Token", "X-Order-Token", "X-Correlation-Id"]
PUBLIC_PATHS = ("/products", "/health", "/openapi.json", "/docs")
"""Reads anyone may cache (the public catalog and documents); every other answer may hold personal
data or a token and carries `Cache-Control: no-store`."""


@cache
def cors_config() -> CORSConfig:
    """The origins allowed to read answers in a browser: CORS_ALLOW_ORIGINS (comma-separated,
    cdk.json `corsAllowOrigins`), `*` when unset."""
    from aws_lambda_powertools.event_handler import CORSConfig

    origins = [o.strip() for o in os.environ.get("CORS_ALLOW_ORIGINS", "*").split(",") if o.strip()] or ["*"]
    return CORSConfig(
        allow_origin=origins[0],
        extra_origins=origins[1:],
        allow_headers=CORS_HEADERS,
        expose_headers=["X-Correlation-Id"],
    )


def security_headers(event: Mapping[str, Any]) -> dict[str, str]:
    headers = {"X-Content-Type-Options": "nosniff"}
    path = str(event.get("path") or "")
    public = event.get("httpMethod") == "GET" and any(path == p or path.startswith(p + "/") for p in PUBLIC_PATHS)
    if not public:
        headers["Cache-Control"] = "no-store"
    return headers


def make_resolver() -> APIGatewayRestResolver:
    from aws_lambda_powertools.event_handler import CORSConfig
    from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

    app = resolver_class()(enable_validation=True, cors=CORSConfig(allow_origin="*", allow_headers=CORS_HEADERS))

    @app.exception_handler(ProblemError)
    def _problem(exc: ProblemError) -> Response:
        return problem_response(exc)

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        return problem_response(validation_problem(exc))

    @app.exception_handler(RecursionError)
    def _too_deep(_: RecursionError) -> Response:
        return problem_response(BadRequest("The request body is nested too deeply.", code="malformed_json"))

    @app.not_found
    def _not_found(_: Exception) -> Response:
        return problem_response(NotFound("No such route."))

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger().exception("unhandled error")
        return problem_response(unexpected_problem(exc))

    return app


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: a Cognito user (sub, email, groups) or an anonymous guest."""

    sub: str | None
    email: str | None
    groups: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return ADMIN_GROUP in self.groups

    @property
    def scope(self) -> str:
        return self.sub or "anonymous"


def groups_of(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, list):
        return tuple(str(g) for g in raw)
    if isinstance(raw, str) and raw.strip():
        return tuple(g for g in raw.strip("[]").replace(",", " ").split() if g)
    return ()


def caller_of(event: Mapping[str, Any]) -> Caller:
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("claims") or {}
    if not isinstance(claims, dict) or not claims.get("sub"):
        return Caller(sub=None, email=None, groups=())
    return Caller(sub=str(claims["sub"]), email=claims.get("email"), groups=groups_of(claims.get("cognito:groups")))


def require_admin(event: Mapping[str, Any]) -> Caller:
    caller = caller_of(event)
    if caller.sub is None:
        raise Unauthorized("Sign in as staff to use this route.")
    if not caller.is_admin:
        raise Forbidden("This route is for members of the admin group.")
    return caller
