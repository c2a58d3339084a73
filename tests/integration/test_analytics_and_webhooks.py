"""The merchant's reports, replay and outbound webhooks over HTTP, on a local cloud of their own
(exact numbers need a shop where nothing else happens): a few orders (one refunded, one cart
abandoned) show exactly in today's sales, top products and funnel; replaying the day twice
changes no report; a receiver registered for OrderConfirmed gets one signed delivery per order,
also when its first attempt answered 503, while a receiver that never answers slows no other
and ends in the dead-letter queue."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from shopstack.buyer import buy, stock_product, wait_until
from shopstack.harness import LocalCloud
from shopstack.localcloud.tokens import issue_token
from shopstack.waiting import eventually
from tests.conftest import suite_cloud

pytestmark = pytest.mark.integration

TODAY = datetime.now(UTC).date().isoformat()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    running = suite_cloud(tmp_path_factory.mktemp("shop"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def staff(shop: LocalCloud) -> str:
    return issue_token(shop.base_url, "staff@example.com", admin=True)


@pytest.fixture(scope="module")
def everything(shop: LocalCloud, staff: str) -> Iterator[Receiver]:
    """A receiver of every event, registered before anything happens in the shop."""
    receiver = Receiver()
    created = shop.request("POST", "/admin/webhooks", body={"url": receiver.url, "events": ["*"]}, token=staff)
    assert created.status == 201, created.text
    yield receiver
    receiver.close()


def report(shop: LocalCloud, staff: str, name: str, **query: str) -> dict[str, Any]:
    params = "&".join(f"{k}={v}" for k, v in {"from": TODAY, "to": TODAY, **query}.items())
    reply = shop.request("GET", f"/admin/analytics/{name}?{params}", token=staff)
    assert reply.status == 200, reply.text
    body: dict[str, Any] = reply.json
    return body


def queues_drained(shop: LocalCloud, *outputs: str) -> bool:
    found = shop.outputs()
    return urls_drained(shop, *(found[key] for key in outputs))


def urls_drained(shop: LocalCloud, *urls: str) -> bool:
    """No message waiting or in flight on any of the queues (delayed ones are not counted)."""
    sqs = shop.aws("sqs")
    for url in urls:
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        if any(int(v) for v in attributes.values()):
            return False
    return True


def queue_url(shop: LocalCloud, logical_prefix: str) -> str:
    """The URL of the deployed queue whose logical id starts with `logical_prefix`."""
    cfn = shop.aws("cloudformation")
    for stack in cfn.describe_stacks()["Stacks"]:
        for res in cfn.list_stack_resources(StackName=stack["StackName"])["StackResourceSummaries"]:
            if res["ResourceType"] == "AWS::SQS::Queue" and res["LogicalResourceId"].startswith(logical_prefix):
                return str(res["PhysicalResourceId"])
    raise AssertionError(f"no queue {logical_prefix}* deployed")


def test_reports_show_exactly_todays_orders_refunds_and_abandoned_cart_and_a_replay_changes_none(
    shop: LocalCloud, staff: str, everything: Receiver
) -> None:
    mug, lamp = stock_product(shop, staff, 10, price=1500), stock_product(shop, staff, 5, price=2500)
    ada = issue_token(shop.base_url, "ada@example.com")
    first = buy(shop, mug, 2, token=ada, email="ada@example.com")
    guest = buy(shop, lamp, 1, email="guest@example.com")
    again = buy(shop, mug, 1, token=ada, email="ada@example.com")
    assert set(wait_until(shop, [first, guest, again]).values()) == {"CONFIRMED"}
    cancelled = shop.request("POST", f"/admin/orders/{guest.order_id}/cancel", token=staff)
    assert cancelled.status in (200, 202), cancelled.text
    assert wait_until(shop, [guest], ("CANCELLED",))[guest.order_id] == "CANCELLED"

    left = shop.request("POST", "/carts", token=ada).json  # a cart left with an item in it
    put = shop.request("PUT", f"/carts/{left['cartId']}/items/{mug}", body={"quantity": 1}, token=ada)
    assert put.status == 200, put.text

    totals = {b.order_id: int(b.order["total"]["amount"]) for b in (first, guest, again)}
    gross, refunded = sum(totals.values()), totals[guest.order_id]

    def sales_done() -> dict[str, Any] | None:
        usd = report(shop, staff, "sales")["totals"].get("usd", {})
        return usd if usd.get("orders") == 3 and usd.get("refundCount") == 1 else None

    usd = eventually(sales_done, timeout=60)
    assert usd["gross"] == usd["revenue"] == gross
    assert (usd["refunds"], usd["netRevenue"]) == (refunded, gross - refunded)
    assert (usd["units"], usd["averageOrderValue"]) == (4, gross // 3)
    assert (usd["newCustomers"], usd["returningCustomers"]) == (2, 1)

    top = report(shop, staff, "products", by="units")["currencies"]["usd"]
    assert [(p["sku"], p["units"], p["revenue"], p["refunds"]) for p in top] == [
        (mug, 3, 4500, 0),
        (lamp, 1, 2500, 2500),
    ]

    eventually(lambda: report(shop, staff, "funnel")["cartsWithItems"] == 4, timeout=30)  # the left cart's too
    swept = shop.fire_schedule("shopstack-dev-abandoned-cart-sweep", {"abandonedCartMinutes": 0})
    assert swept["results"][0].get("result") == {"abandoned": 1}, swept
    funnel = report(shop, staff, "funnel")
    assert {k: funnel[k] for k in ("cartsCreated", "cartsWithItems", "checkoutsStarted", "ordersPaid")} == {
        "cartsCreated": 4,
        "cartsWithItems": 4,
        "checkoutsStarted": 3,
        "ordersPaid": 3,
    }
    assert (funnel["ordersShipped"], funnel["abandonedCarts"]) == (0, 1)
    assert funnel["conversion"]["cartsWithItemsToCheckoutsStarted"] == 0.75
    listed = report(shop, staff, "abandoned-carts")["items"]
    assert [(c["cartId"], c["email"]) for c in listed] == [(left["cartId"], "ada@example.com")]

    from shopstack.replay import replay

    before = [report(shop, staff, name) for name in ("sales", "products", "funnel")]
    for _ in range(2):
        done = replay(endpoint=shop.base_url, start=TODAY, end=TODAY, rule=None)
        assert done["State"] == "COMPLETED", done  # once its events are on the queues (hooks.py)
        eventually(lambda: queues_drained(shop, "AnalyticsQueueUrl"), timeout=60)  # and now handled
    assert [report(shop, staff, name) for name in ("sales", "products", "funnel")] == before


class Receiver:
    """A webhook receiver on loopback: answers each request with the next scripted status, or
    holds it `hang` seconds (longer than the sender waits) when the script says None.

    Once `follow(order_id)` is called, deliveries about other orders (an earlier test's events
    still on their way, a replay's) are answered 200 and neither recorded nor scripted; until
    then a delivery waits for it."""

    def __init__(self, *script: int | None, hang: float = 8.0, follows: bool = False) -> None:
        self.script, self.hang = list(script), hang
        self.received: list[tuple[float, dict[str, str], bytes]] = []
        self.order_id: str | None = None
        self.followed = threading.Event()
        if not follows:
            self.followed.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.followed.wait(30)
                if receiver.order_id and json.loads(body).get("data", {}).get("orderId") != receiver.order_id:
                    self.send_response(200)
                    self.end_headers()
                    return
                receiver.received.append((time.monotonic(), dict(self.headers.items()), body))
                status = receiver.script.pop(0) if receiver.script else 200
                if status is None:
                    time.sleep(receiver.hang)
                    return
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"thanks" if status < 300 else b"try later")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def follow(self, order_id: str) -> None:
        self.order_id = order_id
        self.followed.set()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def ours(deliveries: list[dict[str, Any]], receiver: Receiver) -> list[dict[str, Any]]:
    """The deliveries of the events the receiver recorded (those about the order it follows)."""
    events = {json.loads(body)["id"] for _, _, body in receiver.received}
    return [d for d in deliveries if d["eventId"] in events]


def test_a_receiver_gets_one_signed_delivery_per_order_a_dead_one_slows_no_other_and_ends_in_the_dlq(
    shop: LocalCloud, staff: str
) -> None:
    from integrations.domain.webhooks import verify

    flaky, dead = Receiver(503, 200, 200, follows=True), Receiver(*[None] * 3, follows=True)
    try:
        body = {"url": flaky.url, "events": ["OrderConfirmed"], "description": "ERP"}
        created = shop.request("POST", "/admin/webhooks", body=body, token=staff)
        assert created.status == 201, created.text
        hook, secret = created.json["webhookId"], created.json["secret"]
        dead_hook = shop.request(
            "POST", "/admin/webhooks", body={"url": dead.url, "events": ["OrderConfirmed"]}, token=staff
        ).json["webhookId"]

        order = buy(shop, stock_product(shop, staff, 2), 1)
        flaky.follow(order.order_id)
        dead.follow(order.order_id)
        assert wait_until(shop, [order])[order.order_id] == "CONFIRMED"
        eventually(lambda: len(flaky.received) >= 1 and len(dead.received) >= 1, timeout=30)
        assert abs(flaky.received[0][0] - dead.received[0][0]) < 3, "the hanging receiver delayed the other"

        eventually(lambda: len(flaky.received) >= 2, timeout=60)  # the retry after about 10 s
        (_, first_headers, first_body), (_, headers, delivered) = flaky.received[:2]
        assert (
            first_body == delivered and first_headers["X-Shopstack-Delivery-Id"] == headers["X-Shopstack-Delivery-Id"]
        )
        assert headers["X-Shopstack-Event-Type"] == "OrderConfirmed"
        assert verify(secret, headers["X-Shopstack-Signature"], delivered, now=int(time.time()))
        payload = json.loads(delivered)
        assert payload["type"] == "OrderConfirmed" and payload["data"]["orderId"] == order.order_id
        assert payload["id"] == headers["X-Shopstack-Event-Id"]

        log = ours(shop.request("GET", f"/admin/webhooks/{hook}/deliveries", token=staff).json["items"], flaky)
        assert len(log) == 1 and log[0]["status"] == "DELIVERED"
        assert [(a["statusCode"], a["response"]) for a in log[0]["attempts"]] == [(503, "try later"), (200, "thanks")]
        # What would carry a duplicate (the event again, its delivery again) is handled: the
        # fan-out's queue and the delivery queue hold nothing waiting or in flight (the dead
        # receiver's next attempt is a delayed message)
        carriers = (queue_url(shop, "WebhookEventsQueue"), shop.outputs()["WebhookDeliveryQueueUrl"])
        eventually(lambda: urls_drained(shop, *carriers), timeout=60)
        assert len(flaky.received) == 2, "one delivery per order"

        # The dead receiver: its first attempt timed out; the schedule's later attempts (hours
        # apart) are queued here as the schedule would queue them, against a closed port.
        dead.close()
        (delivery,) = ours(
            shop.request("GET", f"/admin/webhooks/{dead_hook}/deliveries", token=staff).json["items"], dead
        )
        assert delivery["attempts"][0]["statusCode"] is None and delivery["status"] == "PENDING"
        outputs, sqs = shop.outputs(), shop.aws("sqs")
        from integrations.domain.webhooks import SCHEDULE_SECONDS

        for attempt in range(2, len(SCHEDULE_SECONDS) + 2):

            def attempted(number: int = attempt) -> bool:
                items = shop.request("GET", f"/admin/webhooks/{dead_hook}/deliveries", token=staff).json["items"]
                return len(ours(items, dead)[0]["attempts"]) >= number

            message = {"deliveryId": delivery["deliveryId"], "attempt": attempt, "due": "2000-01-01T00:00:00.000Z"}
            sqs.send_message(QueueUrl=outputs["WebhookDeliveryQueueUrl"], MessageBody=json.dumps(message))
            eventually(attempted, timeout=30)
        (exhausted,) = ours(
            shop.request("GET", f"/admin/webhooks/{dead_hook}/deliveries", token=staff).json["items"], dead
        )
        assert exhausted["status"] == "EXHAUSTED" and len(exhausted["attempts"]) == len(SCHEDULE_SECONDS) + 1
        dead_letters = sqs.receive_message(
            QueueUrl=outputs["WebhookDeliveryDeadLetterQueueUrl"], MaxNumberOfMessages=10
        ).get("Messages", [])
        assert [json.loads(m["Body"])["deliveryId"] for m in dead_letters] == [delivery["deliveryId"]]
    finally:
        flaky.close()
        if dead.server.socket.fileno() != -1:
            dead.close()


def test_staff_are_told_when_a_subscription_is_disabled(shop: LocalCloud) -> None:
    """The delivery function announces a disabled subscription (tests/unit/test_webhooks_service.py);
    here the announcement reaches the staff alerts topic, as its email subscribers would get it."""
    sqs, sns, outputs = shop.aws("sqs"), shop.aws("sns"), shop.outputs()
    inbox = sqs.create_queue(QueueName="staff-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=outputs["StaffAlertsTopicArn"], Protocol="sqs", Endpoint=inbox_arn)
    data = {"webhookId": "wh-1", "url": "https://hooks.example.com/in", "failingSince": "t0", "disabledAt": "t1"}
    detail = {"id": "disabled-wh-1", "occurredAt": datetime.now(UTC).isoformat(), "data": data}
    shop.aws("events").put_events(
        Entries=[
            {
                "EventBusName": outputs["EventBusName"],
                "Source": "shopstack.integrations",
                "DetailType": "WebhookDisabled",
                "Detail": json.dumps({**detail, "metadata": {"correlationId": "wh-1"}}),
            }
        ]
    )

    def told() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(json.loads(m["Body"])["Message"]) for m in messages]

    (alert,) = eventually(told, timeout=15)
    assert alert["detail-type"] == "WebhookDisabled" and alert["detail"]["data"]["url"] == data["url"]


def test_every_event_the_shop_published_matches_its_schema(everything: Receiver) -> None:
    from jsonschema import Draft202012Validator

    from tests.unit.test_event_schemas import EVENTS

    received = [json.loads(body) for _, _, body in everything.received]
    types = {event["type"] for event in received}
    assert {"CartCreated", "CartUpdated", "CheckoutStarted", "OrderConfirmed", "OrderCancelled"} <= types, types
    for event in received:
        schema = json.loads((EVENTS / f"{event['type']}.schema.json").read_text())["properties"]["data"]
        Draft202012Validator(schema).validate(event["data"])
    assert len({event["id"] for event in received}) == len(received), "one delivery per event, replays included"
