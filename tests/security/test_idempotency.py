"""Idempotency-Key over HTTP, on every route that takes one (checkout, returns, stock adjustments,
refunds): the same request retried one after another and six at once has one effect a user can
see and one answer; the same key with another body, or on another resource, is 422
`idempotency_key_reused` and changes nothing. Routes idempotent by nature (cart lines, claim,
cancel, shipments, tracking events) retried leave the same state."""

from __future__ import annotations

import ast
import re
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from shopstack.buyer import ADDRESS, stock_product
from shopstack.harness import ROOT, LocalCloud, Reply
from shopstack.waiting import NotMet, eventually
from tests.integration.test_checkout import intents_for
from tests.integration.test_orders import _stripe_get, wait_for

pytestmark = pytest.mark.integration

COPIES = 6
# The first route table of API.md: every route that takes an Idempotency-Key. The test below
# keeps it complete.
KEYED_ROUTES = {
    ("POST", "/carts/{cartId}/checkout"),
    ("POST", "/orders/{orderId}/returns"),
    ("POST", "/admin/inventory/{sku}/adjustments"),
    ("POST", "/admin/returns/{returnId}/refund"),
}


# --- helpers -----------------------------------------------------------------------------------


def customer(cloud: LocalCloud) -> str:
    from shopstack.localcloud.tokens import issue_token

    return issue_token(cloud.base_url, f"idem-{uuid.uuid4().hex[:10]}@example.com")


def at_once(call: Callable[[], Reply], copies: int = COPIES) -> list[Reply]:
    """`copies` of one request, released together."""
    return together([call] * copies)


def together(calls: list[Callable[[], Reply]]) -> list[Reply]:
    """Requests released together; their replies in the same order."""
    gate = threading.Barrier(len(calls))

    def one(call: Callable[[], Reply]) -> Reply:
        gate.wait(10)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(one, calls))


def one_answer(replies: list[Reply]) -> Reply:
    """Every copy got the same status and body (a copy may be told the first is still in flight:
    409 `idempotency_in_progress`, API.md); returns that answer."""
    answered = [r for r in replies if not (r.status == 409 and r.json.get("code") == "idempotency_in_progress")]
    assert answered, [(r.status, r.text) for r in replies]
    first = answered[0]
    seen = [(r.status, r.headers.get("content-type"), r.text) for r in answered]
    assert seen == [(first.status, first.headers.get("content-type"), first.text)] * len(answered)
    return first


def retried(call: Callable[[], Reply]) -> Reply:
    """Sent six at once, then twice more one after another: one answer, byte for byte."""
    answer = one_answer(at_once(call))
    for _ in range(2):
        again = call()
        assert (again.status, again.text) == (answer.status, answer.text)
    return answer


def reused(reply: Reply) -> None:
    assert reply.status == 422, reply.text
    assert reply.json["code"] == "idempotency_key_reused", reply.text


def stock(cloud: LocalCloud, admin_token: str, sku: str) -> tuple[int, int]:
    state = cloud.request("GET", f"/admin/inventory/{sku}", token=admin_token).json
    return state["onHand"], state["reserved"]


def cart_with(cloud: LocalCloud, sku: str, quantity: int, token: str | None = None) -> tuple[str, dict[str, str]]:
    reply = cloud.request("POST", "/carts", token=token)
    assert reply.status == 201, reply.text
    cart, headers = reply.json["cartId"], ({} if token else {"X-Cart-Token": reply.json["cartToken"]})
    added = cloud.request(
        "PUT", f"/carts/{cart}/items/{sku}", body={"quantity": quantity}, headers=headers, token=token
    )
    assert added.status == 200, added.text
    return cart, headers


CHECKOUT = {"email": "idem@example.com", "shippingAddress": ADDRESS, "paymentMethod": "pm_card_visa"}


def checkout(
    cloud: LocalCloud, cart: str, headers: dict[str, str], key: str, token: str | None, body: Any = None
) -> Reply:
    return cloud.request(
        "POST",
        f"/carts/{cart}/checkout",
        body=CHECKOUT if body is None else body,
        headers={**headers, "Idempotency-Key": key},
        token=token,
    )


def emails_about(cloud: LocalCloud, order_id: str, what: str) -> int:
    """How many emails the customer got about `what` ("confirmed", "was cancelled") of one order: waits
    for the first, then counts."""

    def mails() -> list[dict[str, Any]]:
        return [m for m in cloud.request("GET", "/_localcloud/mail").json if f"{order_id} {what}" in m["subject"]]

    try:
        return len(eventually(mails, timeout=20, interval=0.2))
    except NotMet:
        return 0


