"""A local cloud killed (SIGKILL to its process group) or stopped (SIGTERM) with orders in flight
resumes every one of them after it starts again on the same state directory, by itself: Step
Functions executions are not restored, so the OrderReconciler (fired when `shopstack up` is
ready, again 15 s later, then every minute; stuck threshold `reconcileStuckAfterSeconds`, 10 s)
must finish what they were doing.

In flight at the kill:
- PAID mid-workflow: 3-D Secure orders authenticated while their capture hangs at Stripe
  (`timeout_after_commit`: Stripe captured, the workflow never heard);
- CANCELLING: a confirmed order cancelled while Stripe hangs its refund, and an unpaid one while
  Stripe hangs its void (the cancellations' requests are still waiting when the cloud dies);
- PENDING_PAYMENT with its expiry due: unpaid 3-D Secure orders whose last change is moved back
  past the reservation window (`reservationTtlSeconds` + the stuck threshold) just before the
  kill, as if the outage had outlasted their reservation (their ReservationExpiry executions
  die with the cloud);
and CONFIRMED orders at rest. The second cloud is not helped: no reconciler is fired by hand.
Within RESUME_BUDGET (60) seconds of its `ready:` every order must be at rest, with the invariants
of `shopstack.lifecycle_checks` holding; the measured time is printed. Orders already past the
stuck threshold at `ready:` are resumed by the firing at start-up, the others by the one 15 s
later.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shopstack import lifecycle_checks as lc
from shopstack.buyer import ADDRESS, buy, stock_product
from shopstack.harness import LocalCloud, start
from shopstack.localcloud.durable import DYNAMODB_FILE
from shopstack.localcloud.tokens import issue_token
from shopstack.waiting import NotMet, eventually

pytestmark = pytest.mark.integration

UNITS = 20
RESUME_BUDGET = 60.0
HANG = {"kind": "timeout_after_commit", "seconds": 300, "next": 20, "method": "POST"}
_CONTEXT = json.loads((Path(__file__).resolve().parents[2] / "cdk.json").read_text())["context"]
RESERVATION_AND_STUCK = _CONTEXT["reservationTtlSeconds"] + _CONTEXT["reconcileStuckAfterSeconds"]


def three_ds(cloud: LocalCloud, sku: str) -> dict[str, Any]:
    cart = cloud.request("POST", "/carts").json
    headers = {"X-Cart-Token": cart["cartToken"]}
    assert (
        cloud.request("PUT", f"/carts/{cart['cartId']}/items/{sku}", body={"quantity": 1}, headers=headers).status
        == 200
    )
    body = {
        "email": "restart@example.com",
        "shippingAddress": ADDRESS,
        "paymentMethod": "pm_card_threeDSecure2Required",
    }
    reply = cloud.request(
        "POST",
        f"/carts/{cart['cartId']}/checkout",
        body=body,
        headers={**headers, "Idempotency-Key": f"restart-{cart['cartId']}"},
    )
    assert reply.status == 201 and reply.json["status"] == "PENDING_PAYMENT", reply.text
    return dict(reply.json)


def wait_status(cloud: LocalCloud, admin: str, order_id: str, wanted: tuple[str, ...], timeout: float = 60) -> str:
    """The order's status once it is one of `wanted`, or the last one seen at the timeout."""
    seen = [""]

    def arrived() -> bool:
        found = lc.order(cloud, admin, order_id)
        seen[0] = found["status"] if found else "MISSING"
        return seen[0] in wanted

    with contextlib.suppress(NotMet):
        eventually(arrived, timeout=timeout, interval=0.3)
    return seen[0]


