"""An order's whole life over HTTP against the local cloud: the Step Functions workflow CDK
synthesized, Stripe (emulated), SQS, SES (captured) and the stream outbox."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from shopstack.harness import LocalCloud, Reply
from shopstack.waiting import NotMet, eventually
from tests.integration.test_checkout import ADDRESS, add, checkout, emulator, intents_for, inventory, new_cart

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def product(cloud: LocalCloud, admin_token: str) -> Any:
    def make(units: int = 10) -> str:
        sku = "OR-" + uuid.uuid4().hex[:10].upper()
        body = {"name": f"Item {sku}", "category": "orders", "price": {"amount": 4000, "currency": "usd"}}
        assert cloud.request("PUT", f"/admin/products/{sku}", body=body, token=admin_token).status == 200
        cloud.request(
            "POST",
            f"/admin/inventory/{sku}/adjustments",
            body={"delta": units, "reason": "stock"},
            token=admin_token,
            headers={"Idempotency-Key": f"stock-{sku}"},
        )
        return sku

    return make


def buy(cloud: LocalCloud, sku: str, quantity: int = 1, token: str | None = None) -> dict[str, Any]:
    cart, headers = new_cart(cloud, token=token)
    if token:
        headers = {}
    assert (
        add(cloud, cart, {**headers, **({"Authorization": f"Bearer {token}"} if token else {})}, sku, quantity).status
        == 200
    )
    if token:
        reply = cloud.request(
            "POST",
            f"/carts/{cart}/checkout",
            body={"email": "ada@example.com", "shippingAddress": ADDRESS, "paymentMethod": "pm_card_visa"},
            token=token,
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
    else:
        reply = checkout(cloud, cart, headers, key=uuid.uuid4().hex)
    assert reply.status == 201, reply.text
    return reply.json


def view(cloud: LocalCloud, order: dict[str, Any], path: str = "") -> Reply:
    return cloud.request("GET", f"/orders/{order['orderId']}{path}", headers={"X-Order-Token": order["orderToken"]})


def wait_for(cloud: LocalCloud, order: dict[str, Any], *statuses: str, timeout: float = 45) -> dict[str, Any]:
    """The order's view once its status is one of `statuses`; fails with the last view seen."""
    seen: list[dict[str, Any]] = [{}]

    def arrived() -> dict[str, Any] | None:
        seen[0] = view(cloud, order).json
        return seen[0] if seen[0]["status"] in statuses else None

    try:
        return eventually(arrived, timeout=timeout, interval=0.25)
    except NotMet:
        raise AssertionError(seen[0]) from None


def mail_to(cloud: LocalCloud, address: str) -> list[dict[str, Any]]:
    return [m for m in cloud.request("GET", "/_localcloud/mail").json if address in m["to"]]


