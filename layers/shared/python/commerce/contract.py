"""What every route's OpenAPI description shares: the problem details body, the answers any route
may give before its handler runs (API Gateway's and `commerce.http`'s), and request types whose
JSON Schema says exactly what the handlers accept."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, JsonValue

PROBLEM_JSON = "application/problem+json"


class Problem(BaseModel):
    """RFC 9457 problem details; some codes add members (e.g. `declineCode`)."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, object]] | None = None


class GatewayProblem(BaseModel):
    """Problem details API Gateway renders itself for its default 4xx and 5xx answers (its template
    there has no `status`: the status line carries it)."""

    type: str
    title: str
    status: int | None = None
    detail: str
    code: str


RETRY_AFTER = {"description": "seconds to wait before retrying", "schema": {"type": "string", "pattern": r"^[0-9]+$"}}

PROBLEMS: dict[int, str] = {
    400: "Malformed request: a body that is not JSON, not UTF-8 or larger than 64 KiB, or a webhook "
    "signature that does not verify",
    401: "Missing or invalid ID token, or the token of an erased account",
    402: "The card was declined (`card_declined`, with `declineCode`)",
    403: "Signed in but not a member of the admin group",
    404: "No such resource, or one the caller may not see",
    409: "Conflict with the resource's state (`out_of_stock`, `invalid_state`, `idempotency_in_progress`, ...)",
    415: "A request body sent as anything but JSON",
    422: "Validation failed (`validation_error` with the fields), or `idempotency_key_reused`",
    429: "Too many requests: the stage's throttling or this client's rate limit (WAF), or a checkout hold limit",
    503: "A dependency is busy or unavailable; retry after Retry-After",
}


def problem(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": PROBLEMS[status],
        "content": {PROBLEM_JSON: {"model": Problem}},
    }
    if status == 429:
        # WAF's rate-based rules answer with a custom body of content type application/json (WAF
        # offers no problem+json); API Gateway's throttling and the handlers answer problem+json.
        response["content"]["application/json"] = {"model": Problem}
    if status in (429, 503):
        response["headers"] = {"Retry-After": {**RETRY_AFTER, "required": True}}
    return response


def _gateway(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"model": GatewayProblem}}}


WAF_JSON = {"application/json": {"model": Problem}}
"""WAF's custom responses (infra/stacks/api.py): problem details sent as application/json."""

BEFORE_HANDLER: dict[int, dict[str, Any]] = {
    400: problem(400),  # commerce.http: a body that is too large or not UTF-8, on any route
    403: {
        "description": "WAF: a request its rules block (no User-Agent: problem details; the managed rule "
        "groups' other blocks: a plain `Forbidden`)",
        "content": {**WAF_JSON, "text/plain": {"schema": {"type": "string"}}},
    },
    413: {
        "description": "WAF: a body over 8 KB (but on PUT /admin/products/{sku} and PUT /me); API Gateway: "
        "a request over its 10 MB payload limit",
        "content": {**_gateway("")["content"], **WAF_JSON},
    },
    415: problem(415),  # commerce.http: a body that is not JSON, on any route
    429: problem(429),  # API Gateway's stage throttling and WAF's per-client rate limits, on any route
    504: _gateway("API Gateway: the integration did not answer within 29 seconds"),
}
"""Answers any route may give before its handler runs, whatever the route: WAF's, API Gateway's
and `commerce.http`'s."""


def responses(status: int, model: type | None, *errors: int, description: str = "OK") -> dict[int, Any]:
    """A route's `responses=`: its success `status` with `model` (None: no body), its own problems
    `errors`, and the answers of BEFORE_HANDLER."""
    content = {"application/json": {"model": model}} if model is not None else {}
    documented: dict[int, Any] = {status: {"description": description, "content": content}}
    documented.update({code: problem(code) for code in errors})
    for code, response in BEFORE_HANDLER.items():
        if code not in documented:
            documented[code] = response
        elif response["content"] != documented[code]["content"]:
            own = documented[code]
            documented[code] = {
                **own,
                "description": f"{own['description']}; {response['description']}",
                "content": {**response["content"], **own["content"]},
            }
    return documented


def whole(value: Any) -> Any:
    """A float that is a whole number, as that int; anything else unchanged (a pydantic before-validator)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


WholeInt = Annotated[int, BeforeValidator(whole)]
"""A JSON integer: `2.0` is the integer 2 (JSON Schema's `integer`), a fraction, a string or a
boolean is not, even in a strict model."""


CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,2048}$"
"""A list cursor as `commerce.pagination` writes them (base64url, no padding). Only a cursor this
list handed out is read: any other is a 422 naming `cursor`."""


NOT_BLANK = r"[^\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
"""A `pattern` for text that must not be blank as Python's `str.strip()` sees it: at least one
character that is not Unicode whitespace (spelled out: JSON Schema's `\\s` is another set)."""


def _country_codes() -> list[JsonValue]:
    from commerce.countries import ISO_3166_ALPHA_2

    return [code for code in sorted(ISO_3166_ALPHA_2)]


COUNTRY_ENUM: dict[str, JsonValue] = {"enum": _country_codes()}
"""`json_schema_extra` of a country field: the ISO 3166-1 alpha-2 codes `check_country` accepts."""
