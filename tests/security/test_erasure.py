"""Erasure is honoured by every service: the ID token of an erased account stays valid until it
expires (Cognito cannot revoke it, and the authorizer checks only its signature and expiry), so
every function behind the API refuses it with 401 `account_erased`, and nothing changes."""

from __future__ import annotations

import uuid

import pytest

from shopstack.buyer import ADDRESS, stock_product
from shopstack.harness import LocalCloud, Reply
from shopstack.localcloud.tokens import issue_token
from tests.security.test_ownership import guest_cart

pytestmark = pytest.mark.integration


def _refused(reply: Reply) -> None:
    assert reply.status == 401 and reply.json["code"] == "account_erased", (reply.status, reply.text)


def test_an_erased_customers_token_opens_no_cart_places_no_order_and_reads_nothing(
    cloud: LocalCloud, admin_token: str
) -> None:
    sku = stock_product(cloud, admin_token, 2)
    email = f"erased-{uuid.uuid4().hex[:10]}@example.com"
    token = issue_token(cloud.base_url, email)
    assert cloud.request("PUT", "/me", body={"name": "Ada"}, token=token).status == 200
    bought = cloud.request("POST", "/carts", token=token).json["cartId"]
    assert cloud.request("PUT", f"/carts/{bought}/items/{sku}", body={"quantity": 1}, token=token).status == 200
    order = cloud.request(
        "POST",
        f"/carts/{bought}/checkout",
        body={"email": email, "shippingAddress": ADDRESS, "paymentMethod": "pm_card_visa"},
        token=token,
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert order.status in (201, 202), order.text
    order_id = order.json["orderId"]
    guest, guest_headers = guest_cart(cloud, sku)  # a guest cart whose token the erased account holds

    assert cloud.request("DELETE", "/me", token=token).status == 204

    _refused(cloud.request("POST", "/carts", token=token))
    _refused(cloud.request("POST", f"/carts/{guest}/claim", headers=guest_headers, token=token))
    _refused(cloud.request("GET", f"/carts/{guest}", headers=guest_headers, token=token))
    _refused(
        cloud.request(
            "POST",
            f"/carts/{guest}/checkout",
            body={"email": email, "shippingAddress": ADDRESS, "paymentMethod": "pm_card_visa"},
            headers={**guest_headers, "Idempotency-Key": uuid.uuid4().hex},
            token=token,
        )
    )
    _refused(cloud.request("GET", "/orders", token=token))
    _refused(cloud.request("GET", f"/orders/{order_id}", token=token))
    _refused(cloud.request("POST", f"/orders/{order_id}/cancel", token=token))
    _refused(cloud.request("GET", "/me", token=token))
    _refused(cloud.request("PUT", "/me", body={"name": "Ada again"}, token=token))
    _refused(cloud.request("GET", "/me/export", token=token))
    assert cloud.request("DELETE", "/me", token=token).status == 204, "a retried erasure still finishes"

    # Nothing changed: the guest cart is still the guest's, unclaimed, holding nothing.
    cart = cloud.request("GET", f"/carts/{guest}", headers=guest_headers)
    assert cart.status == 200 and cart.json["status"] == "OPEN", cart.text
    stock = cloud.request("GET", f"/admin/inventory/{sku}", token=admin_token).json
    assert stock["available"] == 1, "only the order placed before the erasure holds stock"
    orders = cloud.request("GET", f"/orders/{order_id}", token=admin_token).json
    assert orders["email"] == "erased@invalid"


def test_an_erased_staff_member_is_refused_on_staff_routes(cloud: LocalCloud) -> None:
    token = issue_token(cloud.base_url, f"staff-{uuid.uuid4().hex[:10]}@example.com", admin=True)
    assert cloud.request("GET", "/admin/orders", token=token).status == 200
    assert cloud.request("DELETE", "/me", token=token).status == 204
    _refused(cloud.request("GET", "/admin/orders", token=token))
    _refused(cloud.request("GET", "/admin/inventory/ANY-SKU", token=token))
    _refused(cloud.request("GET", "/admin/customers?email=x@example.com", token=token))
    _refused(cloud.request("PUT", "/admin/products/ERASED-1", body={"name": "x", "category": "x"}, token=token))
