"""The catalog and inventory routes over HTTP against the local cloud."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shopstack.harness import LocalCloud

pytestmark = pytest.mark.integration

PRODUCT = {
    "name": "Test Lantern",
    "description": "Bright.",
    "category": "lighting",
    "price": {"amount": 1999, "currency": "usd"},
    "images": ["/images/products/lantern.svg"],
}


def new_sku() -> str:
    return "T-" + uuid.uuid4().hex[:12].upper()


def create(cloud: LocalCloud, token: str, *, stock: int = 0, **fields: Any) -> str:
    sku = new_sku()
    reply = cloud.request("PUT", f"/admin/products/{sku}", body={**PRODUCT, **fields}, token=token)
    assert reply.status == 200, reply.text
    if stock:
        adjust(cloud, token, sku, stock, key=f"init-{sku}")
    return sku


def adjust(cloud: LocalCloud, token: str, sku: str, delta: int, *, key: str) -> Any:
    return cloud.request(
        "POST",
        f"/admin/inventory/{sku}/adjustments",
        body={"delta": delta, "reason": "cycle count"},
        token=token,
        headers={"Idempotency-Key": key},
    )


def test_health(cloud: LocalCloud) -> None:
    reply = cloud.request("GET", "/health")
    assert (reply.status, reply.json) == (200, {"status": "ok"})


def test_unknown_product_is_404_problem_json(cloud: LocalCloud) -> None:
    reply = cloud.request("GET", "/products/NOPE")
    assert reply.status == 404
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json["status"] == 404 and reply.json["code"] == "product_not_found"


def test_staff_publish_a_product_and_shoppers_see_its_stock(cloud: LocalCloud, admin_token: str) -> None:
    sku = create(cloud, admin_token, stock=7)
    product = cloud.request("GET", f"/products/{sku}").json
    assert product["available"] == 7
    assert product["price"] == {"amount": 1999, "currency": "usd"}
    assert cloud.request("GET", f"/admin/inventory/{sku}", token=admin_token).json == {
        "sku": sku,
        "onHand": 7,
        "reserved": 0,
        "available": 7,
        "lowStockThreshold": 5,
    }


def test_category_listing_paginates_every_product_once(cloud: LocalCloud, admin_token: str) -> None:
    category = "cat-" + uuid.uuid4().hex[:8]
    skus = {create(cloud, admin_token, category=category) for _ in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        query = f"/products?category={category}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = cloud.request("GET", query).json
        seen += [p["sku"] for p in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(skus)


def test_drafts_are_not_for_sale(cloud: LocalCloud, admin_token: str) -> None:
    sku = create(cloud, admin_token, status="DRAFT")
    assert cloud.request("GET", f"/products/{sku}").status == 404


def test_admin_routes_refuse_guests_and_shoppers(cloud: LocalCloud, shopper_token: str) -> None:
    sku = new_sku()
    assert cloud.request("PUT", f"/admin/products/{sku}", body=PRODUCT).status == 401
    assert cloud.request("PUT", f"/admin/products/{sku}", body=PRODUCT, token="forged.token.x").status == 401
    forbidden = cloud.request("PUT", f"/admin/products/{sku}", body=PRODUCT, token=shopper_token)
    assert forbidden.status == 403 and forbidden.json["code"] == "forbidden"
    assert cloud.request("GET", f"/products/{sku}").status == 404


def test_adjustment_needs_an_idempotency_key(cloud: LocalCloud, admin_token: str) -> None:
    sku = create(cloud, admin_token)
    reply = cloud.request(
        "POST", f"/admin/inventory/{sku}/adjustments", body={"delta": 1, "reason": "x"}, token=admin_token
    )
    assert reply.status == 422 and reply.json["errors"][0]["field"] == "Idempotency-Key"


def test_retried_adjustment_replays_the_first_response_and_applies_once(cloud: LocalCloud, admin_token: str) -> None:
    sku = create(cloud, admin_token)
    first = adjust(cloud, admin_token, sku, 10, key="retry-1")
    second = adjust(cloud, admin_token, sku, 10, key="retry-1")
    assert first.status == second.status == 200
    assert first.text == second.text
    assert cloud.request("GET", f"/admin/inventory/{sku}", token=admin_token).json["onHand"] == 10
    reused = adjust(cloud, admin_token, sku, 11, key="retry-1")
    assert reused.status == 422 and reused.json["code"] == "idempotency_key_reused"


def test_on_hand_never_goes_below_reserved(cloud: LocalCloud, admin_token: str) -> None:
    sku = create(cloud, admin_token, stock=3)
    refused = adjust(cloud, admin_token, sku, -4, key="too-many")
    assert refused.status == 409 and refused.json["code"] == "below_reserved"
    assert cloud.request("GET", f"/admin/inventory/{sku}", token=admin_token).json["onHand"] == 3


def test_concurrent_adjustments_never_lose_an_update(cloud: LocalCloud, admin_token: str) -> None:
    sku = create(cloud, admin_token)
    with ThreadPoolExecutor(max_workers=12) as pool:
        replies = list(pool.map(lambda i: adjust(cloud, admin_token, sku, 1, key=f"add-{i}"), range(24)))
    assert [r.status for r in replies] == [200] * 24
    assert cloud.request("GET", f"/admin/inventory/{sku}", token=admin_token).json["onHand"] == 24


def test_concurrent_removals_cannot_oversell(cloud: LocalCloud, admin_token: str) -> None:
    sku = create(cloud, admin_token, stock=10)
    with ThreadPoolExecutor(max_workers=15) as pool:
        replies = list(pool.map(lambda i: adjust(cloud, admin_token, sku, -1, key=f"take-{i}"), range(30)))
    statuses = sorted(r.status for r in replies)
    assert statuses.count(200) == 10 and statuses.count(409) == 20
    state = cloud.request("GET", f"/admin/inventory/{sku}", token=admin_token).json
    assert state["onHand"] == 0 and state["available"] == 0


def test_client_sent_availability_changes_nothing(cloud: LocalCloud, admin_token: str) -> None:
    sku = create(cloud, admin_token, stock=2)
    reply = cloud.request(
        "PUT", f"/admin/products/{sku}", body={**PRODUCT, "available": 999, "onHand": 999}, token=admin_token
    )
    assert reply.status == 422
    assert cloud.request("GET", f"/products/{sku}").json["available"] == 2


def test_openapi_and_docs_are_served(cloud: LocalCloud) -> None:
    doc = cloud.request("GET", "/openapi.json")
    assert doc.status == 200 and "/products/{sku}" in doc.json["paths"]
    docs = cloud.request("GET", "/docs")
    assert docs.status == 200 and "swagger" in docs.text.lower()
