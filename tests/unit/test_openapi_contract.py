"""The merged OpenAPI document declares every answer a route can give: the problem details of
its handler, and the answers of WAF, API Gateway and `commerce.http` that come before it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from apidocs.build import document
from apidocs.openapi import LINKS


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, item in document()["paths"].items() for method, op in item.items()]


@pytest.mark.parametrize(("method", "path", "operation"), operations(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_operation_declares_what_comes_before_its_handler(method: str, path: str, operation: Any) -> None:
    responses = operation["responses"]
    for status in ("400", "403", "413", "415", "429", "502", "504"):
        assert status in responses, f"{method} {path} does not declare {status}"
    assert "application/problem+json" in responses["415"]["content"]
    assert responses["429"]["headers"]["Retry-After"]["required"] is True
    assert set(responses["429"]["content"]) == {"application/problem+json", "application/json"}
    if operation["security"] and {} not in operation["security"]:
        assert "401" in responses, f"{method} {path} needs a token but does not declare 401"
    if path.startswith("/admin/"):
        assert "application/problem+json" in responses["403"]["content"]
    for status, response in responses.items():
        if status.startswith(("4", "5")):
            assert response["content"], f"{method} {path} {status} has no body"


def test_no_route_declares_powertools_validation_error() -> None:
    text = json.dumps(document())
    assert "HTTPValidationError" not in text
    assert "ValidationError" not in document()["components"]["schemas"]


def test_cursor_and_category_declare_what_the_handlers_accept() -> None:
    products = {p["name"]: p["schema"] for p in document()["paths"]["/products"]["get"]["parameters"]}
    assert products["category"]["anyOf"][0]["pattern"] == "^[a-z0-9][a-z0-9-]{0,39}$"
    assert products["cursor"]["anyOf"][0]["pattern"] == "^[A-Za-z0-9_-]{1,2048}$"


def test_links_name_existing_operations_and_lead_from_a_cart_to_its_order() -> None:
    ids = {op["operationId"] for _, _, op in operations()}
    for (method, path, status), links in LINKS.items():
        declared = document()["paths"][path][method.lower()]["responses"][status]["links"]
        assert set(declared) == set(links)
        assert all(link["operationId"] in ids for link in declared.values())
    checkout = document()["paths"]["/carts/{cartId}/checkout"]["post"]["responses"]["201"]["links"]
    assert checkout["GetOrder"]["parameters"] == {
        "orderId": "$response.body#/orderId",
        "header.X-Order-Token": "$response.body#/orderToken",
    }


def test_money_and_addresses_are_one_schema_each_and_catalog_prices_take_the_catalog_currency() -> None:
    schemas = document()["components"]["schemas"]
    assert not {"MoneyOut", "CustomerMoneyOut", "MoneyModel"} & set(schemas)
    for name in ("CartOut", "CheckoutOut", "OrderOut", "InvoiceOut", "ProductOut", "CustomerStatsOut"):
        assert "#/components/schemas/Money" in json.dumps(schemas[name]), name
    assert schemas["PriceIn"]["properties"]["currency"]["enum"] == ["usd"]
    assert "enum" not in schemas["Money"]["properties"]["currency"]
    price = schemas["ProductIn"]["properties"]["price"]
    assert price == {"$ref": "#/components/schemas/PriceIn"}


def _referenced(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            yield ref.removeprefix("#/components/schemas/")
        for item in value.values():
            yield from _referenced(item)
    elif isinstance(value, list):
        for item in value:
            yield from _referenced(item)


def test_response_bodies_declare_every_member() -> None:
    """Every object schema a response uses is closed, but problem details (a code adds members,
    e.g. `declineCode`): a member sent without its model fails the integration suite's check of
    every answer against the served document (shopstack.harness.ResponseContract)."""
    schemas = document()["components"]["schemas"]
    pending = [name for _, _, op in operations() for name in _referenced(op["responses"])]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending.extend(_referenced(schemas[name]))
    objects = {name for name in seen if schemas[name].get("type") == "object"}
    assert {"OrderOut", "Money", "Address", "ErasedAddress", "GatewayProblem", "Problem"} <= objects
    assert {name for name in objects if schemas[name].get("additionalProperties") is not False} == {"Problem"}
    assert schemas["Problem"]["additionalProperties"] is True


@pytest.mark.parametrize("char", ["x", "\x85", "\ufeff", "\x1c", "\xa0", "\u2028", "\u3000", "\u180e"])
def test_the_documented_email_pattern_accepts_what_checkout_does(char: str) -> None:
    """JSON Schema patterns are ECMA-262, whose `\\s` is not the handlers' (pydantic's Rust regex):
    the document spells the set out, so a client validating with it agrees with the handler."""
    import jsonschema_rs
    from pydantic import ValidationError

    from checkout.entrypoints.schemas import CheckoutIn

    schema = document()["components"]["schemas"]["CheckoutIn"]["properties"]["email"]
    email = f"a{char}@example.c{char}m"
    body = {
        "email": email,
        "shippingAddress": {"name": "A", "line1": "1", "city": "C", "postalCode": "1", "country": "US"},
    }
    try:
        CheckoutIn.model_validate(body)
        accepted = True
    except ValidationError:
        accepted = False
    assert jsonschema_rs.validator_for(schema).is_valid(email) is accepted
