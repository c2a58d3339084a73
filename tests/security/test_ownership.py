"""Who owns a cart and an order: a guest cart joins an account only when its holder claims it,
an order belongs to whoever checked out, and an Idempotency-Key belongs to one cart."""

from __future__ import annotations

import uuid

import pytest

from shopstack.buyer import ADDRESS, stock_product
from shopstack.harness import LocalCloud

pytestmark = pytest.mark.integration


def guest_cart(cloud: LocalCloud, sku: str) -> tuple[str, dict[str, str]]:
    reply = cloud.request("POST", "/carts")
    cart, headers = reply.json["cartId"], {"X-Cart-Token": reply.json["cartToken"]}
    assert cloud.request("PUT", f"/carts/{cart}/items/{sku}", body={"quantity": 1}, headers=headers).status == 200
    return cart, headers


def test_reading_a_guest_cart_while_signed_in_never_takes_it_or_its_order(
    cloud: LocalCloud, admin_token: str, shopper_token: str
) -> None:
    sku = stock_product(cloud, admin_token, 3)
    cart, headers = guest_cart(cloud, sku)
    # Someone signed in who got hold of the cart token reads the cart: it stays the guest's.
    assert cloud.request("GET", f"/carts/{cart}", headers=headers, token=shopper_token).status == 200
    assert cloud.request("GET", f"/carts/{cart}", token=shopper_token).status == 404
    body = {"email": "guest@example.com", "shippingAddress": ADDRESS, "paymentMethod": "pm_card_visa"}
    order = cloud.request(
        "POST", f"/carts/{cart}/checkout", body=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex}
    ).json
    mine = cloud.request("GET", "/orders", token=shopper_token).json["items"]
    assert order["orderId"] not in {o["orderId"] for o in mine}
    assert cloud.request("GET", f"/orders/{order['orderId']}", token=shopper_token).status == 404
    assert cloud.request("POST", f"/orders/{order['orderId']}/cancel", token=shopper_token).status == 404


def test_a_claimed_cart_is_the_claimers_and_a_guest_order_from_it_stays_the_guests(
    cloud: LocalCloud, admin_token: str, shopper_token: str
) -> None:
    from shopstack.localcloud.tokens import issue_token

    sku = stock_product(cloud, admin_token, 3)
    cart, headers = guest_cart(cloud, sku)
    assert cloud.request("POST", f"/carts/{cart}/claim", headers=headers).status == 401
    assert cloud.request("POST", f"/carts/{cart}/claim", token=shopper_token).status == 404
    claimed = cloud.request("POST", f"/carts/{cart}/claim", headers=headers, token=shopper_token)
    assert claimed.status == 200, claimed.text
    assert cloud.request("GET", f"/carts/{cart}", token=shopper_token).status == 200
    other = issue_token(cloud.base_url, f"other-{uuid.uuid4().hex[:6]}@example.com")
    taken = cloud.request("POST", f"/carts/{cart}/claim", headers=headers, token=other)
    assert taken.status == 409 and taken.json["code"] == "cart_owned"


def test_an_idempotency_key_reused_on_another_cart_is_422_and_the_first_order_keeps_its_token(
    cloud: LocalCloud, admin_token: str, shopper_token: str
) -> None:
    sku = stock_product(cloud, admin_token, 3)
    key = uuid.uuid4().hex
    body = {"email": "ada@example.com", "shippingAddress": ADDRESS, "paymentMethod": "pm_card_visa"}
    orders = []
    for _ in range(2):
        cart = cloud.request("POST", "/carts", token=shopper_token).json["cartId"]
        cloud.request("PUT", f"/carts/{cart}/items/{sku}", body={"quantity": 1}, token=shopper_token)
        orders.append(
            cloud.request(
                "POST", f"/carts/{cart}/checkout", body=body, token=shopper_token, headers={"Idempotency-Key": key}
            )
        )
    first, second = orders
    assert first.status == 201, first.text
    assert second.status == 422 and second.json["code"] == "idempotency_key_reused", second.text
    view = cloud.request("GET", f"/orders/{first.json['orderId']}", headers={"X-Order-Token": first.json["orderToken"]})
    assert view.status == 200
