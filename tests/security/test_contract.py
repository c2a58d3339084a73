"""Contract fuzzing: schemathesis against the session local cloud's served OpenAPI document
(`GET /openapi.json`), as an anonymous client, a customer and staff, with valid and invalid data
(schemathesis's coverage and fuzzing phases), and statefully: following the document's links from
a new cart into its items and checkout, and from the checkout into the order it placed. Every
schemathesis check is on (`--checks all`): no 5xx; every status, content type, header and body as
the document declares it; invalid input refused; valid input accepted; signed-in routes refuse a
request without its credentials.

The run is deterministic (derandomized, one seed) and small enough for `make test`. Its size:

    SHOPSTACK_FUZZ_EXAMPLES  examples per operation and identity, fuzzing phase (default 7)
    SHOPSTACK_FUZZ_STEPS     stateful scenarios per identity (default 10)
    SHOPSTACK_FUZZ_SEED      the seed (default 20261201)

At the defaults, a few thousand requests in about a minute and a half (`-s` prints the count). A
larger run, e.g. before a release, with a seed of its own (the fuzzing and stateful phases grow with the two sizes):

    SHOPSTACK_FUZZ_EXAMPLES=100 SHOPSTACK_FUZZ_STEPS=100 SHOPSTACK_FUZZ_SEED=$RANDOM \\
        .venv/bin/python -m pytest tests/security/test_contract.py

Each run prints its case count per identity. Where schemathesis's generic expectation and this
API's contract part, a check below says exactly what it lets through, and why:

- An HTTP method a path does not declare (TRACE, PATCH, ...) is answered by API Gateway itself,
  not by a handler: a REST API has no 405 of its own, it answers an undeclared method like an
  unknown path, with its MISSING_AUTHENTICATION_TOKEN gateway response (here 404 problem details,
  infra/stacks/api.py). `unsupported_method` is replaced by a check that accepts that answer only.
- A list cursor is valid only if the list handed it out (for the same query): the document
  declares its alphabet, no schema can say which cursors were issued, so a well-formed cursor the
  server never issued is a 422 naming `cursor` and nothing else.
- Webhook signatures are HMACs: a well-formed signature that does not verify is a 400
  `invalid_signature` and nothing else.
- A report's range (`from` after `to`, or longer than a report covers) is a rule over two
  parameters: 422 `invalid_date_range` for valid dates.
- A webhook destination must be one the shop may call (https, a public address; loopback http
  locally): decided by resolving its host, 422 `invalid_destination` naming `url`.
- An Idempotency-Key the caller already used with another body is 422 `idempotency_key_reused`
  (API.md): a rule over two requests (schemathesis draws keys such as "0" again and again).
- A `paymentMethod` is Stripe's id: a well-formed one Stripe does not know is a 422
  `invalid_payment_method` naming `paymentMethod`; and a guest's checkout without one may hold
  only so many units (422 `hold_limit_exceeded`, a rule over the cart's contents).
"""

from __future__ import annotations

import copy
import datetime
import json
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import unsupported_method

from apidocs.build import document
from shopstack.harness import LocalCloud

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("SHOPSTACK_FUZZ_EXAMPLES", "7"))
STEPS = int(os.environ.get("SHOPSTACK_FUZZ_STEPS", "10"))
SEED = int(os.environ.get("SHOPSTACK_FUZZ_SEED", "20261201"))
IDENTITIES = ("anonymous", "customer", "staff")

STOCKED_SKU = "CONTRACT-TENT"
REFUSALS: dict[tuple[str, str], tuple[int, dict[str, str | None]]] = {
    ("GET", "/products"): (422, {"validation_error": "cursor"}),
    ("GET", "/orders"): (422, {"validation_error": "cursor"}),
    ("GET", "/admin/orders"): (422, {"validation_error": "cursor"}),
    ("POST", "/carts/{cartId}/checkout"): (
        422,
        {"invalid_payment_method": "paymentMethod", "hold_limit_exceeded": None, "idempotency_key_reused": None},
    ),
    ("POST", "/orders/{orderId}/returns"): (422, {"idempotency_key_reused": None}),
    ("POST", "/admin/inventory/{sku}/adjustments"): (422, {"idempotency_key_reused": None}),
    ("POST", "/admin/returns/{returnId}/refund"): (422, {"idempotency_key_reused": None}),
    ("GET", "/admin/analytics/sales"): (422, {"invalid_date_range": None}),
    ("GET", "/admin/analytics/products"): (422, {"invalid_date_range": None}),
    ("GET", "/admin/analytics/funnel"): (422, {"invalid_date_range": None}),
    ("GET", "/admin/analytics/abandoned-carts"): (422, {"invalid_date_range": None, "validation_error": "cursor"}),
    ("POST", "/admin/webhooks"): (422, {"invalid_destination": "url"}),
    ("POST", "/webhooks/stripe"): (400, {"invalid_signature": None}),
    ("POST", "/webhooks/carrier"): (400, {"invalid_signature": None}),
}
"""Operations that refuse some schema-valid requests for reasons no schema can state (see the
module docstring): the status, and each problem code it may carry with the one field it names."""
GATEWAY_UNKNOWN_METHOD = "MISSING_AUTHENTICATION_TOKEN"