def test_a_paid_order_is_confirmed_invoiced_shipped_and_delivered(
    cloud: LocalCloud, admin_token: str, product: Any, outputs: dict[str, str], aws: Any
) -> None:
    sku = product(10)
    began = time.monotonic()
    order = buy(cloud, sku, 2)
    confirmed = wait_for(cloud, order, "CONFIRMED")
    print(f"\ncheckout to CONFIRMED: {time.monotonic() - began:.1f} s")
    assert [h["status"] for h in confirmed["history"]] == ["PENDING_PAYMENT", "PAID", "CONFIRMED"]
    stock = inventory(cloud, admin_token, sku)
    assert (stock["onHand"], stock["reserved"], stock["available"]) == (8, 0, 8)
    invoice = view(cloud, order, "/invoice")
    assert invoice.status == 200 and invoice.json["invoiceNumber"].startswith(f"INV-{datetime.now(UTC).year}-")
    assert invoice.json["total"] == confirmed["total"]
    page = cloud.request(
        "GET",
        f"/orders/{order['orderId']}/invoice",
        headers={"X-Order-Token": order["orderToken"], "Accept": "text/html"},
    )
    assert page.headers["content-type"].startswith("text/html") and invoice.json["invoiceNumber"] in page.text
    assert [i["status"] for i in intents_for(cloud, order["orderId"])] == ["succeeded"]

    shipment = cloud.request(
        "POST",
        f"/admin/orders/{order['orderId']}/shipments",
        body={"carrier": "UPS", "trackingNumber": "1Z" + uuid.uuid4().hex[:12].upper()},
        token=admin_token,
    )
    assert shipment.status == 201 and shipment.json["status"] == "SHIPPED"
    assert view(cloud, order).json["status"] == "SHIPPED"

    secret = json.loads(aws("secretsmanager").get_secret_value(SecretId=outputs["CarrierSecretName"])["SecretString"])[
        "signingSecret"
    ]
    event = json.dumps(
        {"trackingNumber": shipment.json["trackingNumber"], "status": "IN_TRANSIT", "at": _now(), "location": "Memphis"}
    )
    stamp = int(time.time())
    signature = hmac.new(secret.encode(), f"{stamp}.{event}".encode(), hashlib.sha256).hexdigest()
    forged = cloud.request(
        "POST", "/webhooks/carrier", raw=event.encode(), headers={"X-Carrier-Signature": f"t={stamp},v1=00"}
    )
    assert forged.status == 400
    carrier = cloud.request(
        "POST", "/webhooks/carrier", raw=event.encode(), headers={"X-Carrier-Signature": f"t={stamp},v1={signature}"}
    )
    assert carrier.status == 200, carrier.text
    delivered = cloud.request(
        "POST",
        f"/admin/shipments/{shipment.json['shipmentId']}/events",
        body={"status": "DELIVERED", "at": _now()},
        token=admin_token,
    )
    assert delivered.status == 200 and delivered.json["status"] == "DELIVERED"
    final = view(cloud, order).json
    assert final["status"] == "DELIVERED"
    assert [e["status"] for e in view(cloud, order, "/tracking").json["shipments"][0]["events"]] == [
        "SHIPPED",
        "IN_TRANSIT",
        "DELIVERED",
    ]

    def subjects() -> list[str]:
        return [m["subject"] for m in mail_to(cloud, "ada@example.com") if order["orderId"] in m["subject"]]

    # Emails go out from the order events (OrderNotifications), after the changes they announce.
    eventually(lambda: {"confirmed", "shipped", "delivered"} <= {w for s in subjects() for w in s.split()}, timeout=30)


def _intents(cloud: LocalCloud, order_id: str) -> list[dict[str, Any]]:
    """The order's PaymentIntents with their latest charge expanded (refund state)."""
    ids = [i["id"] for i in intents_for(cloud, order_id)]
    return [_stripe_get(cloud, f"/v1/payment_intents/{i}?expand[]=latest_charge") for i in ids]