def my_orders(cloud: LocalCloud, token: str) -> list[str]:
    return [o["orderId"] for o in cloud.request("GET", "/orders?limit=100", token=token).json["items"]]


def delivered(cloud: LocalCloud, admin_token: str, sku: str, quantity: int, token: str, count: int = 1) -> list[Any]:
    """`count` paid orders of the customer's, shipped and delivered (returnable)."""
    orders = []
    for _ in range(count):
        cart, _ = cart_with(cloud, sku, quantity, token)
        order = checkout(cloud, cart, {}, uuid.uuid4().hex, token)
        assert order.status == 201, order.text
        orders.append(order.json)
    for order in orders:
        wait_for(cloud, order, "CONFIRMED")
        shipment = cloud.request(
            "POST",
            f"/admin/orders/{order['orderId']}/shipments",
            body={"carrier": "DHL", "trackingNumber": "ID" + uuid.uuid4().hex[:12].upper()},
            token=admin_token,
        )
        assert shipment.status == 201, shipment.text
        event = {"status": "DELIVERED", "at": datetime.now(UTC).isoformat()}
        path = f"/admin/shipments/{shipment.json['shipmentId']}/events"
        assert cloud.request("POST", path, body=event, token=admin_token).status == 200
    for order in orders:
        wait_for(cloud, order, "DELIVERED")
    return orders


def view(cloud: LocalCloud, order_id: str, token: str) -> dict[str, Any]:
    reply = cloud.request("GET", f"/orders/{order_id}", token=token)
    assert reply.status == 200, reply.text
    return dict(reply.json)


def refunds(cloud: LocalCloud, intent_id: str) -> list[int]:
    return [r["amount"] for r in _stripe_get(cloud, f"/v1/refunds?payment_intent={intent_id}&limit=100")["data"]]


def adjustments(aws: Any, *skus: str) -> dict[str, list[int]]:
    """The stock adjustment ledger (the inventory history) of some SKUs: their deltas."""
    client = aws("dynamodb")
    table = next(t for t in client.list_tables()["TableNames"] if t.endswith("-products"))
    found: dict[str, list[int]] = {sku: [] for sku in skus}
    names = {f":s{i}": {"S": sku} for i, sku in enumerate(skus)}
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": f"begins_with(sku, :ledger) AND target IN ({', '.join(names)})",
        "ExpressionAttributeValues": {":ledger": {"S": "ADJUSTMENT#"}, **names},
        "ConsistentRead": True,
    }
    while True:
        page = client.scan(**kwargs)
        for item in page["Items"]:
            found[item["target"]["S"]].append(int(item["delta"]["N"]))
        if "LastEvaluatedKey" not in page:
            return {sku: sorted(deltas) for sku, deltas in found.items()}
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# --- the keyed routes ------------------------------------------------------------------------


def _handlers_taking_a_key() -> set[tuple[str, str]]:
    """The routes whose handler reads an Idempotency-Key, from the services' source."""
    found = set()
    for source in sorted(ROOT.glob("functions/*/entrypoints/api.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            calls = {
                c.func.id if isinstance(c.func, ast.Name) else getattr(c.func, "attr", "")
                for c in ast.walk(node)
                if isinstance(c, ast.Call)
            }
            if not calls & {"idempotency_key", "_idempotent", "run_once"}:
                continue
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute):
                    path = decorator.args[0].value  # type: ignore[attr-defined]
                    found.add((decorator.func.attr.upper(), re.sub(r"<(\w+)>", r"{\1}", path)))
    return found


def test_the_keyed_routes_are_those_api_md_names_and_the_handlers_enforce(cloud: LocalCloud) -> None:
    documented = set(re.findall(r"`(POST|PUT|DELETE) (/\S+)` \(Idempotency-Key\)", (ROOT / "docs/api.md").read_text()))
    assert documented == KEYED_ROUTES
    assert _handlers_taking_a_key() == KEYED_ROUTES
    doc = cloud.request("GET", "/openapi.json").json
    served = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    assert served & KEYED_ROUTES == KEYED_ROUTES


def missing_key_refused(send: Callable[[dict[str, str]], Reply]) -> None:
    """No Idempotency-Key, an empty one or one over 255 characters: 422 naming the header."""
    for headers in ({}, {"Idempotency-Key": ""}, {"Idempotency-Key": "k" * 256}):
        reply = send(headers)
        assert reply.status == 422, (headers, reply.text)
        assert [e["field"] for e in reply.json["errors"]] == ["Idempotency-Key"], reply.text