CASES: Counter[str] = Counter()


def _problem(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


@schemathesis.check
def undeclared_method_answered_by_the_gateway(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis's `unsupported_method`, except for API Gateway's own answer to a method the
    resource does not declare (see the module docstring)."""
    if response.status_code == 404 and _problem(response).get("code") == GATEWAY_UNKNOWN_METHOD:
        return None
    result: bool | None = unsupported_method(ctx, response, case)
    return result


def _python_only_pattern_matches(problem: dict[str, Any], body: Any) -> bool:
    """A value schemathesis took for schema-valid only because Python's `$` also matches before a
    final newline: JSON Schema patterns are ECMA-262 regular expressions, where `$` ends the string,
    as in the server's validator (`a@b.co` + newline does not match `...$`). Refusing it is right."""
    errors = problem.get("errors") or []
    if problem.get("code") != "validation_error" or not errors:
        return False
    for error in errors:
        value: Any = body
        for part in str(error.get("field") or "").split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if error.get("type") != "string_pattern_mismatch" or not (isinstance(value, str) and value.endswith("\n")):
            return False
    return True


@schemathesis.check
def valid_data_refused_only_for_what_no_schema_can_state(ctx: Any, response: Any, case: Any) -> bool | None:
    """The operations of REFUSALS allow their status in positive_data_acceptance; a schema-valid
    request they refuse so must be refused for that one reason."""
    refusal = REFUSALS.get((case.method.upper(), case.path))
    if refusal is None or case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    status, reasons = refusal
    problem = _problem(response)
    if _python_only_pattern_matches(problem, case.body):
        return None
    if response.status_code == status:
        fields = {error.get("field") for error in problem.get("errors") or []}
        code = problem.get("code")
        if code not in reasons or (reasons[code] is not None and fields != {reasons[code]}):
            raise AssertionError(f"a valid request refused for another reason than {sorted(reasons)}: {problem}")
        if code == "invalid_date_range":  # the range, never its dates: those the schema states
            for day in (case.query or {}).get("from"), (case.query or {}).get("to"):
                if day is not None:
                    datetime.date.fromisoformat(str(day))
    return None


POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
"""schemathesis's default for positive_data_acceptance."""


def _caller(method: str, path: str, operation: dict[str, Any]) -> str:
    """Who an operation is for, by its declared security: staff for /admin/*, a customer for the
    other routes that need a token, anyone for the rest."""
    if operation.get("security") and {} not in operation["security"]:
        return "staff" if path.startswith("/admin/") else "customer"
    return "anonymous"


def config(identity: str) -> SchemathesisConfig:
    """Every identity fuzzes every operation (positive and negative data); the coverage phase
    (schemathesis's systematic boundary and negative cases, and the undeclared methods) runs for
    each operation as the identity it is for, which keeps `make test` inside its budget."""
    operations = []
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            entry: dict[str, Any] = {"include-name": f"{method.upper()} {path}"}
            if _caller(method.upper(), path, operation) != identity:
                entry["phases"] = {"coverage": {"enabled": False}}
            refusal = REFUSALS.get((method.upper(), path))
            if refusal is not None:
                statuses = [*POSITIVE_STATUSES, str(refusal[0])]
                entry["checks"] = {"positive_data_acceptance": {"expected-statuses": statuses}}
            if len(entry) > 1:
                operations.append(entry)
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            # Credentials are the identity's (sent with each call), never generated: schemathesis's
            # ignored_auth check sends each signed-in request again without and with bad ones.
            "generation": {
                "mode": "all",
                "max-examples": EXAMPLES,
                "deterministic": True,
                "database": "none",
                "with-security-parameters": False,
            },
            "checks": {"unsupported_method": {"enabled": False}},
            "request-timeout": 35,
            "operations": operations,
            # Half the SKUs in paths name a product in stock, so that carts fill, checkouts place
            # orders and the links lead on from there; the other half are drawn from the schema.
            "dictionaries": {"catalog": {"values": [STOCKED_SKU]}},
            "parameters": {"path.sku": {"dictionary": "catalog", "probability": 0.5}},
        }
    )


def _headers(identity: str, tokens: dict[str, str], case: Any) -> dict[str, str]:
    """The identity's credentials. Erasure ends the account it is called with: DELETE /me runs
    with an account of its own, so that the identity's other requests go on signed in."""
    if identity == "anonymous":
        return {}
    erasure = (case.method.upper(), case.path) == ("DELETE", "/me")
    return {"Authorization": f"Bearer {tokens['erasable' if erasure else identity]}"}


SCHEMAS = {
    identity: schemathesis.openapi.from_dict(copy.deepcopy(document()), config=config(identity))
    for identity in IDENTITIES
}
"""The document the API functions serve, built here to collect one test per operation (the cloud
starts later); `test_the_served_document_is_the_one_fuzzed` checks that the served one is equal.
Each schema gets a copy: schemathesis adds the links it infers to the document it is given, and
`document()` is cached for the whole session (tests/unit/test_openapi_contract.py reads it too)."""


