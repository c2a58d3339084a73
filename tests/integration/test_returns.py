"""Returns and refunds over HTTP: a delivered order is returned in part, refunded and restocked."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from shopstack.harness import LocalCloud
from tests.integration.test_checkout import inventory
from tests.integration.test_orders import _intents, _stripe_get, buy, product, view, wait_for

pytestmark = pytest.mark.integration
__all__ = ["product"]


def deliver(cloud: LocalCloud, admin_token: str, order: dict[str, Any]) -> None:
    wait_for(cloud, order, "CONFIRMED")
    shipment = cloud.request(
        "POST",
        f"/admin/orders/{order['orderId']}/shipments",
        body={"carrier": "DHL", "trackingNumber": "JD" + uuid.uuid4().hex[:12].upper()},
        token=admin_token,
    ).json
    at = datetime.now(UTC).isoformat()
    event = {"status": "DELIVERED", "at": at}
    reply = cloud.request("POST", f"/admin/shipments/{shipment['shipmentId']}/events", body=event, token=admin_token)
    assert reply.status == 200, reply.text
    assert view(cloud, order).json["status"] == "DELIVERED"


def ask_return(cloud: LocalCloud, order: dict[str, Any], lines: list[dict[str, Any]], key: str) -> Any:
    return cloud.request(
        "POST",
        f"/orders/{order['orderId']}/returns",
        body={"lines": lines},
        headers={"X-Order-Token": order["orderToken"], "Idempotency-Key": key},
    )


def test_a_delivered_order_is_returned_in_part_refunded_and_restocked(
    cloud: LocalCloud, admin_token: str, product: Any
) -> None:
    sku = product(10)
    order = buy(cloud, sku, 3)
    deliver(cloud, admin_token, order)
    assert inventory(cloud, admin_token, sku)["onHand"] == 7

    lines = [{"sku": sku, "quantity": 1, "reason": "arrived scratched"}]
    first = ask_return(cloud, order, lines, key="return-1")
    assert first.status == 201 and first.json["status"] == "REQUESTED"
    assert ask_return(cloud, order, lines, key="return-1").text == first.text
    too_many = ask_return(cloud, order, [{"sku": sku, "quantity": 3, "reason": "x"}], key="return-2")
    assert too_many.status == 422 and too_many.json["errors"][0]["returnable"] == 2
    assert view(cloud, order).json["status"] == "RETURN_REQUESTED"

    refund_path = f"/admin/returns/{first.json['returnId']}/refund"
    headers = {"Idempotency-Key": "refund-1"}
    refunded = cloud.request("POST", refund_path, body={"restock": True}, token=admin_token, headers=headers)
    assert refunded.status == 200, refunded.text
    again = cloud.request("POST", refund_path, body={"restock": True}, token=admin_token, headers=headers)
    assert again.text == refunded.text
    share = refunded.json["refund"]["amount"]
    assert refunded.json["status"] == "REFUNDED" and share == 4000 + 320  # one unit and its 8 % tax

    final = view(cloud, order).json
    assert final["status"] == "PARTIALLY_REFUNDED"
    assert [r["status"] for r in final["returns"]] == ["REFUNDED"]
    assert inventory(cloud, admin_token, sku)["onHand"] == 8
    charge = _intents(cloud, order["orderId"])[0]["latest_charge"]
    assert charge["amount_refunded"] == share
    refunds = _stripe_get(cloud, f"/v1/refunds?payment_intent={_intents(cloud, order['orderId'])[0]['id']}")
    assert [r["amount"] for r in refunds["data"]] == [share]


def test_a_refund_is_announced_to_subscribers(cloud: LocalCloud, admin_token: str, product: Any, aws: Any) -> None:
    """RefundIssued comes from the committed return (the Orders stream), with an id derived from
    the return: analytics has seen exactly that event."""
    from commerce.ids import stable_id
    from tests.integration.test_event_flow import _physical

    sku = product(5)
    order = buy(cloud, sku, 1)
    deliver(cloud, admin_token, order)
    ret = ask_return(cloud, order, [{"sku": sku, "quantity": 1, "reason": "changed my mind"}], key="r").json
    reply = cloud.request(
        "POST",
        f"/admin/returns/{ret['returnId']}/refund",
        body={"restock": False},
        token=admin_token,
        headers={"Idempotency-Key": "refund"},
    )
    assert reply.status == 200
    assert view(cloud, order).json["status"] == "REFUNDED"
    table = _physical(aws, "AWS::DynamoDB::Table", "Analytics")
    key = {"pk": {"S": f"SEEN#{stable_id(ret['returnId'], 'RefundIssued')}"}, "sk": {"S": "SEEN"}}
    deadline = time.monotonic() + 20
    while "Item" not in aws("dynamodb").get_item(TableName=table, Key=key) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert "Item" in aws("dynamodb").get_item(TableName=table, Key=key), json.dumps(ret)


def test_the_staff_view_shows_the_order_its_return_the_refund_and_an_interaction(
    cloud: LocalCloud, admin_token: str, product: Any
) -> None:
    from shopstack.localcloud.tokens import issue_token

    token = issue_token(cloud.base_url, f"returner-{uuid.uuid4().hex[:8]}@example.com")
    me = cloud.request("GET", "/me", token=token).json
    sku = product(5)
    order = buy(cloud, sku, 2, token=token)
    deliver(cloud, admin_token, order)
    ret = cloud.request(
        "POST",
        f"/orders/{order['orderId']}/returns",
        body={"lines": [{"sku": sku, "quantity": 1, "reason": "wrong size"}]},
        token=token,
        headers={"Idempotency-Key": "crm-return"},
    ).json
    cloud.request(
        "POST",
        f"/admin/returns/{ret['returnId']}/refund",
        body={"restock": True},
        token=admin_token,
        headers={"Idempotency-Key": "crm-refund"},
    )
    cloud.request(
        "POST",
        f"/admin/customers/{me['customerId']}/interactions",
        body={"channel": "email", "summary": "Sent a prepaid return label"},
        token=admin_token,
    )
    view = cloud.request("GET", f"/admin/customers/{me['customerId']}", token=admin_token).json
    kinds = {entry["type"] for entry in view["timeline"]}
    assert {"order", "return", "refund", "interaction"} <= kinds, view["timeline"]
    assert view_order_status(cloud, token, order["orderId"]) == "PARTIALLY_REFUNDED"


def view_order_status(cloud: LocalCloud, token: str, order_id: str) -> str:
    return str(cloud.request("GET", f"/orders/{order_id}", token=token).json["status"])