@pytest.mark.parametrize("who", ["guest", "customer"])
def test_a_checkout_retried_places_one_order_and_answers_the_same(
    cloud: LocalCloud, admin_token: str, who: str
) -> None:
    token = customer(cloud) if who == "customer" else None
    sku = stock_product(cloud, admin_token, 10)
    cart, headers = cart_with(cloud, sku, 2, token)
    key = uuid.uuid4().hex
    missing_key_refused(
        lambda key: cloud.request(
            "POST", f"/carts/{cart}/checkout", body=CHECKOUT, headers={**headers, **key}, token=token
        )
    )

    placed = retried(lambda: checkout(cloud, cart, headers, key, token))
    assert placed.status == 201, placed.text
    order_id = placed.json["orderId"]
    assert [i["id"] for i in intents_for(cloud, order_id)] == [placed.json["payment"]["paymentIntentId"]]
    on_hand, reserved = stock(cloud, admin_token, sku)
    assert on_hand - reserved == 8  # 2 units reserved or committed, once
    if token:
        assert my_orders(cloud, token) == [order_id]

    wait_for(cloud, placed.json, "CONFIRMED")
    before = stock(cloud, admin_token, sku)
    assert before == (8, 0)
    assert emails_about(cloud, order_id, "confirmed") == 1

    # The same key with another body: refused, nothing placed.
    other_body = checkout(cloud, cart, headers, key, token, body={**CHECKOUT, "email": "someone-else@example.com"})
    reused(other_body)

    # The same key on another cart.
    other_cart, other_headers = cart_with(cloud, sku, 1, token)
    elsewhere = checkout(cloud, other_cart, other_headers, key, token)
    if token:
        # The same customer: refused, and the other cart is untouched and still open.
        reused(elsewhere)
        assert my_orders(cloud, token) == [order_id]
        still = cloud.request("GET", f"/carts/{other_cart}", token=token).json
        assert still["status"] == "OPEN" and [i["quantity"] for i in still["items"]] == [1]
        assert stock(cloud, admin_token, sku) == before
    else:
        # Keys are scoped to the caller, and a guest is known only by the cart it holds: another
        # cart's holder is another caller, with an order of its own (never the first one).
        assert elsewhere.status == 201, elsewhere.text
        assert elsewhere.json["orderId"] != order_id
    # The first order's token still opens it: a reuse revokes nothing.
    first = cloud.request("GET", f"/orders/{order_id}", headers={"X-Order-Token": placed.json["orderToken"]})
    assert first.status == 200 and first.json["status"] == "CONFIRMED"


def test_a_declined_checkout_retried_answers_the_same_402_and_holds_nothing(
    cloud: LocalCloud, admin_token: str
) -> None:
    sku = stock_product(cloud, admin_token, 5)
    cart, headers = cart_with(cloud, sku, 1)
    key = uuid.uuid4().hex
    body = {**CHECKOUT, "paymentMethod": "pm_card_chargeDeclined"}
    declined = retried(lambda: checkout(cloud, cart, headers, key, None, body=body))
    assert declined.status == 402 and declined.json["code"] == "card_declined", declined.text
    assert len(intents_for(cloud, declined.json["orderId"])) == 1
    assert stock(cloud, admin_token, sku) == (5, 0)


def test_a_return_retried_is_requested_once(cloud: LocalCloud, admin_token: str) -> None:
    token = customer(cloud)
    sku = stock_product(cloud, admin_token, 10)
    order, other_order = delivered(cloud, admin_token, sku, 2, token, count=2)
    key = uuid.uuid4().hex
    body = {"lines": [{"sku": sku, "quantity": 1, "reason": "too big"}]}

    def ask(order_id: str, sent: Any = body) -> Reply:
        return cloud.request(
            "POST", f"/orders/{order_id}/returns", body=sent, token=token, headers={"Idempotency-Key": key}
        )

    missing_key_refused(
        lambda key: cloud.request("POST", f"/orders/{order['orderId']}/returns", body=body, token=token, headers=key)
    )
    requested = retried(lambda: ask(order["orderId"]))
    assert requested.status == 201 and requested.json["status"] == "REQUESTED", requested.text
    returns = view(cloud, order["orderId"], token)["returns"]
    assert [r["returnId"] for r in returns] == [requested.json["returnId"]]

    reused(ask(order["orderId"], {"lines": [{"sku": sku, "quantity": 2, "reason": "too big"}]}))
    reused(ask(other_order["orderId"]))
    assert len(view(cloud, order["orderId"], token)["returns"]) == 1
    untouched = view(cloud, other_order["orderId"], token)
    assert untouched["returns"] == [] and untouched["status"] == "DELIVERED"


