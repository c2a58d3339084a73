"""Bad input answers a clear 4xx problem and changes nothing: bodies that are not JSON, forged
cursors, destinations the shop does not ship to; and a list's cursor never names what the list
hides."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

from shopstack.buyer import ADDRESS, stock_product
from shopstack.harness import LocalCloud

pytestmark = pytest.mark.integration


def cursor(key: dict[str, Any], query: str) -> str:
    raw = json.dumps({"k": key, "q": query}, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def new_cart(cloud: LocalCloud) -> tuple[str, dict[str, str]]:
    reply = cloud.request("POST", "/carts")
    return reply.json["cartId"], {"X-Cart-Token": reply.json["cartToken"]}


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_json_is_415(cloud: LocalCloud, admin_token: str, content_type: str) -> None:
    sku = stock_product(cloud, admin_token, 3)
    cart, headers = new_cart(cloud)
    reply = cloud.request(
        "PUT",
        f"/carts/{cart}/items/{sku}",
        raw=b'{"quantity": 1}',
        headers={**headers, "Content-Type": content_type},
    )
    assert reply.status == 415, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert reply.json["code"] == "unsupported_media_type"
    assert cloud.request("GET", f"/carts/{cart}", headers=headers).json["items"] == []
    json_ok = cloud.request(
        "PUT",
        f"/carts/{cart}/items/{sku}",
        raw=b'{"quantity": 1}',
        headers={**headers, "Content-Type": "application/json; charset=utf-8"},
    )
    assert json_ok.status == 200, json_ok.text


@pytest.mark.parametrize(
    ("path", "query", "key", "token"),
    [
        ("/products", "category=", {"pk": "x", "sk": "y"}, None),
        ("/products", "category=", {"sku": 7}, None),
        ("/products?category=tents", "category=tents", {"sku": "A", "category": "other"}, None),
        ("/orders", None, {"pk": "ORDER#1", "sk": "ORDER"}, "shopper"),
        ("/admin/orders", "status=", {"sku": "A"}, "admin"),
        ("/admin/orders?status=PAID", "status=PAID", {"pk": "a", "sk": "b", "status": "X", "createdAt": "c"}, "admin"),
    ],
)
def test_a_forged_cursor_is_422_never_500(
    cloud: LocalCloud,
    admin_token: str,
    shopper_token: str,
    path: str,
    query: str | None,
    key: dict[str, Any],
    token: str | None,
) -> None:
    bearer = {"shopper": shopper_token, "admin": admin_token}.get(token or "")
    if query is None:
        claims = shopper_token.split(".")[1]
        query = f"owner={json.loads(base64.urlsafe_b64decode(claims + '=' * (-len(claims) % 4)))['sub']}"
    separator = "&" if "?" in path else "?"
    reply = cloud.request("GET", f"{path}{separator}cursor={cursor(key, query)}", token=bearer)
    assert reply.status == 422, reply.text
    assert reply.json["errors"][0]["field"] == "cursor"


def test_a_page_and_its_cursor_never_name_a_hidden_product(cloud: LocalCloud, admin_token: str) -> None:
    category = "hid" + uuid.uuid4().hex[:6]
    skus = []
    for n in range(5):
        sku = f"HID-{category}-{n}".upper()
        body = {"name": sku, "category": category, "price": {"amount": 1000, "currency": "usd"}}
        assert cloud.request("PUT", f"/admin/products/{sku}", body=body, token=admin_token).status == 200
        skus.append(sku)
    for sku in skus[1:4]:
        body = {
            "name": sku,
            "category": category,
            "price": {"amount": 1000, "currency": "usd"},
            "status": "ARCHIVED",
        }
        assert cloud.request("PUT", f"/admin/products/{sku}", body=body, token=admin_token).status == 200
    seen: list[str] = []
    next_cursor = None
    for _ in range(10):
        suffix = f"&cursor={next_cursor}" if next_cursor else ""
        page = cloud.request("GET", f"/products?category={category}&limit=1{suffix}").json
        seen += [item["sku"] for item in page["items"]]
        next_cursor = page["nextCursor"]
        if next_cursor:
            decoded = base64.urlsafe_b64decode(next_cursor + "=" * (-len(next_cursor) % 4)).decode()
            assert not any(hidden in decoded for hidden in skus[1:4]), decoded
            assert page["items"], "a page with a cursor has items"
        else:
            break
    assert sorted(seen) == [skus[0], skus[4]]


@pytest.mark.parametrize("country", ["XX", "ZZ", "AA"])
def test_an_unknown_country_is_422_and_reserves_nothing(cloud: LocalCloud, admin_token: str, country: str) -> None:
    sku = stock_product(cloud, admin_token, 2)
    cart, headers = new_cart(cloud)
    cloud.request("PUT", f"/carts/{cart}/items/{sku}", body={"quantity": 2}, headers=headers)
    body = {"email": "ada@example.com", "shippingAddress": {**ADDRESS, "country": country}}
    reply = cloud.request(
        "POST", f"/carts/{cart}/checkout", body=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex}
    )
    assert reply.status == 422, reply.text
    assert "shippingAddress.country" in json.dumps(reply.json["errors"])
    stock = cloud.request("GET", f"/admin/inventory/{sku}", token=admin_token).json
    assert (stock["reserved"], stock["available"]) == (0, 2)


def test_a_price_in_another_currency_is_422_and_never_sold_as_the_shops(cloud: LocalCloud, admin_token: str) -> None:
    sku = "JPY-" + uuid.uuid4().hex[:8].upper()
    body = {"name": "Yen item", "category": "misc", "price": {"amount": 1500, "currency": "jpy"}}
    reply = cloud.request("PUT", f"/admin/products/{sku}", body=body, token=admin_token)
    assert reply.status == 422, reply.text
    assert reply.json["code"] == "currency_not_accepted"
    assert cloud.request("GET", f"/products/{sku}").status == 404
