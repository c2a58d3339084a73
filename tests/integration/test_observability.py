"""What an operator reads about an order: its functions' logs, all under the correlation id of
the checkout request, with no personal data or secret in any line, and its trace."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from shopstack.harness import LocalCloud
from shopstack.waiting import eventually
from tests.integration.test_checkout import ADDRESS, add, new_cart
from tests.integration.test_orders import mail_to, product, wait_for
from tests.integration.test_returns import ask_return, deliver

pytestmark = pytest.mark.integration
__all__ = ["product"]

WORKFLOW_STEPS = ["CapturePayment", "CommitStock", "IssueInvoice", "RequestFulfilment", "ConfirmOrder"]
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z0-9.-]+")
LONG_NUMBER = re.compile(r"(?<![\w.])\d{13,19}(?![\w.])")
"""A card-like number stands alone: a run of digits inside a hex id (an order id, a trace id) is not one."""


def _buy(cloud: LocalCloud, sku: str, email: str, correlation_id: str) -> dict[str, Any]:
    cart, headers = new_cart(cloud)
    assert add(cloud, cart, headers, sku, 2).status == 200
    reply = cloud.request(
        "POST",
        f"/carts/{cart}/checkout",
        body={"email": email, "shippingAddress": ADDRESS, "paymentMethod": "pm_card_visa"},
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex, "X-Correlation-Id": correlation_id},
    )
    assert reply.status == 201, reply.text
    assert reply.headers.get("x-correlation-id") == correlation_id
    return {**reply.json, "cartToken": headers["X-Cart-Token"]}


def test_a_confirmed_orders_trace_shows_checkout_payment_each_step_its_events_and_email(
    cloud: LocalCloud, product: Any
) -> None:
    correlation = f"trace-{uuid.uuid4().hex}"
    email = f"trace-{uuid.uuid4().hex[:8]}@example.com"
    order = _buy(cloud, product(5), email, correlation)
    wait_for(cloud, order, "CONFIRMED")
    eventually(lambda: mail_to(cloud, email) or None, timeout=30)

    def complete() -> dict[str, Any] | None:
        traced = cloud.trace(order["orderId"])
        kinds = {(step["kind"], step["what"]) for step in traced["timeline"]}
        wanted = {("event", "OrderConfirmed"), *(("state", name) for name in WORKFLOW_STEPS)}
        return traced if wanted <= kinds and any(s["kind"] == "email" for s in traced["timeline"]) else None

    traced = eventually(complete, timeout=30)
    assert traced["correlationId"] == correlation
    timeline = traced["timeline"]
    logs = [step for step in timeline if step["kind"] == "log"]
    along = {"CheckoutApi", "OrderTasks", "OrderEventsPublisher", "FulfilmentConsumer", "OrderNotifications"}
    assert along <= {step["who"] for step in logs}, {step["who"] for step in logs}
    correlations = {step["fields"].get("correlationId") for step in logs if step["who"] in along}
    assert correlations == {correlation}, "one id across every function the order went through"
    events = [step["what"] for step in timeline if step["kind"] == "event"]
    assert events.index("CheckoutStarted") < events.index("PaymentAuthorized") < events.index("OrderConfirmed")
    states = [step["what"] for step in timeline if step["kind"] == "state"]
    assert [s for s in states if s in WORKFLOW_STEPS] == WORKFLOW_STEPS, "each workflow step, in order"
    kinds = {step["fields"]["type"] for step in timeline if step["kind"] == "state" and step["what"] in WORKFLOW_STEPS}
    assert kinds == {"Task"}, kinds
    offsets = [step["offsetMs"] for step in timeline]
    assert offsets == sorted(offsets), "a timeline, oldest first"


def test_a_whole_order_lifecycle_logs_no_email_card_number_token_or_secret(
    cloud: LocalCloud, admin_token: str, shopper_token: str, product: Any
) -> None:
    after = max((line["seq"] for line in cloud.logs(limit=100_000)), default=0)
    email = f"private-{uuid.uuid4().hex[:8]}@example.com"
    correlation = f"lifecycle-{uuid.uuid4().hex}"
    order = _buy(cloud, product(5), email, correlation)
    deliver(cloud, admin_token, order)
    placed = cloud.request("GET", f"/orders/{order['orderId']}", headers={"X-Order-Token": order["orderToken"]}).json
    lines = [{"sku": placed["lines"][0]["sku"], "quantity": 1, "reason": "too big"}]
    returned = ask_return(cloud, order, lines, key=uuid.uuid4().hex)
    assert returned.status == 201, returned.text
    refund = cloud.request(
        "POST",
        f"/admin/returns/{returned.json['returnId']}/refund",
        body={"restock": True},
        token=admin_token,
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert refund.status == 200, refund.text
    assert cloud.request("GET", "/orders", token=shopper_token).status == 200
    eventually(lambda: len(mail_to(cloud, email)) >= 3 or None, timeout=30)
    wait_for(cloud, order, "RETURNED", "PARTIALLY_REFUNDED", "REFUNDED", "DELIVERED")

    logged = cloud.logs(after=after, limit=100_000)
    assert any(line.get("correlationId") == correlation for line in logged), "the lifecycle was logged"
    assert any(line["function"] == "OrderNotifications" for line in logged), "its emails were logged"
    text = "\n".join(str(line.get("json") or line.get("text") or "") for line in logged)
    secrets = [email, order["orderToken"], order["cartToken"], admin_token, shopper_token]
    for secret in [*secrets, "sk_test_", "whsec_", "_secret_", "eyJ", "4242424242424242"]:
        assert secret not in text, f"{secret[:12]}... appears in the logs"
    assert not EMAIL.findall(text), EMAIL.findall(text)[:3]
    assert not LONG_NUMBER.findall(text), LONG_NUMBER.findall(text)[:3]