def test_a_refund_retried_refunds_and_restocks_once(cloud: LocalCloud, admin_token: str) -> None:
    from shopstack.localcloud.tokens import issue_token

    token = customer(cloud)
    sku = stock_product(cloud, admin_token, 10)
    (order,) = delivered(cloud, admin_token, sku, 2, token)
    one = {"lines": [{"sku": sku, "quantity": 1, "reason": "broken"}]}
    ret, other_ret = (
        cloud.request(
            "POST", f"/orders/{order['orderId']}/returns", body=one, token=token, headers={"Idempotency-Key": k}
        ).json
        for k in ("first", "second")
    )
    intent = order["payment"]["paymentIntentId"]
    on_hand = stock(cloud, admin_token, sku)[0]
    key = uuid.uuid4().hex

    def refund(return_id: str, restock: bool = True, token: str = admin_token) -> Reply:
        return cloud.request(
            "POST",
            f"/admin/returns/{return_id}/refund",
            body={"restock": restock},
            token=token,
            headers={"Idempotency-Key": key},
        )

    missing_key_refused(
        lambda key: cloud.request(
            "POST", f"/admin/returns/{ret['returnId']}/refund", body={"restock": True}, token=admin_token, headers=key
        )
    )
    refunded = retried(lambda: refund(ret["returnId"]))
    assert refunded.status == 200 and refunded.json["status"] == "REFUNDED", refunded.text
    amount = refunded.json["refund"]["amount"]
    assert refunds(cloud, intent) == [amount]
    assert stock(cloud, admin_token, sku)[0] == on_hand + 1

    reused(refund(ret["returnId"], restock=False))
    # Keys are scoped to the caller: another member of staff with the same key is another
    # request, and the return is refunded already (no second refund).
    colleague = issue_token(cloud.base_url, f"staff-{uuid.uuid4().hex[:8]}@example.com", admin=True)
    again = refund(ret["returnId"], token=colleague)
    assert again.status == 200 and again.json["status"] == "REFUNDED", again.text
    reused(refund(other_ret["returnId"]))
    assert refunds(cloud, intent) == [amount]
    assert stock(cloud, admin_token, sku)[0] == on_hand + 1
    after = view(cloud, order["orderId"], token)
    assert after["status"] == "PARTIALLY_REFUNDED"
    assert {r["returnId"]: r["status"] for r in after["returns"]} == {
        ret["returnId"]: "REFUNDED",
        other_ret["returnId"]: "REQUESTED",
    }


def test_a_stock_adjustment_retried_moves_stock_once(cloud: LocalCloud, admin_token: str, aws: Any) -> None:
    sku, other_sku = stock_product(cloud, admin_token, 10), stock_product(cloud, admin_token, 10)
    key = uuid.uuid4().hex
    body = {"delta": 5, "reason": "cycle count"}

    def adjust(target: str, sent: Any = body) -> Reply:
        return cloud.request(
            "POST",
            f"/admin/inventory/{target}/adjustments",
            body=sent,
            token=admin_token,
            headers={"Idempotency-Key": key},
        )

    missing_key_refused(
        lambda key: cloud.request(
            "POST", f"/admin/inventory/{sku}/adjustments", body=body, token=admin_token, headers=key
        )
    )
    adjusted = retried(lambda: adjust(sku))
    assert adjusted.status == 200 and adjusted.json["onHand"] == 15, adjusted.text
    assert stock(cloud, admin_token, sku) == (15, 0)

    reused(adjust(sku, {"delta": 6, "reason": "cycle count"}))
    reused(adjust(other_sku))
    assert stock(cloud, admin_token, sku) == (15, 0)
    assert stock(cloud, admin_token, other_sku) == (10, 0)
    assert adjustments(aws, sku, other_sku) == {sku: [5, 10], other_sku: [10]}


# --- routes idempotent by nature -----------------------------------------------------------------


def test_a_cart_line_set_again_holds_the_same_quantity(cloud: LocalCloud, admin_token: str) -> None:
    sku = stock_product(cloud, admin_token, 10)
    cart, headers = cart_with(cloud, sku, 1)

    def put() -> Reply:
        return cloud.request("PUT", f"/carts/{cart}/items/{sku}", body={"quantity": 3}, headers=headers)

    replies = [*at_once(put), put(), put()]
    assert {r.status for r in replies} == {200}
    assert {tuple((i["sku"], i["quantity"]) for i in r.json["items"]) for r in replies} == {((sku, 3),)}
    assert stock(cloud, admin_token, sku) == (10, 0)  # a cart holds no stock


