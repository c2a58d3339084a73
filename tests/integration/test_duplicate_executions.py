"""At-least-once, proven: the order workflow is Express (a start may run twice, and a second start
with the same name runs a second execution) and the reservation expiry is an SQS message (which
may arrive twice). Every effect must still happen exactly once."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shopstack.harness import LocalCloud
from shopstack.lifecycle_checks import expire_now
from shopstack.waiting import eventually
from tests.integration.test_checkout import ADDRESS, add, intents_for, new_cart
from tests.integration.test_order_races import counters, money_kept, pending
from tests.integration.test_orders import mail_to, product, view, wait_for

pytestmark = pytest.mark.integration
__all__ = ["product"]

COPIES = 3


def _paid_without_a_workflow(cloud: LocalCloud, sku: str, email: str) -> dict[str, Any]:
    """A paid order whose workflow never started (Step Functions refused the start)."""
    cart, headers = new_cart(cloud)
    assert add(cloud, cart, headers, sku, 2).status == 200
    cloud.set_chaos(stepfunctions=1.0)
    try:
        reply = cloud.request(
            "POST",
            f"/carts/{cart}/checkout",
            body={"email": email, "shippingAddress": ADDRESS, "paymentMethod": "pm_card_visa"},
            headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
        )
    finally:
        cloud.set_chaos(stepfunctions=0.0)
    assert reply.status == 201 and reply.json["status"] == "PAID", reply.text
    assert cloud.executions(reply.json["orderId"]) == []
    return dict(reply.json)


def _machine(aws: Any) -> str:
    machines = aws("stepfunctions").list_state_machines()["stateMachines"]
    (machine,) = [m for m in machines if m["name"].endswith("-OrderWorkflow")]
    assert machine["type"] == "EXPRESS"
    return str(machine["stateMachineArn"])


def test_the_same_orders_workflow_run_three_times_at_once_does_everything_once(
    cloud: LocalCloud, admin_token: str, product: Any, aws: Any
) -> None:
    sku = product(5)
    email = f"dup-{uuid.uuid4().hex[:8]}@example.com"
    order = _paid_without_a_workflow(cloud, sku, email)
    order_id = order["orderId"]
    sfn, machine = aws("stepfunctions"), _machine(aws)
    payload = json.dumps({"orderId": order_id})

    def start(_: int) -> str:
        return str(sfn.start_execution(stateMachineArn=machine, name=order_id, input=payload)["executionArn"])

    with ThreadPoolExecutor(COPIES) as pool:
        arns = list(pool.map(start, range(COPIES)))
    assert len(set(arns)) == COPIES, "Express: a start with the same name is another execution"
    with pytest.raises(sfn.exceptions.StateMachineTypeNotSupported):
        sfn.describe_execution(executionArn=arns[0])

    def finished() -> list[dict[str, Any]] | None:
        runs = cloud.executions(order_id)
        return runs if len(runs) == COPIES and all(r["status"] != "RUNNING" for r in runs) else None

    runs = eventually(finished, timeout=90)
    assert [r["status"] for r in runs] == ["SUCCEEDED"] * COPIES, [(r["status"], r["error"], r["cause"]) for r in runs]
    assert all("Compensate" not in {s["name"] for s in r["states"]} for r in runs), "no copy compensated"

    confirmed = wait_for(cloud, order, "CONFIRMED")
    assert [h["status"] for h in confirmed["history"]].count("CONFIRMED") == 1
    assert counters(cloud, admin_token, sku) == (3, 0, 3), "the stock was committed once"
    assert money_kept(cloud, order_id) == confirmed["total"]["amount"], "captured once, nothing refunded"
    assert [i["status"] for i in intents_for(cloud, order_id)] == ["succeeded"]
    invoice = view(cloud, order, "/invoice")
    assert invoice.status == 200 and invoice.json["invoiceNumber"] in json.dumps(confirmed["invoice"])
    eventually(lambda: len(mail_to(cloud, email)) >= 1 or None, timeout=30)
    timeline = cloud.trace(order_id)["timeline"]
    confirmations = [e for e in timeline if e["kind"] == "event" and e["what"] == "OrderConfirmed"]
    assert len(confirmations) == 1, confirmations
    assert len([m for m in mail_to(cloud, email) if order_id in m["subject"]]) == 1, "one confirmation email"


def test_an_expiry_delivered_twice_at_once_cancels_once_and_releases_the_stock_once(
    cloud: LocalCloud, admin_token: str, product: Any
) -> None:
    sku = product(4)
    order = pending(cloud, sku, 3)
    assert counters(cloud, admin_token, sku) == (4, 3, 1)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: expire_now(cloud, order["orderId"]), range(2)))
    assert wait_for(cloud, order, "CANCELLED")["status"] == "CANCELLED"
    assert eventually(lambda: counters(cloud, admin_token, sku) == (4, 0, 4) or None, timeout=20)
    assert [i["status"] for i in intents_for(cloud, order["orderId"])] == ["canceled"]
    history = [h["status"] for h in view(cloud, order).json["history"]]
    assert history.count("CANCELLED") == 1, history