def backdate(cloud: LocalCloud, order_id: str, seconds: int) -> str:
    """Move the order's last change `seconds` into the past (the outage outlasting its reservation);
    returns the time written."""
    dynamodb = cloud.aws("dynamodb")
    table = next(t for t in dynamodb.list_tables()["TableNames"] if t.endswith("-orders"))
    stamp = (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    dynamodb.update_item(
        TableName=table,
        Key={"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}},
        UpdateExpression="SET updatedAt = :at",
        ConditionExpression="#s = :pending",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":at": {"S": stamp}, ":pending": {"S": "PENDING_PAYMENT"}},
    )
    return stamp


def saved_with(state: Path, *values: str) -> bool:
    """The cloud's last DynamoDB snapshot in `state` holds every one of `values`."""
    try:
        saved = (state / DYNAMODB_FILE).read_text()
    except OSError:
        return False
    return all(value in saved for value in values)


STOPS = ["sigterm", "sigkill"] if os.environ.get("SHOPSTACK_MEMORY_ORDERS") else ["sigterm"]
"""`make test` stops the cloud with SIGTERM (as Ctrl-C does); `make reliability` also kills it."""


@pytest.mark.parametrize("stop", STOPS)
def test_orders_in_flight_at_a_kill_are_resumed_after_a_restart(tmp_path: Path, stop: str) -> None:
    clouds: list[LocalCloud] = []
    try:
        resume_after_restart(tmp_path, stop, clouds)
    except BaseException:
        for number, cloud in enumerate(clouds, 1):
            marks = ("Traceback", "Error", "error", "timed out", "Exception")
            print(f"cloud {number} errors:")
            for line in [line for line in cloud.log if any(m in line for m in marks)][-40:]:
                print(f"  {line[:400]}")
        raise
    finally:
        for error in lc.LISTING_ERRORS:
            print(f"listing retried: {error}")


def resume_after_restart(tmp_path: Path, stop: str, clouds: list[LocalCloud]) -> None:
    state = tmp_path / "state"
    first = start(state_dir=state, ses="production", own_process_group=True)
    clouds.append(first)
    expected: dict[str, str] = {}
    try:
        admin = issue_token(first.base_url, "staff@example.com", admin=True)
        sku = stock_product(first, admin, UNITS)

        confirmed = [buy(first, sku) for _ in range(3)]
        for bought in confirmed:
            assert wait_status(first, admin, bought.order_id, ("CONFIRMED",)) == "CONFIRMED"
        for bought in confirmed[:2]:
            expected[bought.order_id] = "CONFIRMED"

        # CANCELLING (refund): the third confirmed order, cancelled while Stripe hangs refunds.
        refunding = confirmed[2]
        lc.arm_fault(first, path="/v1/refunds", **HANG)
        threading.Thread(
            target=first.request,
            args=("POST", f"/orders/{refunding.order_id}/cancel"),
            kwargs={"headers": refunding.headers},
            daemon=True,
        ).start()
        expected[refunding.order_id] = "CANCELLED"

        # CANCELLING (void): an unpaid order cancelled while Stripe hangs its void.
        voiding = three_ds(first, sku)
        lc.arm_fault(
            first, path=f"/v1/payment_intents/{voiding['payment']['paymentIntentId']}/cancel", exact=True, **HANG
        )
        threading.Thread(
            target=first.request,
            args=("POST", f"/admin/orders/{voiding['orderId']}/cancel"),
            kwargs={"token": admin},
            daemon=True,
        ).start()
        expected[voiding["orderId"]] = "CANCELLED"

        # PAID mid-workflow: authenticated while Stripe hangs the capture.
        paid = [three_ds(first, sku) for _ in range(2)]
        for order in paid:
            intent = order["payment"]["paymentIntentId"]
            lc.arm_fault(first, path=f"/v1/payment_intents/{intent}/capture", exact=True, **HANG)
            code, body = lc.stripe(
                first, "POST", f"/_emulator/payment_intents/{intent}/authenticate", {"outcome": "succeed"}
            )
            assert code == 200, body
            expected[order["orderId"]] = "CONFIRMED"

        # PENDING_PAYMENT, expiry due by the time the cloud is back.
        unpaid = [three_ds(first, sku) for _ in range(2)]
        for order in unpaid:
            expected[order["orderId"]] = "CANCELLED"

        for order_id, wanted in (
            (refunding.order_id, "CANCELLING"),
            (voiding["orderId"], "CANCELLING"),
            *((o["orderId"], "PAID") for o in paid),
        ):
            assert wait_status(first, admin, order_id, (wanted,), timeout=30) == wanted, order_id
        stamps = [backdate(first, order["orderId"], RESERVATION_AND_STUCK + 60) for order in unpaid]
        before = {k: v["status"] for k, v in lc.all_orders(first, admin).items()}
        # what the cloud did is on disk: a snapshot taken after the last of those writes
        eventually(lambda: saved_with(state, *stamps), timeout=15, interval=0.25, what="a snapshot of the backdates")
        stopping = time.monotonic()
        if stop == "sigkill":
            first.kill_group()
        else:
            first.stop(timeout=60)  # SIGTERM, as Ctrl-C: the cloud saves its state and ends its workers
        stopped = time.monotonic() - stopping
    finally:
        if first.process.poll() is None:
            first.kill_group()
    print(f"\nat the {stop} ({stopped:.1f} s to stop): {before}")
    in_flight = {k for k, v in before.items() if v in lc.IN_FLIGHT}
    assert len(in_flight) >= 6, before

    began = time.monotonic()
    second = start(state_dir=state, fresh=False, ses="production", own_process_group=True)
    clouds.append(second)
    try:
        startup = time.monotonic() - began
        ready = time.monotonic()
        admin = issue_token(second.base_url, "staff@example.com", admin=True)
        rested_at: dict[str, float] = {}
        orders: dict[str, Any] = {}

        def all_at_rest() -> bool:
            orders.clear()
            orders.update(lc.all_orders(second, admin))
            for order_id, order in orders.items():
                if order["status"] in lc.AT_REST and order_id not in rested_at:
                    rested_at[order_id] = time.monotonic() - ready
            return all(o["status"] in lc.AT_REST for o in orders.values())

        with contextlib.suppress(NotMet):  # what is not at rest by then is reported below
            eventually(all_at_rest, timeout=RESUME_BUDGET - (time.monotonic() - ready), interval=1)
        elapsed = time.monotonic() - ready
        statuses = {k: v["status"] for k, v in orders.items()}
        print(
            f"restarted in {startup:.0f} s; at rest {max(rested_at.values(), default=0):.0f} s after ready "
            f"(budget {RESUME_BUDGET:.0f} s): "
            + json.dumps({k: [before.get(k), statuses[k], round(rested_at.get(k, -1), 1)] for k in sorted(statuses)})
        )
        print(f"schedules: {[(s['name'], s.get('lastResult')) for s in second.schedules()]}")
        stuck = {k: v for k, v in statuses.items() if v not in lc.AT_REST}
        assert not stuck, f"not at rest {elapsed:.0f} s after ready: {stuck}"
        wrong = {k: (statuses[k], v) for k, v in expected.items() if statuses.get(k) != v}
        assert not wrong, f"ended otherwise than expected (got, expected): {wrong}"
        report = lc.check(second, admin, {sku: UNITS}, orders, known=set(expected))
        assert not report.violations, report.violations
    finally:
        second.kill_group()
