"""The races of an order's life after checkout, each reproduced over HTTP with the Stripe
emulator's faults: a cancel against the void's own webhook, a cancel against the workflow, a
cancel while refunds fail, orders whose workflow or expiry was lost, a payment authorized while
the expiry reads it, concurrent returns and refunds, and webhooks after a refunded cancel."""

from __future__ import annotations

import functools
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shopstack.harness import LocalCloud, Reply
from shopstack.lifecycle_checks import expire_now
from shopstack.waiting import eventually
from tests.integration.test_checkout import add, checkout, emulator, intents_for, inventory, new_cart
from tests.integration.test_orders import buy, view, wait_for

pytestmark = pytest.mark.integration

RECONCILER = "shopstack-dev-order-reconciler"
EVERYTHING_NOW = {"stuckAfterSeconds": 0, "reservationSeconds": 0}


@pytest.fixture(scope="module")
def product(cloud: LocalCloud, admin_token: str) -> Any:
    from shopstack.buyer import stock_product

    return lambda units=10: stock_product(cloud, admin_token, units, price=4000)


@pytest.fixture(autouse=True)
def _no_faults_left(cloud: LocalCloud) -> Any:
    yield
    emulator(cloud, "DELETE", "/_emulator/faults")


def pending(cloud: LocalCloud, sku: str, quantity: int) -> dict[str, Any]:
    """An order waiting for 3-D Secure: PENDING_PAYMENT with its stock reserved."""
    cart, headers = new_cart(cloud)
    assert add(cloud, cart, headers, sku, quantity).status == 200
    reply = checkout(cloud, cart, headers, key=uuid.uuid4().hex, payment_method="pm_card_threeDSecure2Required")
    assert reply.status == 201 and reply.json["status"] == "PENDING_PAYMENT", reply.text
    return reply.json


def cancel(cloud: LocalCloud, order: dict[str, Any]) -> Reply:
    return cloud.request("POST", f"/orders/{order['orderId']}/cancel", headers={"X-Order-Token": order["orderToken"]})


def ship(cloud: LocalCloud, admin_token: str, order: dict[str, Any]) -> Reply:
    body = {"carrier": "UPS", "trackingNumber": uuid.uuid4().hex[:12]}
    return cloud.request("POST", f"/admin/orders/{order['orderId']}/shipments", body=body, token=admin_token)


def fault(cloud: LocalCloud, kind: str, path: str, *, method: str = "POST", count: int = 1, **more: Any) -> None:
    emulator(cloud, "POST", "/_emulator/faults", {"kind": kind, "path": path, "method": method, "next": count, **more})


def counters(cloud: LocalCloud, admin_token: str, sku: str) -> tuple[int, int, int]:
    stock = inventory(cloud, admin_token, sku)
    return stock["onHand"], stock["reserved"], stock["available"]


