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

from infra.routes import ROUTES
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
            "webhookId": "01NOSUCHWEBHOOK00000000000",
            "deliveryId": "01NOSUCHDELIVERY0000000000",
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
    ("POST", "/webhooks/stripe"): {"id": "evt_probe"},
    ("POST", "/webhooks/carrier"): {"trackingNumber": "PROBE-1", "status": "DELIVERED", "at": "2026-01-01T00:00:00Z"},
    # Refused by validation once past authorization: no subscription is ever created.
    ("POST", "/admin/webhooks"): {"url": "ftp://probe", "events": []},
}

# What each caller gets on a route, the resources in its path being the shopper's ("customer").
# "ok": served (never 401/403, never told the shopper's cart or order does not exist); "own":
# served with the caller's own data, never the shopper's; a set: one of those statuses.
OK, OWN = "ok", "own"
DENIED = frozenset({401, 403, 404})
NO_TOKEN = frozenset({401})
ROLES = ("anonymous", "customer", "other customer", "staff")

PUBLIC = dict.fromkeys(ROLES, OK)
OWNER = {"anonymous": DENIED, "customer": OK, "other customer": DENIED, "staff": DENIED}
OWNER_OR_STAFF = {**OWNER, "staff": OK}
SIGNED_IN = {"anonymous": NO_TOKEN, "customer": OK, "other customer": OWN, "staff": OWN}
STAFF = {"anonymous": NO_TOKEN, "customer": frozenset({403}), "other customer": frozenset({403}), "staff": OK}
SIGNED_WEBHOOK = dict.fromkeys(ROLES, frozenset({400}))

MATRIX: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/products"): PUBLIC,
    ("GET", "/products/{sku}"): PUBLIC,
    ("POST", "/carts"): PUBLIC,
    ("GET", "/carts/{cartId}"): OWNER,
    ("POST", "/carts/{cartId}/claim"): OWNER,
    ("PUT", "/carts/{cartId}/items/{sku}"): OWNER,
    ("DELETE", "/carts/{cartId}/items/{sku}"): OWNER,
    ("POST", "/carts/{cartId}/checkout"): OWNER,
    ("POST", "/webhooks/stripe"): SIGNED_WEBHOOK,
    ("GET", "/orders"): SIGNED_IN,
    ("GET", "/orders/{orderId}"): OWNER_OR_STAFF,
    ("POST", "/orders/{orderId}/cancel"): OWNER_OR_STAFF,
    ("GET", "/orders/{orderId}/invoice"): OWNER_OR_STAFF,
    ("GET", "/orders/{orderId}/tracking"): OWNER_OR_STAFF,
    ("POST", "/orders/{orderId}/returns"): OWNER_OR_STAFF,
    ("GET", "/me"): SIGNED_IN,
    ("PUT", "/me"): SIGNED_IN,
    ("GET", "/me/export"): SIGNED_IN,
    ("DELETE", "/me"): SIGNED_IN,
    ("PUT", "/admin/products/{sku}"): STAFF,
    ("GET", "/admin/inventory/{sku}"): STAFF,
    ("POST", "/admin/inventory/{sku}/adjustments"): STAFF,
    ("GET", "/admin/orders"): STAFF,
    ("POST", "/admin/orders/{orderId}/cancel"): STAFF,
    ("POST", "/admin/orders/{orderId}/shipments"): STAFF,
    ("POST", "/admin/shipments/{shipmentId}/events"): STAFF,
    ("POST", "/admin/returns/{returnId}/refund"): STAFF,
    ("GET", "/admin/customers"): STAFF,
    ("GET", "/admin/customers/{customerId}"): STAFF,
    ("POST", "/admin/customers/{customerId}/interactions"): STAFF,
    ("POST", "/webhooks/carrier"): SIGNED_WEBHOOK,
    ("GET", "/admin/analytics/sales"): STAFF,
    ("GET", "/admin/analytics/products"): STAFF,
    ("GET", "/admin/analytics/funnel"): STAFF,
    ("GET", "/admin/analytics/abandoned-carts"): STAFF,
    ("POST", "/admin/webhooks"): STAFF,
    ("GET", "/admin/webhooks"): STAFF,
    ("DELETE", "/admin/webhooks/{webhookId}"): STAFF,
    ("POST", "/admin/webhooks/{webhookId}/rotate-secret"): STAFF,
    ("POST", "/admin/webhooks/{webhookId}/enable"): STAFF,
    ("GET", "/admin/webhooks/{webhookId}/deliveries"): STAFF,
    ("POST", "/admin/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver"): STAFF,
}
# Served by the gateway but kept out of the document they serve.
NOT_IN_OPENAPI = {("GET", "/openapi.json"), ("GET", "/docs")}
# Routes whose allowed call changes the shopper's resource for good: each allowed caller gets a
# fresh one (a new order to cancel, a throwaway account to erase, a new cart to check out).
FRESH_ORDER = {("POST", "/orders/{orderId}/cancel"), ("POST", "/admin/orders/{orderId}/cancel")}
FRESH_CART = {
    ("POST", "/carts/{cartId}/checkout"),
    ("DELETE", "/carts/{cartId}/items/{sku}"),
    ("PUT", "/carts/{cartId}/items/{sku}"),
}
CATALOG = {("GET", "/health"), ("GET", "/products"), ("GET", "/products/{sku}"), *NOT_IN_OPENAPI}


