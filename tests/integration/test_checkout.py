"""The buying path over HTTP against the local cloud and its Stripe emulator."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shopstack.buyer import ADDRESS, stock_product
from shopstack.harness import LocalCloud, Reply
from shopstack.lifecycle_checks import expire_now

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stock(cloud: LocalCloud, admin_token: str) -> Any:
    """A fresh product with the given stock, priced at 25.00."""

    def make(units: int, price: int = 2500) -> str:
        return stock_product(cloud, admin_token, units, price)

    return make


def new_cart(cloud: LocalCloud, token: str | None = None) -> tuple[str, dict[str, str]]:
    reply = cloud.request("POST", "/carts", token=token)
    assert reply.status == 201, reply.text
    return reply.json["cartId"], {"X-Cart-Token": reply.json["cartToken"]}


def add(cloud: LocalCloud, cart: str, headers: dict[str, str], sku: str, quantity: Any) -> Reply:
    return cloud.request("PUT", f"/carts/{cart}/items/{sku}", body={"quantity": quantity}, headers=headers)


def checkout(
    cloud: LocalCloud,
    cart: str,
    headers: dict[str, str],
    key: str,
    payment_method: str | None = "pm_card_visa",
) -> Reply:
    body: dict[str, Any] = {"email": "ada@example.com", "shippingAddress": ADDRESS}
    if payment_method:
        body["paymentMethod"] = payment_method
    return cloud.request("POST", f"/carts/{cart}/checkout", body=body, headers={**headers, "Idempotency-Key": key})


def inventory(cloud: LocalCloud, admin_token: str, sku: str) -> dict[str, int]:
    return cloud.request("GET", f"/admin/inventory/{sku}", token=admin_token).json


def order_item(aws: Any, order_id: str) -> dict[str, Any]:
    table = next(t for t in aws("dynamodb").list_tables()["TableNames"] if t.endswith("-orders"))
    item = aws("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}}, ConsistentRead=True
    )["Item"]
    return item


def intents_for(cloud: LocalCloud, order_id: str) -> list[dict[str, Any]]:
    import urllib.request

    request = urllib.request.Request(
        f"{cloud.stripe_url}/v1/payment_intents?limit=100", headers={"Authorization": "Bearer sk_test_local"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        intents = json.loads(response.read())["data"]
    return [i for i in intents if i.get("metadata", {}).get("orderId") == order_id]


def test_a_shopper_buys_with_a_card_and_the_order_is_paid(
    cloud: LocalCloud, admin_token: str, stock: Any, aws: Any
) -> None:
    sku = stock(5)
    cart, headers = new_cart(cloud)
    view = add(cloud, cart, headers, sku, 2)
    assert view.status == 200
    assert view.json["subtotal"] == {"amount": 5000, "currency": "usd"}
    assert {"shipping", "tax", "total"} <= set(view.json)
    reply = checkout(cloud, cart, headers, key=uuid.uuid4().hex)
    assert reply.status == 201, reply.text
    order = reply.json
    assert order["status"] == "PAID" and order["orderToken"]
    assert (
        order["total"]["amount"] == order["subtotal"]["amount"] + order["shipping"]["amount"] + order["tax"]["amount"]
    )
    assert order["payment"]["status"] == "requires_capture"
    stock = inventory(cloud, admin_token, sku)
    # reserved by checkout, or already committed by the order workflow
    assert stock["available"] == 3 and 5 - stock["onHand"] + stock["reserved"] == 2
    # PAID, or already CONFIRMED if the order workflow was quicker than this read
    assert order_item(aws, order["orderId"])["status"]["S"] in ("PAID", "CONFIRMED")
    executions = cloud.executions(order["orderId"])
    assert [(e["stateMachine"].rsplit("-", 1)[-1], e["name"]) for e in executions] == [
        ("OrderWorkflow", order["orderId"])
    ], "one execution, started by the write that paid the order"


def test_the_same_checkout_again_returns_the_first_response_byte_for_byte(cloud: LocalCloud, stock: Any) -> None:
    sku = stock(5)
    cart, headers = new_cart(cloud)
    add(cloud, cart, headers, sku, 1)
    key = uuid.uuid4().hex
    with ThreadPoolExecutor(max_workers=3) as pool:
        replies = list(pool.map(lambda _: checkout(cloud, cart, headers, key), range(3)))
    again = checkout(cloud, cart, headers, key)
    assert {r.status for r in replies} == {201}, [r.text for r in replies]
    assert {r.text for r in [*replies, again]} == {replies[0].text}
    assert len(intents_for(cloud, replies[0].json["orderId"])) == 1
    other = cloud.request(
        "POST",
        f"/carts/{cart}/checkout",
        body={"email": "someone@example.com", "shippingAddress": ADDRESS, "paymentMethod": "pm_card_visa"},
        headers={**headers, "Idempotency-Key": key},
    )
    assert other.status == 422 and other.json["code"] == "idempotency_key_reused"


def test_the_last_units_are_sold_exactly_once(cloud: LocalCloud, admin_token: str, stock: Any) -> None:
    sku = stock(3)
    carts = [new_cart(cloud) for _ in range(10)]
    for cart, headers in carts:
        assert add(cloud, cart, headers, sku, 1).status == 200
    with ThreadPoolExecutor(max_workers=10) as pool:
        replies = list(pool.map(lambda c: checkout(cloud, c[0], c[1], key=uuid.uuid4().hex), carts))
    statuses = sorted(r.status for r in replies)
    assert statuses == [201] * 3 + [409] * 7, [r.text for r in replies if r.status not in (201, 409)]
    refused = next(r for r in replies if r.status == 409).json
    assert refused["code"] == "out_of_stock" and refused["errors"][0]["sku"] == sku
    state = inventory(cloud, admin_token, sku)
    sold = 3 - state["onHand"] + state["reserved"]  # committed by confirmed orders, or still reserved
    assert (state["available"], sold) == (0, 3)


def test_a_cart_with_one_short_line_reserves_nothing(cloud: LocalCloud, admin_token: str, stock: Any) -> None:
    plenty, scarce = stock(10), stock(1)
    cart, headers = new_cart(cloud)
    add(cloud, cart, headers, plenty, 3)
    add(cloud, cart, headers, scarce, 1)
    rival, rival_headers = new_cart(cloud)
    add(cloud, rival, rival_headers, scarce, 1)
    assert checkout(cloud, rival, rival_headers, key=uuid.uuid4().hex).status == 201
    reply = checkout(cloud, cart, headers, key=uuid.uuid4().hex)
    assert reply.status == 409
    assert reply.json["errors"] == [{"sku": scarce, "requested": 1, "available": 0}]
    assert inventory(cloud, admin_token, plenty)["reserved"] == 0


@pytest.mark.parametrize("quantity", [0, -1, 1000, "two", 1.5, None])
def test_bad_quantities_are_422(cloud: LocalCloud, stock: Any, quantity: Any) -> None:
    sku = stock(5)
    cart, headers = new_cart(cloud)
    reply = add(cloud, cart, headers, sku, quantity)
    assert reply.status == 422 and reply.json["code"] == "validation_error"


def test_client_sent_prices_and_totals_change_nothing(cloud: LocalCloud, stock: Any) -> None:
    sku = stock(5)
    cart, headers = new_cart(cloud)
    priced = cloud.request("PUT", f"/carts/{cart}/items/{sku}", body={"quantity": 1, "unitPrice": 1}, headers=headers)
    assert priced.status == 422
    add(cloud, cart, headers, sku, 1)
    cheap = cloud.request(
        "POST",
        f"/carts/{cart}/checkout",
        body={
            "email": "a@example.com",
            "shippingAddress": ADDRESS,
            "total": {"amount": 1, "currency": "usd"},
        },
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert cheap.status == 422
    assert cloud.request("GET", f"/carts/{cart}", headers=headers).json["subtotal"]["amount"] == 2500


def test_a_declined_card_is_402_and_releases_the_stock(cloud: LocalCloud, admin_token: str, stock: Any) -> None:
    sku = stock(4)
    cart, headers = new_cart(cloud)
    add(cloud, cart, headers, sku, 2)
    reply = checkout(cloud, cart, headers, key=uuid.uuid4().hex, payment_method="pm_card_chargeDeclined")
    assert reply.status == 402, reply.text
    assert reply.json["code"] == "card_declined" and reply.json["declineCode"]
    assert inventory(cloud, admin_token, sku)["available"] == 4


def test_three_d_secure_answers_requires_action_with_a_client_secret(cloud: LocalCloud, stock: Any) -> None:
    sku = stock(4)
    cart, headers = new_cart(cloud)
    add(cloud, cart, headers, sku, 1)
    reply = checkout(cloud, cart, headers, key=uuid.uuid4().hex, payment_method="pm_card_authenticationRequired")
    assert reply.status == 201
    assert reply.json["status"] == "PENDING_PAYMENT"
    assert reply.json["payment"]["status"] == "requires_action" and reply.json["payment"]["clientSecret"]


def test_other_callers_cannot_see_or_use_a_cart(cloud: LocalCloud, shopper_token: str) -> None:
    cart, _ = new_cart(cloud)
    assert cloud.request("GET", f"/carts/{cart}").status == 404
    assert cloud.request("GET", f"/carts/{cart}", headers={"X-Cart-Token": "guess"}).status == 404
    assert cloud.request("GET", f"/carts/{cart}", token=shopper_token).status == 404
    mine, _ = new_cart(cloud, token=shopper_token)
    assert cloud.request("GET", f"/carts/{mine}", token=shopper_token).status == 200
    assert cloud.request("GET", f"/carts/{mine}", token="not.a.token").status == 401


# --- the Stripe webhook -------------------------------------------------------------------------


def webhook_secret(aws: Any, outputs: dict[str, str]) -> str:
    value = aws("secretsmanager").get_secret_value(SecretId=outputs["StripeSecretName"])["SecretString"]
    return str(json.loads(value)["webhookSecret"])


def signed(payload: str, secret: str, at: int | None = None) -> str:
    stamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def post_event(cloud: LocalCloud, payload: str, signature: str) -> Reply:
    return cloud.request("POST", "/webhooks/stripe", raw=payload.encode(), headers={"Stripe-Signature": signature})


def confirm_on_stripe(cloud: LocalCloud, intent_id: str) -> None:
    """What Stripe.js does in the shopper's browser with the client secret."""
    import urllib.parse
    import urllib.request

    request = urllib.request.Request(
        f"{cloud.stripe_url}/v1/payment_intents/{intent_id}/confirm",
        data=urllib.parse.urlencode({"payment_method": "pm_card_visa"}).encode(),
        headers={"Authorization": "Bearer sk_test_local"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_a_client_confirmed_payment_is_paid_by_the_signed_webhook(cloud: LocalCloud, stock: Any, aws: Any) -> None:
    sku = stock(3)
    cart, headers = new_cart(cloud)
    add(cloud, cart, headers, sku, 1)
    reply = checkout(cloud, cart, headers, key=uuid.uuid4().hex, payment_method=None)
    assert reply.status == 201 and reply.json["status"] == "PENDING_PAYMENT"
    confirm_on_stripe(cloud, reply.json["payment"]["paymentIntentId"])
    deadline = time.monotonic() + 20
    paid = ("PAID", "CONFIRMED")  # PAID, or already CONFIRMED if the order workflow was quicker than this read
    while order_item(aws, reply.json["orderId"])["status"]["S"] not in paid and time.monotonic() < deadline:
        time.sleep(0.25)
    assert order_item(aws, reply.json["orderId"])["status"]["S"] in paid


def test_forged_stale_and_replayed_webhooks_change_nothing(
    cloud: LocalCloud, stock: Any, aws: Any, outputs: dict[str, str]
) -> None:
    sku = stock(3)
    cart, headers = new_cart(cloud)
    add(cloud, cart, headers, sku, 1)
    reply = checkout(cloud, cart, headers, key=uuid.uuid4().hex, payment_method=None)
    order_id, intent_id = reply.json["orderId"], reply.json["payment"]["paymentIntentId"]
    event = {
        "id": "evt_" + uuid.uuid4().hex,
        "object": "event",
        "type": "payment_intent.amount_capturable_updated",
        "created": int(time.time()),
        "data": {"object": {"id": intent_id, "object": "payment_intent", "status": "requires_capture"}},
    }
    payload = json.dumps(event)
    secret = webhook_secret(aws, outputs)
    assert post_event(cloud, payload, signed(payload, "whsec_forged")).status == 400
    assert post_event(cloud, payload, signed(payload, secret, at=int(time.time()) - 600)).status == 400
    assert post_event(cloud, payload, signed(payload, secret, at=int(time.time()) + 600)).status == 400
    assert post_event(cloud, payload, "garbage").status == 400
    first = post_event(cloud, payload, signed(payload, secret))
    assert first.status == 200, first.text
    assert first.json["outcome"] == "PENDING_PAYMENT"  # the intent itself was never authorized
    assert post_event(cloud, payload, signed(payload, secret)).json["outcome"] == "duplicate"
    assert order_item(aws, order_id)["status"]["S"] == "PENDING_PAYMENT"


def test_an_unpaid_order_is_cancelled_when_its_reservation_expires(
    cloud: LocalCloud, admin_token: str, stock: Any, aws: Any
) -> None:
    sku = stock(2)
    cart, headers = new_cart(cloud)
    add(cloud, cart, headers, sku, 2)
    reply = checkout(cloud, cart, headers, key=uuid.uuid4().hex, payment_method=None)
    order_id = reply.json["orderId"]
    assert inventory(cloud, admin_token, sku)["available"] == 0
    expire_now(cloud, order_id)
    deadline = time.monotonic() + 20
    while order_item(aws, order_id)["status"]["S"] != "CANCELLED" and time.monotonic() < deadline:
        time.sleep(0.25)
    assert order_item(aws, order_id)["status"]["S"] == "CANCELLED"
    assert inventory(cloud, admin_token, sku)["available"] == 2
    assert [i["status"] for i in intents_for(cloud, order_id)] == ["canceled"]


def emulator(cloud: LocalCloud, method: str, path: str, body: Any = None) -> Any:
    import urllib.request

    request = urllib.request.Request(
        f"{cloud.stripe_url}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


@pytest.mark.parametrize("fault", ["drop_after_commit", "error_500"])
def test_a_stripe_failure_mid_payment_never_charges_twice(
    cloud: LocalCloud, admin_token: str, stock: Any, fault: str
) -> None:
    sku = stock(3)
    cart, headers = new_cart(cloud)
    add(cloud, cart, headers, sku, 1)
    emulator(
        cloud,
        "POST",
        "/_emulator/faults",
        {"kind": fault, "next": 1, "path": "/v1/payment_intents", "exact": True, "method": "POST"},
    )
    try:
        reply = checkout(cloud, cart, headers, key=uuid.uuid4().hex)
    finally:
        emulator(cloud, "DELETE", "/_emulator/faults")
    assert reply.status == 201, reply.text
    # Paid; by the time a retried request returns, the order workflow may have confirmed it.
    assert reply.json["status"] in ("PAID", "CONFIRMED")
    intents = intents_for(cloud, reply.json["orderId"])
    assert len(intents) == 1 and intents[0]["status"] in ("requires_capture", "succeeded")
    stock = inventory(cloud, admin_token, sku)
    assert 3 - stock["onHand"] + stock["reserved"] == 1
