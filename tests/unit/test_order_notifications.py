"""Customer emails sent from the order events (the OrderNotifications consumer), never from the
workflow: a refused send leaves the order as it is and is retried by the queue."""

from __future__ import annotations

import json
from typing import Any

import pytest

from commerce.orders import OrderStatus
from orders import service
from orders.domain.model import PaymentState, TrackingEvent, TrackingStatus
from orders.entrypoints import on_notify
from tests.unit.apigw import Context
from tests.unit.orders_fakes import make_orders, paid_order
from tests.unit.test_orders_service import compensate, run_workflow


def subjects(parts: dict[str, Any]) -> list[str]:
    return [m.subject for m in parts["mailer"].sent]


def test_a_refused_confirmation_email_leaves_the_order_confirmed_and_captured_once() -> None:
    deps, parts = make_orders(paid_order())
    parts["mailer"].refuse = "MessageRejected: Email address is not verified."
    run_workflow(deps)
    order = parts["store"].orders["o1"]
    assert order.status is OrderStatus.CONFIRMED and order.payment_state is PaymentState.CAPTURED
    assert parts["payments"].captured == ["pi_o1"] and parts["money"].released == []
    with pytest.raises(RuntimeError, match="MessageRejected"):
        service.notify(deps, "OrderConfirmed", {"orderId": "o1"})
    assert parts["store"].orders["o1"].emails == {} and parts["store"].orders["o1"].status is OrderStatus.CONFIRMED
    parts["mailer"].refuse = None
    assert service.notify(deps, "OrderConfirmed", {"orderId": "o1"}) == ["confirmation"]
    assert service.notify(deps, "OrderConfirmed", {"orderId": "o1"}) == [], "a redelivered event sends nothing"
    assert subjects(parts) == ["shopstack: order o1 confirmed"]


def test_a_cancellation_after_payment_is_mailed_once_with_its_reason() -> None:
    deps, parts = make_orders(paid_order())
    service.capture_payment(deps, "o1")
    compensate(deps, "CANCELLED", "cancelled by customer")
    assert service.notify(deps, "OrderCancelled", {"orderId": "o1", "reason": "cancelled by customer"}) == [
        "cancellation"
    ]
    service.notify(deps, "OrderCancelled", {"orderId": "o1"})
    assert subjects(parts) == ["shopstack: order o1 was cancelled"]
    assert "cancelled by customer" in parts["mailer"].sent[0].text


def test_unpaid_and_cancelled_orders_get_no_confirmation_and_unpaid_ones_no_cancellation() -> None:
    unpaid = paid_order(status=OrderStatus.CANCELLED, history=({"status": "PENDING_PAYMENT"}, {"status": "CANCELLED"}))
    deps, parts = make_orders(unpaid)
    assert service.notify(deps, "OrderCancelled", {"orderId": "o1"}) == []
    assert service.notify(deps, "OrderConfirmed", {"orderId": "o1"}) == []
    assert service.notify(deps, "OrderConfirmed", {"orderId": "unknown"}) == []
    erased = paid_order("o2", status=OrderStatus.CONFIRMED, email="erased@invalid")
    deps, parts = make_orders(erased)
    assert service.notify(deps, "OrderConfirmed", {"orderId": "o2"}) == [] and parts["mailer"].tries == 0