def _stripe_get(cloud: LocalCloud, path: str) -> dict[str, Any]:
    import urllib.request

    request = urllib.request.Request(cloud.stripe_url + path, headers={"Authorization": "Bearer sk_test_local"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_a_failed_capture_ends_payment_failed_with_stock_and_money_back(
    cloud: LocalCloud, admin_token: str, product: Any
) -> None:
    sku = product(5)
    # An authorization that expired before capture: Stripe refuses the capture for good.
    fault = {"kind": "unexpected_state_400", "next": 1, "path": "/v1/payment_intents/", "method": "POST"}
    emulator(cloud, "POST", "/_emulator/faults", fault)
    try:
        order = buy(cloud, sku, 2)
        ended = wait_for(cloud, order, "PAYMENT_FAILED", "CONFIRMED")
    finally:
        emulator(cloud, "DELETE", "/_emulator/faults")
    assert ended["status"] == "PAYMENT_FAILED"
    assert inventory(cloud, admin_token, sku)["available"] == 5
    assert [i["status"] for i in intents_for(cloud, order["orderId"])] == ["canceled"]


def test_a_failed_fulfilment_request_cancels_with_stock_and_money_back(
    cloud: LocalCloud, admin_token: str, product: Any, outputs: dict[str, str], aws: Any
) -> None:
    sku = product(5)
    sqs = aws("sqs")
    url = outputs["FulfilmentQueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    sqs.delete_queue(QueueUrl=url)
    try:
        order = buy(cloud, sku, 2)
        ended = wait_for(cloud, order, "CANCELLED", "CONFIRMED")
    finally:
        keep = (
            "VisibilityTimeout",
            "RedrivePolicy",
            "MessageRetentionPeriod",
            "KmsMasterKeyId",
            "SqsManagedSseEnabled",
        )
        sqs.create_queue(
            QueueName=url.rsplit("/", 1)[-1], Attributes={k: v for k, v in attributes.items() if k in keep}
        )
    assert ended["status"] == "CANCELLED"
    assert "RequestFulfilment" in json.dumps(ended["history"]) or "Queue" in json.dumps(ended["history"])
    stock = inventory(cloud, admin_token, sku)
    assert (stock["onHand"], stock["reserved"], stock["available"]) == (5, 0, 5)
    assert [(i["status"], i["latest_charge"]["refunded"]) for i in _intents(cloud, order["orderId"])] == [
        ("succeeded", True)
    ]


def test_the_customer_cancels_a_confirmed_order_and_gets_everything_back(
    cloud: LocalCloud, admin_token: str, product: Any
) -> None:
    sku = product(5)
    order = buy(cloud, sku, 3)
    wait_for(cloud, order, "CONFIRMED")
    reply = cloud.request("POST", f"/orders/{order['orderId']}/cancel", headers={"X-Order-Token": order["orderToken"]})
    assert reply.status == 200 and reply.json["status"] == "CANCELLED"
    stock = inventory(cloud, admin_token, sku)
    assert (stock["onHand"], stock["reserved"], stock["available"]) == (5, 0, 5)
    assert [(i["status"], i["latest_charge"]["refunded"]) for i in _intents(cloud, order["orderId"])] == [
        ("succeeded", True)
    ]
    again = cloud.request("POST", f"/orders/{order['orderId']}/cancel", headers={"X-Order-Token": order["orderToken"]})
    assert again.status == 200 and again.json["status"] == "CANCELLED"


def test_orders_belong_to_their_customer(cloud: LocalCloud, product: Any, shopper_token: str) -> None:
    from shopstack.localcloud.tokens import issue_token

    sku = product(5)
    first = buy(cloud, sku, 1, token=shopper_token)
    second = buy(cloud, sku, 1, token=shopper_token)
    mine = cloud.request("GET", "/orders?limit=100", token=shopper_token).json["items"]
    ids = [o["orderId"] for o in mine]
    assert ids.index(second["orderId"]) < ids.index(first["orderId"])
    other = issue_token(cloud.base_url, "someone-else@example.com")
    assert cloud.request("GET", f"/orders/{first['orderId']}", token=other).status == 404
    assert cloud.request("GET", f"/orders/{first['orderId']}").status == 404
    assert cloud.request("GET", "/orders").status == 401
    assert cloud.request("GET", f"/orders/{first['orderId']}", token=shopper_token).status == 200


def test_staff_list_orders_by_status(cloud: LocalCloud, admin_token: str, shopper_token: str) -> None:
    assert cloud.request("GET", "/admin/orders").status == 401
    assert cloud.request("GET", "/admin/orders", token=shopper_token).status == 403
    listed = cloud.request("GET", "/admin/orders?status=CONFIRMED&limit=5", token=admin_token)
    assert listed.status == 200 and all(o["status"] == "CONFIRMED" for o in listed.json["items"])


def test_invoice_numbers_are_gapless_under_concurrent_orders(cloud: LocalCloud, product: Any, aws: Any) -> None:
    sku = product(20)
    with ThreadPoolExecutor(max_workers=5) as pool:
        orders = list(pool.map(lambda _: buy(cloud, sku, 1), range(5)))
    for order in orders:
        wait_for(cloud, order, "CONFIRMED")
    table = next(t for t in aws("dynamodb").list_tables()["TableNames"] if t.endswith("-orders"))
    year = datetime.now(UTC).year
    numbers = sorted(
        int(item["invoiceNumber"]["S"].rsplit("-", 1)[1])
        for item in aws("dynamodb").scan(TableName=table)["Items"]
        if item["sk"]["S"] == "INVOICE" and item["invoiceNumber"]["S"].startswith(f"INV-{year}-")
    )
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 5