def _routes(cloud: LocalCloud) -> set[tuple[str, str]]:
    doc = cloud.request("GET", "/openapi.json").json
    return {(method.upper(), path) for path, item in doc["paths"].items() for method in item}


def _call(
    cloud: LocalCloud,
    method: str,
    template: str,
    ids: dict[str, str],
    token: str | None,
    headers: dict[str, str] | None = None,
) -> Reply:
    path = template
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    sent = {"Idempotency-Key": uuid.uuid4().hex, **(headers or {})}
    body = BODIES.get((method, template))
    return cloud.request(method, path, body=body, token=token, headers=sent)


def test_the_matrix_names_every_route_the_api_serves(cloud: LocalCloud) -> None:
    """A route added to the API without its line in the matrix fails here. (The matrix may name
    documented routes a stage does not serve yet; those are skipped.)"""
    served = _routes(cloud)
    assert len(served) >= 30, served
    assert served - set(MATRIX) == set()
    assert {(r.method, r.path) for r in ROUTES} - set(MATRIX) == set()


def _refused(reply: Reply) -> bool:
    """Refused for who the caller is (not for what the request holds)."""
    if reply.status in (401, 403):
        return True
    return reply.status == 404 and reply.json.get("code") in {"order_not_found", "cart_not_found"}


def test_every_route_answers_each_caller_as_the_matrix_says(
    cloud: LocalCloud, world: dict[str, Any], shopper_token: str, admin_token: str
) -> None:
    from shopstack.localcloud.tokens import issue_token

    ids = world["ids"]
    tokens = {"anonymous": None, "customer": shopper_token, "other customer": world["other"], "staff": admin_token}
    mine = [ids["orderId"], ids["cartId"], ids["customerId"], "shopper@example.com"]
    invalid = {"expired": expired(shopper_token, cloud), "forged": forged(shopper_token)}
    wrong: list[tuple[str, str, str, int, str]] = []
    allowed: list[tuple[str, str, str]] = []
    refusals: list[tuple[str, str, str, str | None, Any]] = []  # (method, template, who, token, expected)
    served = _routes(cloud) | NOT_IN_OPENAPI
    for (method, template), expected in sorted(MATRIX.items()):
        if (method, template) not in served:
            continue
        for who in ROLES:
            if expected[who] == OK:
                allowed.append((method, template, who))  # last: they may change the resource
                continue
            token = tokens[who]
            if (method, template) == ("DELETE", "/me") and token is not None:
                token = issue_token(cloud.base_url, f"erase-{uuid.uuid4().hex[:8]}@example.com", admin=who == "staff")
            refusals.append((method, template, who, token, expected[who]))
        # Tokens that are not the user pool's, or no longer valid: refused wherever a token is read.
        if (method, template) in CATALOG:
            refused_as = frozenset({200})
        elif expected is SIGNED_WEBHOOK:
            refused_as = frozenset({400})
        else:
            refused_as = NO_TOKEN
        refusals += [(method, template, who, token, refused_as) for who, token in invalid.items()]
    # One at a time: this is the first test to reach most functions, and parallel calls would start
    # a worker of each per call (a cold start each, on the suite's two cores).
    replies = [_call(cloud, method, template, ids, token) for method, template, _, token, _ in refusals]
    for (method, template, who, _, expected), reply in zip(refusals, replies, strict=True):
        if expected == OWN:
            if reply.status >= 300 or any(value in reply.text for value in mine):
                wrong.append((method, template, who, reply.status, reply.text[:200]))
        elif reply.status not in expected:
            wrong.append((method, template, who, reply.status, reply.text[:200]))
    for method, template, who in allowed:
        token = tokens[who]
        call_ids = dict(ids)
        if (method, template) in FRESH_ORDER:
            call_ids["orderId"] = buy(cloud, ids["sku"], 1, token=shopper_token)["orderId"]
        if (method, template) in FRESH_CART:
            cart, _ = new_cart(cloud, token=shopper_token)
            assert add(cloud, cart, {"Authorization": f"Bearer {shopper_token}"}, ids["sku"], 1).status == 200
            call_ids["cartId"] = cart
        if (method, template) == ("DELETE", "/me"):
            token = issue_token(cloud.base_url, f"erase-{uuid.uuid4().hex[:8]}@example.com", admin=who == "staff")
        reply = _call(cloud, method, template, call_ids, token)
        if _refused(reply) or reply.status >= 500:
            wrong.append((method, template, who, reply.status, reply.text[:200]))
    assert wrong == []