def test_every_shipment_is_mailed_once_and_the_delivery_once() -> None:
    deps, parts = make_orders(paid_order())
    run_workflow(deps)
    first = service.create_shipment(deps, "o1", carrier="UPS", tracking_number="1Z999")
    second = service.create_shipment(deps, "o1", carrier="DHL", tracking_number="JD0002")
    assert parts["mailer"].tries == 0
    shipped = {"orderId": "o1", "status": "SHIPPED"}
    assert service.notify(deps, "ShipmentUpdated", {**shipped, "shipmentId": first.shipment_id}) == [
        f"shipped-{first.shipment_id}"
    ]
    assert service.notify(deps, "OrderShipped", {"orderId": "o1"}) == [f"shipped-{second.shipment_id}"]
    assert service.notify(deps, "ShipmentUpdated", {**shipped, "shipmentId": second.shipment_id}) == []
    assert service.notify(deps, "ShipmentUpdated", {"orderId": "o1", "status": "IN_TRANSIT"}) == []
    for shipment in (first, second):
        service.record_tracking(deps, shipment, TrackingEvent(TrackingStatus.DELIVERED, "2030-01-03T00:00:00Z"))
    assert parts["store"].orders["o1"].status is OrderStatus.DELIVERED
    assert service.notify(deps, "OrderDelivered", {"orderId": "o1"}) == ["delivered"]
    assert subjects(parts) == [
        "shopstack: order o1 has shipped",
        "shopstack: order o1 has shipped",
        "shopstack: order o1 was delivered",
    ]


def test_retries_back_off_and_the_last_receive_goes_to_the_dlq_at_once() -> None:
    assert [on_notify.retry_delay(n, 5) for n in range(1, 7)] == [2, 4, 8, 16, 0, 0]
    assert on_notify.retry_delay(12, 20) == on_notify.RETRY_MAX_SECONDS


def _sqs_event(*events: dict[str, Any], receive_count: int = 1) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{i}",
                "receiptHandle": f"rh{i}",
                "body": json.dumps(event),
                "attributes": {"ApproximateReceiveCount": str(receive_count)},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:notifications",
                "awsRegion": "us-east-1",
            }
            for i, event in enumerate(events)
        ]
    }


def _bridge(name: str, order_id: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "e1",
        "source": "shopstack.orders",
        "detail-type": name,
        "detail": {"id": "x", "occurredAt": "2030-01-01T00:00:00Z", "data": {"orderId": order_id}, "metadata": {}},
    }


class FakeRetryLater:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []

    def later(self, queue_url: str, receipt_handle: str, seconds: int) -> None:
        self.calls.append((queue_url, receipt_handle, seconds))


def test_the_consumer_reports_only_the_failed_record_and_backs_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    good = paid_order("o1", status=OrderStatus.CONFIRMED)
    bad = paid_order("o2", status=OrderStatus.CONFIRMED, email="unverified@example.com")
    deps, parts = make_orders(good, bad)

    class PickyMailer:
        def send(self, email: Any) -> None:
            if email.to == "unverified@example.com":
                raise RuntimeError("MessageRejected: Email address is not verified.")
            parts["mailer"].sent.append(email)

    deps = service.Orders(**{**deps.__dict__, "mailer": PickyMailer()})
    retry = FakeRetryLater()
    monkeypatch.setattr(on_notify.bootstrap, "orders", lambda: deps)
    monkeypatch.setattr(on_notify.bootstrap, "retry_later", lambda: retry)
    event = _sqs_event(_bridge("OrderConfirmed", "o1"), _bridge("OrderConfirmed", "o2"), receive_count=2)
    result = on_notify.handler(event, Context("OrderNotifications"))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert retry.calls == [("https://sqs.us-east-1.amazonaws.com/000000000000/notifications", "rh1", 4)]
    assert subjects(parts) == ["shopstack: order o1 confirmed"]


def test_failed_sends_are_counted_as_emf_metrics(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Shopstack")
    bad = paid_order("o2", status=OrderStatus.CONFIRMED)
    deps, parts = make_orders(bad)
    parts["mailer"].refuse = "MessageRejected"
    monkeypatch.setattr(on_notify.bootstrap, "orders", lambda: deps)
    monkeypatch.setattr(on_notify.bootstrap, "retry_later", lambda: FakeRetryLater())
    capsys.readouterr()
    on_notify.handler(_sqs_event(_bridge("OrderConfirmed", "o2"), receive_count=5), Context("OrderNotifications"))
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    names = [n["Name"] for m in metrics for n in m["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    assert names == [on_notify.FAILED_METRIC, on_notify.DEAD_LETTERED_METRIC]
    assert [m[name] for m in metrics for name in names] == [[1.0], [1.0]]
    assert all(m["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Shopstack" for m in metrics)
