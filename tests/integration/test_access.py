"""Access control on every route the API documents: each is tried as its owner, another
customer, an anonymous caller, with an expired and with a forged token, and as staff.
Nobody but the owner (or staff on /admin) gets anything; nothing leaks another's existence."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shopstack.harness import LocalCloud, Reply
from tests.integration.test_checkout import ADDRESS, add, new_cart
from tests.integration.test_orders import buy

pytestmark = pytest.mark.integration

DENIED_OWNER_ROUTE = {401, 403, 404}


def expired(token: str, cloud: LocalCloud) -> str:
    """The same customer's token, validly signed with the stack's own key (in its state dir), but
    expired."""
    from shopstack.localcloud import signing

    assert cloud.state_dir is not None
    claims = jwt.decode(token, options={"verify_signature": False})
    claims.update(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200)
    return signing.load_or_create(cloud.state_dir).sign(claims)


def forged(token: str) -> str:
    """The same claims signed by a key the user pool never issued."""
    claims = jwt.decode(token, options={"verify_signature": False})
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    header = jwt.get_unverified_header(token)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": header.get("kid")})


@pytest.fixture(scope="module")
def world(cloud: LocalCloud, admin_token: str, shopper_token: str) -> dict[str, Any]:
    """Resources owned by the shopper, with the ids every route's path needs."""
    from shopstack.localcloud.tokens import issue_token

    sku = "AC-" + uuid.uuid4().hex[:10].upper()
    product = {"name": "Access", "category": "access", "price": {"amount": 1000, "currency": "usd"}}
    assert cloud.request("PUT", f"/admin/products/{sku}", body=product, token=admin_token).status == 200
    cloud.request(
        "POST",
        f"/admin/inventory/{sku}/adjustments",
        body={"delta": 50, "reason": "stock"},
        token=admin_token,
        headers={"Idempotency-Key": f"access-{sku}"},
    )
    order = buy(cloud, sku, 1, token=shopper_token)
    cart, _ = new_cart(cloud, token=shopper_token)
    assert add(cloud, cart, {"Authorization": f"Bearer {shopper_token}"}, sku, 1).status == 200
    me = jwt.decode(shopper_token, options={"verify_signature": False})
    return {
        "ids": {
            "sku": sku,
            "orderId": order["orderId"],
            "cartId": cart,
            "customerId": me["sub"],
            "shipmentId": "01NOSUCHSHIPMENT0000000000",
            "returnId": "01NOSUCHRETURN000000000000",
        },
        "other": issue_token(cloud.base_url, "other-customer@example.com"),
    }


BODIES: dict[tuple[str, str], Any] = {
    ("PUT", "/admin/products/{sku}"): {"name": "x", "category": "access", "price": {"amount": 1, "currency": "usd"}},
    ("POST", "/admin/inventory/{sku}/adjustments"): {"delta": 0, "reason": "probe"},
    ("PUT", "/carts/{cartId}/items/{sku}"): {"quantity": 1},
    ("POST", "/carts/{cartId}/checkout"): {"email": "a@example.com", "shippingAddress": ADDRESS},
    ("POST", "/orders/{orderId}/returns"): {"lines": [{"sku": "AC-X", "quantity": 1, "reason": "probe"}]},
    ("POST", "/admin/orders/{orderId}/shipments"): {"carrier": "UPS", "trackingNumber": "PROBE-1"},
    ("POST", "/admin/shipments/{shipmentId}/events"): {"status": "IN_TRANSIT", "at": "2026-01-01T00:00:00Z"},
    ("POST", "/admin/returns/{returnId}/refund"): {"restock": False},
    ("PUT", "/me"): {"name": "Probe", "phone": "+15550100", "addresses": [], "marketingOptIn": False},
    ("POST", "/admin/customers/{customerId}/interactions"): {"channel": "note", "summary": "probe"},
}
SIDE_EFFECTS = {("DELETE", "/me"), ("POST", "/orders/{orderId}/cancel"), ("POST", "/admin/orders/{orderId}/cancel")}
PUBLIC = {"/health", "/products", "/products/{sku}", "/carts"}


def _routes(cloud: LocalCloud) -> list[tuple[str, str]]:
    doc = cloud.request("GET", "/openapi.json").json
    return sorted((method.upper(), path) for path, item in doc["paths"].items() for method in item)


def _call(cloud: LocalCloud, method: str, template: str, ids: dict[str, str], token: str | None) -> Reply:
    path = template
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    body = BODIES.get((method, template))
    return cloud.request(method, path, body=body, token=token, headers=headers)


def test_every_documented_route_refuses_everyone_but_its_owner_and_staff(
    cloud: LocalCloud, world: dict[str, Any], shopper_token: str, admin_token: str
) -> None:
    routes = _routes(cloud)
    assert len(routes) >= 25, routes
    ids, other = world["ids"], world["other"]
    leaks: list[tuple[str, str, str, int]] = []
    for method, template in routes:
        if template.startswith("/webhooks/") or (method, template) in SIDE_EFFECTS:
            continue
        admin_route = template.startswith("/admin/")
        callers = {
            "anonymous": None,
            "expired": expired(shopper_token, cloud),
            "forged": forged(shopper_token),
            "other customer": other,
        }
        if admin_route:
            callers["customer"] = shopper_token
        for who, token in callers.items():
            reply = _call(cloud, method, template, ids, token)
            public = template in PUBLIC and who in ("anonymous", "other customer")
            if public:
                continue
            if template in PUBLIC and who in ("expired", "forged") and template != "/carts":
                continue  # public catalog routes do not read tokens
            if who == "other customer" and "{" not in template and not admin_route:
                # The caller's own collection (/me, /orders): answered, but never with the owner's data.
                mine = [ids["orderId"], ids["cartId"], ids["customerId"], "shopper@example.com"]
                if any(value in reply.text for value in mine):
                    leaks.append((method, template, who, reply.status))
                continue
            if reply.status not in DENIED_OWNER_ROUTE:
                leaks.append((method, template, who, reply.status))
        as_owner = _call(cloud, method, template, ids, admin_token if admin_route else shopper_token)
        refused_owner = as_owner.status == 404 and as_owner.json.get("code") in {"order_not_found", "cart_not_found"}
        if as_owner.status in (401, 403) or refused_owner:
            leaks.append((method, template, "owner refused", as_owner.status))
    assert leaks == []


def test_side_effect_routes_refuse_other_customers(cloud: LocalCloud, world: dict[str, Any]) -> None:
    ids, other = world["ids"], world["other"]
    for method, template in sorted(SIDE_EFFECTS - {("DELETE", "/me")}):
        for token in (None, other):
            assert _call(cloud, method, template, ids, token).status in DENIED_OWNER_ROUTE, (method, template)


def test_webhooks_refuse_unsigned_calls(cloud: LocalCloud) -> None:
    for path in ("/webhooks/stripe", "/webhooks/carrier"):
        assert cloud.request("POST", path, body={"id": "evt_x"}).status == 400
