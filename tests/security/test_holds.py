"""A guest without a payment method can hold only so much stock, for a short while: the limits of
cdk.json `guestHoldLimits`, exercised over HTTP from clients at their own loopback addresses
(API Gateway's sourceIp; Linux routes all of 127.0.0.0/8 to the loopback interface)."""

from __future__ import annotations

import http.client
import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from shopstack.buyer import ADDRESS, stock_product
from shopstack.harness import LocalCloud

pytestmark = pytest.mark.integration

LIMITS = json.loads((Path(__file__).resolve().parents[2] / "cdk.json").read_text())["context"]["guestHoldLimits"]


def from_address(cloud: LocalCloud, source: str, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    url = urlsplit(cloud.base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30, source_address=(source, 0))
    try:
        data = None if body is None else json.dumps(body)
        connection.request(
            method,
            path,
            body=data,
            headers={"Content-Type": "application/json", "User-Agent": "shopstack-tests", **headers},
        )
        response = connection.getresponse()
        text = response.read().decode()
        return response.status, json.loads(text) if text else None, dict(response.getheaders())
    finally:
        connection.close()


def unpaid_checkout(cloud: LocalCloud, source: str, sku: str, email: str, quantity: int = 1) -> tuple[int, Any]:
    _, cart, _ = from_address(cloud, source, "POST", "/carts", None, {})
    headers = {"X-Cart-Token": cart["cartToken"]}
    path = f"/carts/{cart['cartId']}"
    status, _, _ = from_address(cloud, source, "PUT", f"{path}/items/{sku}", {"quantity": quantity}, headers)
    assert status == 200
    body = {"email": email, "shippingAddress": ADDRESS}
    status, answer, _ = from_address(
        cloud, source, "POST", f"{path}/checkout", body, {**headers, "Idempotency-Key": uuid.uuid4().hex}
    )
    return status, answer


def test_a_guest_cannot_hold_more_than_max_units_without_paying(cloud: LocalCloud, admin_token: str) -> None:
    sku = stock_product(cloud, admin_token, 100)
    status, answer = unpaid_checkout(cloud, "127.0.0.21", sku, "big@example.com", LIMITS["maxUnits"] + 1)
    assert status == 422 and answer["code"] == "hold_limit_exceeded", answer
    stock = cloud.request("GET", f"/admin/inventory/{sku}", token=admin_token).json
    assert stock["reserved"] == 0


def test_one_client_address_holds_only_per_client_unpaid_checkouts_and_others_still_buy(
    cloud: LocalCloud, admin_token: str
) -> None:
    sku = stock_product(cloud, admin_token, 100)
    greedy = "127.0.0.22"
    statuses = [
        unpaid_checkout(cloud, greedy, sku, f"g{n}-{uuid.uuid4().hex[:6]}@example.com")[0]
        for n in range(LIMITS["perClient"] + 1)
    ]
    assert statuses == [201] * LIMITS["perClient"] + [429], statuses
    other, answer = unpaid_checkout(cloud, "127.0.0.23", sku, f"other-{uuid.uuid4().hex[:6]}@example.com")
    assert other == 201, answer


def test_one_email_holds_only_per_email_unpaid_checkouts(cloud: LocalCloud, admin_token: str) -> None:
    sku = stock_product(cloud, admin_token, 100)
    email = f"eve-{uuid.uuid4().hex[:6]}@example.com"
    statuses = [unpaid_checkout(cloud, f"127.0.1.{n + 1}", sku, email)[0] for n in range(LIMITS["perEmail"] + 1)]
    assert statuses == [201] * LIMITS["perEmail"] + [429], statuses