def test_a_claim_retried_keeps_the_cart_with_one_claimer(cloud: LocalCloud, admin_token: str) -> None:
    sku = stock_product(cloud, admin_token, 5)
    cart, headers = cart_with(cloud, sku, 1)
    claimers = [customer(cloud) for _ in range(2)]

    def claim(token: str) -> Callable[[], Reply]:
        return lambda: cloud.request("POST", f"/carts/{cart}/claim", headers=headers, token=token)

    # Two customers holding the token claim at once, three times each: all of one's claims win,
    # all of the other's are 409 cart_owned.
    replies = together([claim(claimers[i % 2]) for i in range(COPIES)])
    outcomes = [{(r.status, r.json.get("code")) for r in replies[i::2]} for i in range(2)]
    assert sorted(outcomes, key=str) == [{(200, None)}, {(409, "cart_owned")}], outcomes
    winner, loser = claimers if outcomes[0] == {(200, None)} else claimers[::-1]
    again = claim(winner)()
    assert again.status == 200 and again.json["cartId"] == cart
    assert cloud.request("GET", f"/carts/{cart}", token=winner).status == 200
    assert cloud.request("GET", f"/carts/{cart}", token=loser).status == 404
    assert claim(loser)().status == 409


def test_a_cancel_retried_releases_stock_and_money_once(cloud: LocalCloud, admin_token: str) -> None:
    token = customer(cloud)
    sku = stock_product(cloud, admin_token, 10)
    cart, _ = cart_with(cloud, sku, 3, token)
    order = checkout(cloud, cart, {}, uuid.uuid4().hex, token).json
    wait_for(cloud, order, "CONFIRMED")
    assert stock(cloud, admin_token, sku) == (7, 0)

    def cancel() -> Reply:
        return cloud.request("POST", f"/orders/{order['orderId']}/cancel", token=token)

    replies = [*at_once(cancel), cancel()]
    assert {r.status for r in replies} <= {200, 202}, [(r.status, r.text) for r in replies]
    wait_for(cloud, order, "CANCELLED")
    assert stock(cloud, admin_token, sku) == (10, 0)
    intent = order["payment"]["paymentIntentId"]
    total = order["total"]["amount"]
    assert refunds(cloud, intent) == [total]
    assert emails_about(cloud, order["orderId"], "was cancelled") == 1
    # Staff cancelling it again changes nothing more.
    again = cloud.request("POST", f"/admin/orders/{order['orderId']}/cancel", token=admin_token)
    assert again.status == 200 and again.json["status"] == "CANCELLED"
    assert stock(cloud, admin_token, sku) == (10, 0) and refunds(cloud, intent) == [total]


def test_a_shipment_and_its_tracking_event_retried_are_recorded_once(cloud: LocalCloud, admin_token: str) -> None:
    token = customer(cloud)
    sku = stock_product(cloud, admin_token, 5)
    cart, _ = cart_with(cloud, sku, 1, token)
    order = checkout(cloud, cart, {}, uuid.uuid4().hex, token).json
    wait_for(cloud, order, "CONFIRMED")
    tracking = "RT" + uuid.uuid4().hex[:12].upper()
    path = f"/admin/orders/{order['orderId']}/shipments"

    def ship() -> Reply:
        return cloud.request("POST", path, body={"carrier": "UPS", "trackingNumber": tracking}, token=admin_token)

    replies = [*at_once(ship), ship()]
    created = [r for r in replies if r.status == 201]
    assert len(created) == 1, [(r.status, r.text) for r in replies]
    assert {r.json["code"] for r in replies if r.status != 201} <= {"duplicate_tracking_number", "conflict"}
    shipments = cloud.request("GET", f"/orders/{order['orderId']}/tracking", token=token).json["shipments"]
    assert [s["trackingNumber"] for s in shipments] == [tracking]

    event = {"status": "IN_TRANSIT", "at": datetime.now(UTC).isoformat(), "location": "Memphis"}
    events_path = f"/admin/shipments/{created[0].json['shipmentId']}/events"

    def record() -> Reply:
        return cloud.request("POST", events_path, body=event, token=admin_token)

    recorded = [*at_once(record), record()]
    assert {r.status for r in recorded} == {200}, [(r.status, r.text) for r in recorded]
    shipments = cloud.request("GET", f"/orders/{order['orderId']}/tracking", token=token).json["shipments"]
    assert [e["status"] for e in shipments[0]["events"]] == ["SHIPPED", "IN_TRANSIT"]