def test_webhooks_refuse_unsigned_calls(cloud: LocalCloud) -> None:
    for path in ("/webhooks/stripe", "/webhooks/carrier"):
        assert cloud.request("POST", path, body={"id": "evt_x"}).status == 400


def test_a_claimed_cart_opens_to_its_owner_and_still_to_its_token_but_no_one_else_can_claim_it(
    cloud: LocalCloud, world: dict[str, Any], shopper_token: str, admin_token: str
) -> None:
    """API.md: a guest cart joins an account when its holder claims it; the token stays a
    capability (a guest's order from it stays the guest's); another account cannot take it."""
    sku, other = world["ids"]["sku"], world["other"]
    cart, holder = new_cart(cloud)
    assert add(cloud, cart, holder, sku, 1).status == 200
    assert cloud.request("POST", f"/carts/{cart}/claim", token=shopper_token).status == 404  # no token
    assert cloud.request("POST", f"/carts/{cart}/claim", headers=holder).status == 401  # not signed in
    claimed = cloud.request("POST", f"/carts/{cart}/claim", headers=holder, token=shopper_token)
    assert claimed.status == 200 and claimed.json["cartId"] == cart, claimed.text

    assert cloud.request("GET", f"/carts/{cart}", token=shopper_token).status == 200
    assert cloud.request("GET", f"/carts/{cart}", headers=holder).status == 200
    for token in (other, admin_token, None):
        assert cloud.request("GET", f"/carts/{cart}", token=token).status == 404
        assert add(cloud, cart, {"Authorization": f"Bearer {token}"} if token else {}, sku, 2).status == 404
    taken = cloud.request("POST", f"/carts/{cart}/claim", headers=holder, token=other)
    assert taken.status == 409 and taken.json["code"] == "cart_owned", taken.text
    assert cloud.request("POST", f"/carts/{cart}/claim", headers=holder, token=admin_token).status == 409
    # Another cart's token opens nothing here.
    _, stranger = new_cart(cloud)
    assert cloud.request("GET", f"/carts/{cart}", headers=stranger).status == 404
    assert cloud.request("POST", f"/carts/{cart}/claim", headers=stranger, token=other).status == 404
    # The claim holds: still the shopper's.
    again = cloud.request("POST", f"/carts/{cart}/claim", headers=holder, token=shopper_token)
    assert again.status == 200
    assert cloud.request("GET", f"/carts/{cart}", token=other).status == 404


def test_an_order_token_opens_its_own_order_only_and_still_does_once_the_order_has_an_owner(
    cloud: LocalCloud, world: dict[str, Any], shopper_token: str
) -> None:
    sku, other = world["ids"]["sku"], world["other"]
    owned = buy(cloud, sku, 1, token=shopper_token)  # checked out signed in: the order has an owner
    guest = buy(cloud, sku, 1)
    assert owned["orderToken"] and guest["orderToken"]
    reads = ("", "/tracking")

    def read(order: dict[str, Any], path: str, token: str | None = None, order_token: str | None = None) -> int:
        headers = {"X-Order-Token": order_token} if order_token else {}
        return cloud.request("GET", f"/orders/{order['orderId']}{path}", token=token, headers=headers).status

    for order, theirs in ((owned, guest), (guest, owned)):
        for path in reads:
            assert read(order, path, order_token=order["orderToken"]) == 200, (order, path)
            # With someone else signed in, the token still opens its order (it is the capability).
            assert read(order, path, token=other, order_token=order["orderToken"]) == 200
            # A different order's token, a made-up one, none: nothing.
            assert read(order, path, order_token=theirs["orderToken"]) == 404
            assert read(order, path, order_token="x" * 32) == 404
            assert read(order, path) == 404
            assert read(order, path, token=other) == 404
    # The owner needs no token for their order; a guest's order is nobody's account's.
    assert read(owned, "", token=shopper_token) == 200
    assert read(guest, "", token=shopper_token) == 404
    mine = {o["orderId"] for o in cloud.request("GET", "/orders?limit=100", token=shopper_token).json["items"]}
    assert owned["orderId"] in mine and guest["orderId"] not in mine
    # Acting on an order with another order's token is refused as well.
    cancel = cloud.request("POST", f"/orders/{owned['orderId']}/cancel", headers={"X-Order-Token": guest["orderToken"]})
    assert cancel.status == 404
    staff_route = cloud.request(
        "POST", f"/admin/orders/{owned['orderId']}/cancel", headers={"X-Order-Token": owned["orderToken"]}
    )
    assert staff_route.status == 401