@pytest.fixture(scope="module")
def tokens(cloud: LocalCloud) -> dict[str, str]:
    """Accounts of this module's own: the fuzzing edits profiles and erases accounts."""
    from shopstack.localcloud.tokens import issue_token

    return {
        "customer": issue_token(cloud.base_url, "contract-customer@example.com"),
        "staff": issue_token(cloud.base_url, "contract-staff@example.com", admin=True),
        "erasable": issue_token(cloud.base_url, "contract-erasable@example.com"),
    }


def _stock(cloud: LocalCloud, tokens: dict[str, str]) -> str:
    """A product on sale and in stock, so that carts can fill and checkouts place orders."""
    sku = STOCKED_SKU
    body = {"name": "Contract tent", "category": "contract", "price": {"amount": 12_500, "currency": "usd"}}
    assert cloud.request("PUT", f"/admin/products/{sku}", body=body, token=tokens["staff"]).status == 200
    reply = cloud.request(
        "POST",
        f"/admin/inventory/{sku}/adjustments",
        body={"delta": 100_000, "reason": "contract fuzzing"},
        token=tokens["staff"],
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert reply.status == 200, reply.text
    return sku


@pytest.fixture(scope="module")
def stocked(cloud: LocalCloud, tokens: dict[str, str]) -> str:
    return _stock(cloud, tokens)


@pytest.fixture(scope="module", autouse=True)
def case_count(request: pytest.FixtureRequest) -> Iterator[Counter[str]]:
    yield CASES
    line = "contract fuzzing: " + ", ".join(f"{name} {count}" for name, count in sorted(CASES.items()))
    line += f"; {sum(CASES.values())} cases (seed {SEED}, {EXAMPLES} examples per operation, {STEPS} scenarios)"
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("\n" + line)


def test_the_served_document_is_the_one_fuzzed(cloud: LocalCloud) -> None:
    reply = cloud.request("GET", "/openapi.json")
    assert reply.status == 200
    assert reply.json == json.loads(json.dumps(document()))


def _fuzz(identity: str) -> Any:
    @SCHEMAS[identity].parametrize()
    def test(case: Any, cloud: LocalCloud, tokens: dict[str, str], stocked: str) -> None:
        CASES[identity] += 1
        case.call_and_validate(base_url=cloud.base_url, headers=_headers(identity, tokens, case))

    return test


test_anonymous_keeps_the_contract = _fuzz("anonymous")
test_a_customer_keeps_the_contract = _fuzz("customer")
test_staff_keep_the_contract = _fuzz("staff")


@pytest.mark.parametrize("identity", IDENTITIES)
def test_links_lead_from_a_cart_to_its_order_within_the_contract(
    identity: str, cloud: LocalCloud, tokens: dict[str, str]
) -> None:
    _stock(cloud, tokens)  # again: staff's fuzzing edits the product and its stock

    class Scenario(SCHEMAS[identity].as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": cloud.base_url, "headers": _headers(identity, tokens, case)}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            CASES[f"{identity} (stateful)"] += 1
            super().validate_response(response, case, **kwargs)

    Scenario.run(
        settings=hypothesis.settings(
            max_examples=STEPS,
            stateful_step_count=12,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )


def test_a_payment_method_stripe_does_not_know_is_422_and_holds_no_stock(
    cloud: LocalCloud, tokens: dict[str, str]
) -> None:
    """Found by the stateful fuzzing: a well-formed but unknown `paymentMethod` made Stripe refuse
    the intent (`resource_missing`), and checkout answered 500 with the stock still reserved."""
    sku = _stock(cloud, tokens)
    before = cloud.request("GET", f"/admin/inventory/{sku}", token=tokens["staff"]).json
    cart = cloud.request("POST", "/carts").json
    headers = {"X-Cart-Token": cart["cartToken"]}
    assert (
        cloud.request("PUT", f"/carts/{cart['cartId']}/items/{sku}", body={"quantity": 2}, headers=headers).status
        == 200
    )
    body = {
        "email": "ada@example.com",
        "shippingAddress": {
            "name": "Ada",
            "line1": "1 Loop",
            "city": "Springfield",
            "postalCode": "12345",
            "country": "US",
        },
        "paymentMethod": "pm_no_such_method",
    }
    reply = cloud.request(
        "POST",
        f"/carts/{cart['cartId']}/checkout",
        body=body,
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert reply.status == 422, reply.text
    assert reply.json["code"] == "invalid_payment_method"
    assert reply.json["errors"][0]["field"] == "paymentMethod"
    after = cloud.request("GET", f"/admin/inventory/{sku}", token=tokens["staff"]).json
    assert after["reserved"] == before["reserved"]


@pytest.mark.parametrize("query", ["category=", "category=Tents", "cursor=%25%25", "cursor="])
def test_a_list_query_the_schema_refuses_is_422_never_500(cloud: LocalCloud, query: str) -> None:
    """Found by contract fuzzing: `GET /products?category=` (empty) reached DynamoDB as an empty
    key and answered 500; a category or cursor outside its declared pattern is a 422 now."""
    reply = cloud.request("GET", f"/products?{query}")
    assert reply.status == 422, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
