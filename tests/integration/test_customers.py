"""Customers over HTTP against the local cloud: profiles, the staff CRM, export and erasure.

Every test signs in its own new customer (erasure deletes the Cognito user, so the session's
shared shopper must never be used here)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from shopstack.harness import LocalCloud
from shopstack.localcloud.tokens import issue_token
from shopstack.waiting import eventually
from tests.integration.test_checkout import ADDRESS as ADA
from tests.integration.test_orders import buy, product, wait_for

pytestmark = pytest.mark.integration
__all__ = ["product"]  # the fixture, shared with test_orders

ADDRESS = {
    "label": "home",
    "name": "Grace Hopper",
    "line1": "7 Navy Yard Rd",
    "line2": "Apt 3",
    "city": "Arlington",
    "postalCode": "22202",
    "country": "US",
}
PROFILE = {"name": "Grace Hopper", "phone": "+1 555 0142", "addresses": [ADDRESS], "marketingOptIn": True}


def new_customer(cloud: LocalCloud) -> tuple[str, str]:
    email = f"cust-{uuid.uuid4().hex[:12]}@example.com"
    return email, issue_token(cloud.base_url, email)


def staff_view(cloud: LocalCloud, admin_token: str, customer_id: str) -> dict[str, Any]:
    reply = cloud.request("GET", f"/admin/customers/{customer_id}", token=admin_token)
    assert reply.status == 200, reply.text
    view: dict[str, Any] = reply.json
    return view


def test_profile_is_created_on_first_sign_in_and_updated(cloud: LocalCloud) -> None:
    email, token = new_customer(cloud)
    assert cloud.request("GET", "/me").status == 401
    assert cloud.request("GET", "/me", token="not.a.token").status == 401
    first = cloud.request("GET", "/me", token=token)
    assert first.status == 200, first.text
    assert first.json["email"] == email and first.json["name"] is None and first.json["addresses"] == []
    assert cloud.request("GET", "/me", token=token).json["createdAt"] == first.json["createdAt"]

    updated = cloud.request("PUT", "/me", body=PROFILE, token=token)
    assert updated.status == 200, updated.text
    assert {k: updated.json[k] for k in PROFILE} == PROFILE
    assert cloud.request("GET", "/me", token=token).json == updated.json

    rejected = cloud.request("PUT", "/me", body={**PROFILE, "customerId": "someone-else"}, token=token)
    assert rejected.status == 422 and rejected.json["code"] == "validation_error"
    assert {k.lower(): v for k, v in rejected.headers.items()}["content-type"].startswith("application/problem+json")


def test_crm_search_view_and_interactions(
    cloud: LocalCloud, admin_token: str, shopper_token: str, product: Any
) -> None:
    email, token = new_customer(cloud)
    me = cloud.request("PUT", "/me", body=PROFILE, token=token).json
    order = buy(cloud, product(), 2, token=token)
    wait_for(cloud, order, "CONFIRMED")

    found = cloud.request("GET", f"/admin/customers?email={email.upper()}", token=admin_token)
    assert found.status == 200, found.text
    assert [c["customerId"] for c in found.json["items"]] == [me["customerId"]]
    assert cloud.request("GET", f"/admin/customers?email={email}", token=shopper_token).status == 403
    assert cloud.request("GET", f"/admin/customers?email={email}").status == 401

    path = f"/admin/customers/{me['customerId']}/interactions"
    logged = cloud.request(
        "POST", path, body={"channel": "phone", "summary": "Asked about delivery"}, token=admin_token
    )
    assert logged.status == 201, logged.text
    assert cloud.request("POST", path, body={"channel": "fax", "summary": "x"}, token=admin_token).status == 422

    def confirmation_mailed() -> dict[str, Any] | None:
        """The staff view once the confirmation email (sent from OrderConfirmed) is on the timeline."""
        current = staff_view(cloud, admin_token, me["customerId"])
        mailed = any(e["type"] == "email" and e["email"] == "confirmation" for e in current["timeline"])
        return current if mailed else None

    view = eventually(confirmation_mailed, timeout=30)
    assert view["profile"]["name"] == "Grace Hopper" and view["profile"]["phone"] == "+1 555 0142"
    assert view["stats"]["orders"] == 1
    assert view["stats"]["lifetimeValue"] == order["total"]
    timeline = view["timeline"]
    assert [e["at"] for e in timeline] == sorted((e["at"] for e in timeline), reverse=True)
    assert timeline[0]["type"] == "interaction" and timeline[0]["interactionId"] == logged.json["interactionId"]
    placed = [e for e in timeline if e["type"] == "order"]
    assert [e["orderId"] for e in placed] == [order["orderId"]]
    assert {"PAID", "CONFIRMED"} <= {e["status"] for e in timeline if e["type"] == "order_status"}
    assert any(e["type"] == "email" and e["email"] == "confirmation" for e in timeline)


def test_export_then_erasure(
    cloud: LocalCloud, admin_token: str, aws: Any, outputs: dict[str, str], product: Any
) -> None:
    email, token = new_customer(cloud)
    me = cloud.request("PUT", "/me", body=PROFILE, token=token).json
    order = buy(cloud, product(), 1, token=token)
    wait_for(cloud, order, "CONFIRMED")
    _, other = new_customer(cloud)

    exported = cloud.request("GET", "/me/export", token=token)
    assert exported.status == 200, exported.text
    assert exported.json["profile"] == me
    (held,) = exported.json["orders"]
    assert held["orderId"] == order["orderId"] and held["shippingAddress"]["name"] == ADA["name"]
    assert held["invoice"]["document"]["billTo"]["email"] == "ada@example.com"
    assert "orderTokenHash" not in held
    assert cloud.request("GET", "/me/export", token=other).json["orders"] == []

    assert cloud.request("DELETE", "/me", token=token).status == 204
    assert cloud.request("GET", "/me", token=token).status == 401
    assert cloud.request("GET", "/me/export", token=token).status == 401

    view = staff_view(cloud, admin_token, me["customerId"])
    assert view["status"] == "ERASED" and view["profile"] is None
    text = json.dumps(view)
    for personal in ("Grace", "Hopper", "555 0142", "Navy Yard", "22202", email, ADA["name"], ADA["line1"]):
        assert personal not in text, personal
    assert cloud.request("GET", f"/admin/customers?email={email}", token=admin_token).json["items"] == []

    kept = cloud.request("GET", f"/orders/{order['orderId']}", token=admin_token)
    assert kept.status == 200, kept.text
    assert kept.json["email"] == "erased@invalid" and kept.json["shippingAddress"] == {"country": "US"}
    assert kept.json["status"] == "CONFIRMED" and kept.json["total"] == order["total"]
    invoice = cloud.request("GET", f"/orders/{order['orderId']}/invoice", token=admin_token).json
    assert invoice["billTo"] == {"name": "", "email": "erased@invalid", "address": {"country": "US"}}
    assert invoice["total"] == order["total"]

    cognito = aws("cognito-idp")
    with pytest.raises(cognito.exceptions.UserNotFoundException):
        cognito.admin_get_user(UserPoolId=outputs["UserPoolId"], Username=email)
