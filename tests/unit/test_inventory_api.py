"""The inventory API as API Gateway invokes it (REST proxy events), with fakes behind the ports."""

from __future__ import annotations

import json
from typing import Any

import pytest

from inventory import bootstrap
from inventory.entrypoints import api
from tests.unit.apigw import invoke, proxy_event
from tests.unit.fakes import FakeCatalog, RecordingPublisher

ADMIN = {"sub": "staff-1", "email": "staff@example.com", "cognito:groups": "admin"}
PRODUCT = {"name": "Tent", "category": "tents", "price": {"amount": 24900, "currency": "usd"}}


@pytest.fixture(autouse=True)
def fakes(monkeypatch: pytest.MonkeyPatch) -> FakeCatalog:
    catalog = FakeCatalog()
    monkeypatch.setattr(bootstrap, "catalog", lambda: catalog)
    monkeypatch.setattr(bootstrap, "publisher", lambda: RecordingPublisher())
    return catalog


def call(
    method: str,
    resource: str,
    path: str,
    *,
    body: Any = None,
    claims: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    event = proxy_event(method, resource, path, body=body, claims=claims, query=query)
    status, payload = invoke(api.handler, event, "InventoryApi")
    return status, payload or {}


def put(sku: str, body: Any, claims: dict[str, str] | None = ADMIN) -> tuple[int, dict[str, Any]]:
    return call("PUT", "/admin/products/{sku}", f"/admin/products/{sku}", body=body, claims=claims)


def test_staff_create_a_product_and_shoppers_see_it() -> None:
    status, product = put("TENT-2P", PRODUCT)
    assert status == 200 and product["available"] == 0
    status, seen = call("GET", "/products/{sku}", "/products/TENT-2P")
    assert status == 200
    assert seen["price"] == {"amount": 24900, "currency": "usd"} and seen["status"] == "ACTIVE"


@pytest.mark.parametrize("status", ["ACTIVE", "DRAFT", "ARCHIVED"])
def test_every_product_status_is_accepted(status: str) -> None:
    code, product = put("TENT-2P", {**PRODUCT, "status": status, "images": ["/a.svg"]})
    assert code == 200 and product["status"] == status


def test_unknown_product_is_a_404_problem() -> None:
    status, problem = call("GET", "/products/{sku}", "/products/NOPE")
    assert status == 404 and problem["code"] == "product_not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**PRODUCT, "price": {"amount": "12", "currency": "usd"}}, "price.amount"),
        ({**PRODUCT, "price": {"amount": 12.5, "currency": "usd"}}, "price.amount"),
        ({**PRODUCT, "price": {"amount": -1, "currency": "usd"}}, "price.amount"),
        ({**PRODUCT, "available": 5}, "available"),
        ({**PRODUCT, "name": ""}, "name"),
        ({**PRODUCT, "status": "SOLD"}, "status"),
        ({**PRODUCT, "category": "Not A Slug"}, "category"),
        ({k: v for k, v in PRODUCT.items() if k != "price"}, "price"),
    ],
)
def test_invalid_product_bodies_are_422_with_the_field(body: dict[str, Any], field: str) -> None:
    status, problem = put("TENT-2P", body)
    assert status == 422 and problem["code"] == "validation_error"
    assert field in [e["field"] for e in problem["errors"]]


@pytest.mark.parametrize("body", ["{not json", "[1, 2", '{"name": "x",}'])
def test_malformed_json_is_400(body: str) -> None:
    status, problem = put("TENT-2P", body)
    assert status == 400 and problem["code"] == "malformed_json"


@pytest.mark.parametrize("body", ["null", "[]", '"text"', "42"])
def test_json_that_is_not_an_object_is_422(body: str) -> None:
    assert put("TENT-2P", body)[0] == 422


def test_huge_body_is_400_before_anything_runs(fakes: FakeCatalog) -> None:
    status, problem = put("TENT-2P", {**PRODUCT, "description": "x" * 100_000})
    assert status == 400 and problem["code"] == "body_too_large"
    assert fakes.products == {}


def test_admin_routes_need_a_user_and_the_admin_group(fakes: FakeCatalog) -> None:
    assert put("TENT-2P", PRODUCT, claims=None)[0] == 401
    assert put("TENT-2P", PRODUCT, claims={"sub": "shopper", "email": "s@example.com"})[0] == 403
    assert put("TENT-2P", {"junk": True}, claims={"sub": "shopper"})[0] == 403
    assert fakes.products == {}


def test_list_paginates_and_filters_by_category() -> None:
    for sku, category in [("AA-1", "tents"), ("AA-2", "tents"), ("AA-3", "packs")]:
        put(sku, {**PRODUCT, "category": category})
    status, page = call("GET", "/products", "/products", query={"limit": "1", "category": "tents"})
    assert status == 200 and [p["sku"] for p in page["items"]] == ["AA-1"]
    status, rest = call("GET", "/products", "/products", query={"category": "tents", "cursor": page["nextCursor"]})
    assert [p["sku"] for p in rest["items"]] == ["AA-2"] and rest["nextCursor"] is None


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_bad_limits_are_422(limit: str) -> None:
    assert call("GET", "/products", "/products", query={"limit": limit})[0] == 422


def test_openapi_documents_every_inventory_route() -> None:
    doc = json.loads(api.app.get_openapi_json_schema())
    assert set(doc["paths"]) == {
        "/health",
        "/products",
        "/products/{sku}",
        "/admin/products/{sku}",
        "/admin/inventory/{sku}",
        "/admin/inventory/{sku}/adjustments",
    }
    adjust = doc["paths"]["/admin/inventory/{sku}/adjustments"]["post"]
    assert "409" in adjust["responses"] and "422" in adjust["responses"]


@pytest.mark.parametrize("raw", [b'{"name": "\x00\xed\xa0\x80"}', b"\xff\xfe\x00garbage"])
def test_bodies_that_are_not_utf8_are_400(raw: bytes) -> None:
    import base64

    event = proxy_event("PUT", "/admin/products/{sku}", "/admin/products/AB", claims=ADMIN)
    event.update(body=base64.b64encode(raw).decode(), isBase64Encoded=True)
    status, problem = invoke(api.handler, event, "InventoryApi")
    assert status == 400 and problem["code"] == "malformed_json"


def test_absurdly_nested_json_is_400() -> None:
    status, problem = put("TENT-2P", '{"a":' * 5000 + "1" + "}" * 5000)
    assert status == 400 and problem["code"] == "malformed_json"
