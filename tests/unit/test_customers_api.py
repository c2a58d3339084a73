"""The customers API as API Gateway invokes it (REST proxy events), with fakes behind the ports."""

from __future__ import annotations

from typing import Any

import pytest

from customers import bootstrap
from customers.entrypoints import api
from customers.service import Customers
from tests.unit.apigw import invoke, proxy_event
from tests.unit.customers_fakes import ADDRESS, customers, order_items

ADA = {"sub": "user-1", "email": "ada@example.com", "cognito:username": "user-1"}
BOB = {"sub": "user-2", "email": "bob@example.com"}
STAFF = {"sub": "staff-1", "email": "staff@example.com", "cognito:groups": "admin"}
PROFILE = {"name": "Ada", "phone": "+1 555 0100", "addresses": [{**ADDRESS, "label": "home"}], "marketingOptIn": True}


@pytest.fixture(autouse=True)
def deps(monkeypatch: pytest.MonkeyPatch) -> Customers:
    fakes = customers(*order_items())
    monkeypatch.setattr(bootstrap, "customers", lambda: fakes)
    return fakes


def call(
    method: str,
    resource: str,
    path: str | None = None,
    *,
    body: Any = None,
    claims: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> tuple[int, Any]:
    event = proxy_event(method, resource, path or resource, body=body, claims=claims, query=query)
    return invoke(api.handler, event, "CustomersApi")


@pytest.mark.parametrize(("method", "path"), [("GET", "/me"), ("PUT", "/me"), ("GET", "/me/export"), ("DELETE", "/me")])
def test_me_routes_need_a_sign_in(method: str, path: str) -> None:
    status, problem = call(method, path, body=PROFILE if method == "PUT" else None)
    assert status == 401 and problem["code"] == "unauthorized"


def test_profile_round_trip() -> None:
    status, profile = call("GET", "/me", claims=ADA)
    assert status == 200 and profile["customerId"] == "user-1" and profile["name"] is None
    status, profile = call("PUT", "/me", body=PROFILE, claims=ADA)
    assert status == 200
    assert {k: profile[k] for k in PROFILE} == PROFILE
    assert call("GET", "/me", claims=ADA)[1] == profile
    assert call("GET", "/me", claims=BOB)[1]["name"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**PROFILE, "customerId": "user-2"}, "customerId"),
        ({**PROFILE, "marketingOptIn": "yes"}, "marketingOptIn"),
        ({**PROFILE, "phone": "call me"}, "phone"),
        ({**PROFILE, "addresses": [{**ADDRESS, "country": "USA"}]}, "addresses.0.country"),
        ({**PROFILE, "addresses": [{**ADDRESS, "extra": 1}]}, "addresses.0.extra"),
    ],
)
def test_put_me_rejects_unknown_and_invalid_fields(body: dict[str, Any], field: str) -> None:
    status, problem = call("PUT", "/me", body=body, claims=ADA)
    assert status == 422 and problem["code"] == "validation_error"
    assert field in [e["field"] for e in problem["errors"]]


def test_malformed_json_is_a_400() -> None:
    status, problem = call("PUT", "/me", body="{", claims=ADA)
    assert status == 400 and problem["code"] == "malformed_json"


def test_export_and_erasure() -> None:
    call("PUT", "/me", body=PROFILE, claims=ADA)
    status, exported = call("GET", "/me/export", claims=ADA)
    assert status == 200 and exported["profile"]["name"] == "Ada" and exported["orders"][0]["orderId"] == "o1"
    assert call("DELETE", "/me", claims=ADA) == (204, None)
    status, problem = call("GET", "/me", claims=ADA)
    assert status == 401 and problem["code"] == "account_erased"
    status, view = call("GET", "/admin/customers/{customerId}", "/admin/customers/user-1", claims=STAFF)
    assert status == 200 and view["status"] == "ERASED" and view["profile"] is None


@pytest.mark.parametrize(
    ("method", "resource", "path"),
    [
        ("GET", "/admin/customers", "/admin/customers"),
        ("GET", "/admin/customers/{customerId}", "/admin/customers/user-1"),
        ("POST", "/admin/customers/{customerId}/interactions", "/admin/customers/user-1/interactions"),
    ],
)
def test_crm_routes_are_for_staff(method: str, resource: str, path: str) -> None:
    assert call(method, resource, path, claims=ADA, body={"x": 1})[0] == 403
    assert call(method, resource, path, body={"x": 1})[0] == 401


def test_staff_find_a_customer_log_an_interaction_and_see_it() -> None:
    call("PUT", "/me", body=PROFILE, claims=ADA)
    status, found = call("GET", "/admin/customers", claims=STAFF, query={"email": "ADA@example.com"})
    assert status == 200 and [c["customerId"] for c in found["items"]] == ["user-1"]
    path = "/admin/customers/user-1/interactions"
    body = {"channel": "phone", "summary": "Called about a return"}
    status, interaction = call("POST", "/admin/customers/{customerId}/interactions", path, body=body, claims=STAFF)
    assert status == 201 and interaction["by"] == {"staffId": "staff-1", "email": "staff@example.com"}
    status, view = call("GET", "/admin/customers/{customerId}", "/admin/customers/user-1", claims=STAFF)
    assert status == 200 and view["profile"]["phone"] == "+1 555 0100" and view["stats"]["orders"] == 1
    assert view["timeline"][0]["interactionId"] == interaction["interactionId"]


@pytest.mark.parametrize(
    "body",
    [
        {"channel": "fax", "summary": "x"},
        {"channel": "note", "summary": ""},
        {"channel": "note", "summary": "x" * 2001},
        {"channel": "note", "summary": "x", "at": "2026-01-01"},
    ],
)
def test_invalid_interactions_are_rejected(body: dict[str, Any]) -> None:
    call("GET", "/me", claims=ADA)
    path = "/admin/customers/user-1/interactions"
    assert call("POST", "/admin/customers/{customerId}/interactions", path, body=body, claims=STAFF)[0] == 422


def test_unknown_customer_is_a_404() -> None:
    status, problem = call("GET", "/admin/customers/{customerId}", "/admin/customers/nobody", claims=STAFF)
    assert status == 404 and problem["code"] == "customer_not_found"