def emulator_get(cloud: LocalCloud, path: str) -> Any:
    import urllib.request

    request = urllib.request.Request(cloud.stripe_url + path, headers={"Authorization": "Bearer sk_test_local"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def money_kept(cloud: LocalCloud, order_id: str) -> int:
    total = 0
    for intent in intents_for(cloud, order_id):
        full = emulator_get(cloud, f"/v1/payment_intents/{intent['id']}?expand[]=latest_charge")
        charge = full.get("latest_charge") or {}
        total += int(charge.get("amount_captured") or 0) - int(charge.get("amount_refunded") or 0)
    return total


def reconcile(cloud: LocalCloud, payload: dict[str, Any] | None = None) -> dict[str, int]:
    fired = cloud.fire_schedule(RECONCILER, payload or {"stuckAfterSeconds": 0})
    (result,) = fired["results"]
    assert "error" not in result, result
    reconciled: dict[str, int] = result["result"]["reconciled"]
    return reconciled


# --- 1. cancel vs. the void's webhook ------------------------------------------------------------


def stripe_events_about(cloud: LocalCloud, intents: set[str]) -> set[str]:
    """The ids of the emulator's events about these payment intents (their charges' included)."""
    return {
        e["id"]
        for e in emulator_get(cloud, "/v1/events?limit=100")["data"]
        if e["data"]["object"].get("id") in intents or e["data"]["object"].get("payment_intent") in intents
    }


def webhooks_done(cloud: LocalCloud, events: set[str]) -> list[dict[str, Any]] | None:
    """The emulator's webhook deliveries of these events once none is pending (delivered or given up)."""
    deliveries = [d for d in emulator(cloud, "GET", "/_emulator/webhooks")["deliveries"] if d["event_id"] in events]
    return deliveries if deliveries and not any(d["pending"] for d in deliveries) else None


def nothing_on_its_way(cloud: LocalCloud, order: dict[str, Any]) -> bool:
    """Stripe's webhooks about the order's payments are handled and no workflow of it is running."""
    intents = {i["id"] for i in intents_for(cloud, order["orderId"])}
    events = stripe_events_about(cloud, intents)
    if events and webhooks_done(cloud, events) is None:
        return False
    return all(e["status"] != "RUNNING" for e in cloud.executions(order["orderId"]))


def test_a_slow_void_lets_its_webhook_in_first_and_stock_is_released_once(
    cloud: LocalCloud, admin_token: str, product: Any
) -> None:
    sku = product(10)
    other = pending(cloud, sku, 2)  # another customer's reservation, which must stay held
    order = pending(cloud, sku, 3)
    assert counters(cloud, admin_token, sku) == (10, 5, 5)
    intent = order["payment"]["paymentIntentId"]
    # Stripe answers the void a second late: its payment_intent.canceled webhook arrives first.
    fault(cloud, "timeout_after_commit", f"/v1/payment_intents/{intent}/cancel", seconds=1.0)
    reply = cancel(cloud, order)
    assert reply.status == 200 and reply.json["status"] == "CANCELLED", reply.text
    # the canceled event's webhook (it yields to the cancellation) is handled
    eventually(lambda: webhooks_done(cloud, stripe_events_about(cloud, {intent})), timeout=20, interval=0.25)
    assert counters(cloud, admin_token, sku) == (10, 2, 8)
    assert view(cloud, other).json["status"] == "PENDING_PAYMENT"
    assert [i["status"] for i in intents_for(cloud, order["orderId"])] == ["canceled"]
    history = [h["status"] for h in view(cloud, order).json["history"]]
    assert history == ["PENDING_PAYMENT", "CANCELLING", "CANCELLED"]


# --- 2. cancel right after checkout vs. the workflow ---------------------------------------------


def test_a_cancel_racing_the_workflow_ends_cancelled_with_everything_back_or_refused(
    cloud: LocalCloud, admin_token: str, product: Any
) -> None:
    sku = product(40)
    orders = [buy(cloud, sku, 2) for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda o: cancel(cloud, o), orders))
    for order, reply in zip(orders, replies, strict=True):
        assert reply.status == 200, reply.text
        assert reply.json["status"] == "CANCELLED"
        ended = wait_for(cloud, order, "CANCELLED")
        assert ended["status"] == "CANCELLED"
        assert money_kept(cloud, order["orderId"]) == 0
        assert all(i["status"] in ("canceled", "succeeded") for i in intents_for(cloud, order["orderId"]))
        shipped = ship(cloud, admin_token, order)
        assert shipped.status == 409
    for order in orders:  # any workflow still running has compensated, no webhook is on its way
        eventually(functools.partial(nothing_on_its_way, cloud, order), timeout=30, interval=0.25)
    assert counters(cloud, admin_token, sku) == (40, 0, 40)


# --- 3. cancel of a confirmed order while refunds fail --------------------------------------------


def test_a_cancel_while_refunds_fail_answers_202_and_finishes_later_exactly_once(
    cloud: LocalCloud, admin_token: str, product: Any
) -> None:
    sku = product(5)
    order = buy(cloud, sku, 2)
    wait_for(cloud, order, "CONFIRMED")
    assert counters(cloud, admin_token, sku) == (3, 0, 3)
    fault(cloud, "error_500", "/v1/refunds", count=20)
    reply = cancel(cloud, order)
    assert reply.status == 202 and reply.json["status"] == "CANCELLING", reply.text
    assert counters(cloud, admin_token, sku) == (5, 0, 5)  # the goods are back on hand, once
    shipped = ship(cloud, admin_token, order)
    assert shipped.status == 409
    assert cancel(cloud, order).status == 202  # still failing: still CANCELLING, nothing moved twice
    emulator(cloud, "DELETE", "/_emulator/faults")
    again = cancel(cloud, order)
    assert again.status == 200 and again.json["status"] == "CANCELLED"
    assert counters(cloud, admin_token, sku) == (5, 0, 5)
    assert money_kept(cloud, order["orderId"]) == 0
    refunds = emulator_get(cloud, f"/v1/refunds?payment_intent={order['payment']['paymentIntentId']}")["data"]
    assert len(refunds) == 1


# --- 4. orders stranded: cancel cut off, workflow lost, expiry lost ----------------------------


def test_a_cancel_cut_off_at_stripe_is_finished_by_the_reconciler(
    cloud: LocalCloud, admin_token: str, product: Any
) -> None:
    sku = product(4)
    order = pending(cloud, sku, 1)
    intent = order["payment"]["paymentIntentId"]
    fault(cloud, "error_500", f"/v1/payment_intents/{intent}/cancel", count=20)
    reply = cancel(cloud, order)
    assert reply.status == 202 and reply.json["status"] == "CANCELLING"
    assert counters(cloud, admin_token, sku) == (4, 0, 4)
    emulator(cloud, "DELETE", "/_emulator/faults")
    assert reconcile(cloud).get("CANCELLING->CANCELLED", 0) >= 1
    assert view(cloud, order).json["status"] == "CANCELLED"
    assert [i["status"] for i in intents_for(cloud, order["orderId"])] == ["canceled"]
    assert counters(cloud, admin_token, sku) == (4, 0, 4)


def test_a_paid_order_whose_workflow_start_was_lost_is_restarted_and_confirmed(
    cloud: LocalCloud, admin_token: str, product: Any
) -> None:
    sku = product(4)
    # Step Functions refuses every start (ThrottlingException, past botocore's retries): the order
    # is paid, its workflow never starts, and the checkout still answers.
    cloud.set_chaos(stepfunctions=1.0)
    try:
        order = buy(cloud, sku, 1)
    finally:
        state = cloud.set_chaos(stepfunctions=0.0)
    assert state["injected"]["stepfunctions"] >= 1
    assert view(cloud, order).json["status"] == "PAID"
    assert cloud.executions(order["orderId"]) == []
    assert eventually(lambda: cloud.metrics("Shopstack", "WorkflowStartsFailed") or None, timeout=20)
    assert reconcile(cloud).get("PAID->restarted", 0) >= 1
    confirmed = wait_for(cloud, order, "CONFIRMED")
    assert [e["name"] for e in cloud.executions(order["orderId"])] == [f"{order['orderId']}-r1"]
    assert confirmed["invoice"] is not None
    assert counters(cloud, admin_token, sku) == (3, 0, 3)
    assert money_kept(cloud, order["orderId"]) == 4000 + confirmed["shipping"]["amount"] + confirmed["tax"]["amount"]


def test_an_unpaid_order_whose_expiry_was_lost_is_expired_by_the_reconciler(
    cloud: LocalCloud, admin_token: str, product: Any, aws: Any
) -> None:
    sku = product(3)
    order = pending(cloud, sku, 3)
    # Its expiry message (delayed by the reservation) is lost: the queue is purged.
    aws("sqs").purge_queue(QueueUrl=cloud.outputs()["ReservationQueueUrl"])
    assert counters(cloud, admin_token, sku) == (3, 3, 0)
    assert reconcile(cloud, EVERYTHING_NOW).get("PENDING_PAYMENT->CANCELLED", 0) >= 1
    assert view(cloud, order).json["status"] == "CANCELLED"
    assert counters(cloud, admin_token, sku) == (3, 0, 3)
    assert [i["status"] for i in intents_for(cloud, order["orderId"])] == ["canceled"]


# --- 5. a payment authorized while the expiry reads it ---------------------------------------------


def test_a_payment_authorized_while_the_expiry_reads_it_is_honoured_not_voided(
    cloud: LocalCloud, admin_token: str, product: Any, aws: Any
) -> None:
    sku = product(2)
    order = pending(cloud, sku, 1)
    intent = order["payment"]["paymentIntentId"]
    # The expiry's read of the intent is answered 5 s late (with what it read: not authorized);
    # while it waits, the customer authenticates and the webhook pays the order.
    # Webhooks wait meanwhile, so that the hung read is the expiry's, not the webhook handler's.
    emulator(cloud, "POST", "/_emulator/webhooks/pause", {})
    try:
        fault(cloud, "timeout_after_commit", f"/v1/payment_intents/{intent}", method="GET", seconds=5.0, exact=True)
        expire_now(cloud, order["orderId"])
        eventually(
            lambda: any(f["hits"] for f in emulator(cloud, "GET", "/_emulator/faults")["faults"]),
            timeout=20,
            interval=0.05,
            what="the expiry reading the intent",
        )
    finally:
        emulator(cloud, "POST", "/_emulator/webhooks/resume", {})
    emulator(cloud, "POST", f"/_emulator/payment_intents/{intent}/authenticate", {"outcome": "succeed"})
    assert wait_for(cloud, order, "PAID", "CONFIRMED", timeout=4.5)["status"] in ("PAID", "CONFIRMED")
    ended = wait_for(cloud, order, "CONFIRMED", "CANCELLED")
    assert ended["status"] == "CONFIRMED", ended["history"]
    assert [i["status"] for i in intents_for(cloud, order["orderId"])] == ["succeeded"]
    assert counters(cloud, admin_token, sku) == (1, 0, 1)


# --- 6. returns and refunds beyond what was bought -------------------------------------------------


def delivered(cloud: LocalCloud, admin_token: str, order: dict[str, Any]) -> None:
    wait_for(cloud, order, "CONFIRMED")
    shipment = ship(cloud, admin_token, order)
    assert shipment.status == 201, shipment.text
    event = {"status": "DELIVERED", "at": "2026-12-01T10:00:00Z"}
    tracked = cloud.request(
        "POST", f"/admin/shipments/{shipment.json['shipmentId']}/events", body=event, token=admin_token
    )
    assert tracked.status == 200, tracked.text
    wait_for(cloud, order, "DELIVERED")


def return_one(cloud: LocalCloud, order: dict[str, Any], sku: str) -> Reply:
    return cloud.request(
        "POST",
        f"/orders/{order['orderId']}/returns",
        body={"lines": [{"sku": sku, "quantity": 1, "reason": "too small"}]},
        headers={"X-Order-Token": order["orderToken"], "Idempotency-Key": uuid.uuid4().hex},
    )


@pytest.mark.parametrize("already_returning", [False, True])
def test_concurrent_returns_never_return_more_than_was_bought(
    cloud: LocalCloud, admin_token: str, product: Any, already_returning: bool
) -> None:
    sku, other = product(5), product(5)
    cart, headers = new_cart(cloud)
    add(cloud, cart, headers, sku, 1)
    add(cloud, cart, headers, other, 1)
    order = checkout(cloud, cart, headers, key=uuid.uuid4().hex).json
    delivered(cloud, admin_token, order)
    if already_returning:
        assert return_one(cloud, order, other).status == 201
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda _: return_one(cloud, order, sku), range(4)))
    assert sorted(r.status for r in replies) == [201, 422, 422, 422], [r.text for r in replies]
    returned = [r for r in view(cloud, order).json["returns"] if r["lines"][0]["sku"] == sku]
    assert len(returned) == 1

    refund = returned[0]["returnId"]
    with ThreadPoolExecutor(3) as pool:
        refunds = list(
            pool.map(
                lambda n: cloud.request(
                    "POST",
                    f"/admin/returns/{refund}/refund",
                    body={"restock": True},
                    token=admin_token,
                    headers={"Idempotency-Key": f"{refund}-{n}"},
                ),
                range(3),
            )
        )
    assert all(r.status in (200, 409) for r in refunds), [r.text for r in refunds]
    assert any(r.status == 200 for r in refunds)
    intent = order["payment"]["paymentIntentId"]
    stripe_refunds = emulator_get(cloud, f"/v1/refunds?payment_intent={intent}")["data"]
    assert len(stripe_refunds) == 1
    assert counters(cloud, admin_token, sku)[0] == 5  # restocked once: 5 - 1 sold + 1 back


# --- 7. webhooks after a cancel that refunded a captured payment ------------------------------


def test_webhooks_after_a_refunded_cancel_are_answered_and_void_nothing(
    cloud: LocalCloud, admin_token: str, product: Any
) -> None:
    sku = product(3)
    order = buy(cloud, sku, 1)
    wait_for(cloud, order, "CONFIRMED")
    assert cancel(cloud, order).json["status"] == "CANCELLED"
    intent = order["payment"]["paymentIntentId"]
    events = stripe_events_about(cloud, {intent})
    assert events, "Stripe sent no event for the intent"
    deliveries = eventually(lambda: webhooks_done(cloud, events), timeout=20, interval=0.5)
    assert deliveries and all(d["delivered"] for d in deliveries), deliveries
    refused = [a for d in deliveries for a in d["history"] if a["status"] != 200]
    assert refused == []
    assert [i["status"] for i in intents_for(cloud, order["orderId"])] == ["succeeded"]
    assert money_kept(cloud, order["orderId"]) == 0
