"""What every route's OpenAPI description shares: the problem details body, the answers any route
may give before its handler runs (API Gateway's and `commerce.http`'s), and request types whose
JSON Schema says exactly what the handlers accept."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, JsonValue

from commerce.countries import ISO_3166_ALPHA_2, check_country

PROBLEM_JSON = "application/problem+json"

OUT = ConfigDict(extra="forbid")
"""`model_config` of a response body: every member sent is modelled (JSON Schema
`additionalProperties: false`), so a member added to a response without its model fails the
contract checks. Deliberately open: `Problem` (codes add members)."""

STRICT = ConfigDict(extra="forbid", strict=True)
"""`model_config` of a request body: unknown members are refused (422), types are not coerced."""


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

    model_config = OUT
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
    502: _gateway("API Gateway: the function failed or gave a malformed answer"),
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


WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""Unicode White_Space, the set `\\s` matches in the handlers' validation (pydantic's Rust regex),
spelled out for a `pattern` in the document, where `\\s` is ECMA-262's: without U+0085, with U+FEFF."""


def portable(pattern: str) -> dict[str, JsonValue]:
    """`json_schema_extra` of a field validated with `pattern`: the same pattern for the document,
    its `\\s` spelled out (WHITE_SPACE), so that a JSON Schema validator accepts what the handler does."""
    return {"pattern": pattern.replace(r"\s", WHITE_SPACE)}


def _country_codes() -> list[JsonValue]:
    return [code for code in sorted(ISO_3166_ALPHA_2)]


COUNTRY_ENUM: dict[str, JsonValue] = {"enum": _country_codes()}
"""`json_schema_extra` of a country field: the ISO 3166-1 alpha-2 codes `check_country` accepts."""


class Money(BaseModel):
    """An amount in integer minor units of a currency (lowercase ISO 4217): `{"amount": 1500,
    "currency": "usd"}`; never a float."""

    model_config = OUT
    amount: int
    currency: str


class LineOut(BaseModel):
    """One priced line of a cart or an order (`commerce.orders.OrderLine.to_json`)."""

    model_config = OUT
    sku: str
    name: str
    quantity: int
    unitPrice: Money
    lineTotal: Money


class MoneyIn(BaseModel):
    """An amount a caller sends: integer minor units, not negative, in a lowercase ISO 4217 currency."""

    model_config = STRICT
    amount: WholeInt = Field(ge=0, le=100_000_000, description="integer minor units")
    currency: str = Field(pattern=r"^[a-z]{3}$", description="lowercase ISO 4217")


Country = Annotated[str, AfterValidator(check_country)]


class AddressIn(BaseModel):
    """A postal address a caller sends (a checkout's `shippingAddress`)."""

    model_config = STRICT
    name: str = Field(min_length=1, max_length=120)
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postalCode: str = Field(min_length=1, max_length=20)
    country: Country = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2", json_schema_extra=COUNTRY_ENUM)


class Address(BaseModel):
    """A postal address as the API answers it (`line2` only when given)."""

    model_config = OUT
    name: str
    line1: str
    line2: str | None = None
    city: str
    postalCode: str
    country: str = Field(description="ISO 3166-1 alpha-2")


class ErasedAddress(BaseModel):
    """What is left of an erased customer's address: the country alone (tax, accounting), if known."""

    model_config = OUT
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
