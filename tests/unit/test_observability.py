"""Logs, correlation ids and business metrics of the handlers, without I/O."""

from __future__ import annotations

import json
from typing import Any

import pytest

from analytics.domain.metrics import Metric, metrics_of
from checkout import service as checkout
from commerce import observability
from commerce.observability import correlation_of, observed, redact
from orders.domain.events import events_for_change
from tests.unit.apigw import Context, proxy_event
from tests.unit.checkout_fakes import make_checkout


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def _logs(out: str) -> list[dict[str, Any]]:
    return [line for line in _lines(out) if "_aws" not in line]


def _metrics(out: str) -> dict[str, list[tuple[float, dict[str, str]]]]:
    """EMF lines as {metric name: [(value, dimensions)]}."""
    found: dict[str, list[tuple[float, dict[str, str]]]] = {}
    for line in _lines(out):
        if "_aws" not in line:
            continue
        directive = line["_aws"]["CloudWatchMetrics"][0]
        dimensions = {name: str(line[name]) for name in directive["Dimensions"][0]}
        for metric in directive["Metrics"]:
            values = line[metric["Name"]]
            for value in values if isinstance(values, list) else [values]:
                found.setdefault(metric["Name"], []).append((value, dimensions))
    return found


@pytest.mark.parametrize(
    "secret",
    [
        "ada.lovelace+shop@example.co.uk",
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl",
        "4242424242424242",
        "4242 4242 4242 4242",
        "sk_test_51Habc123",
        "whsec_abcdef123",
        "pk_live_abc123",
    ],
)
def test_personal_data_and_secrets_never_survive_redaction(secret: str) -> None:
    assert secret not in redact(f"refused {secret} because of it")


def test_redaction_keeps_ids_and_hides_token_fields() -> None:
    line = '{"orderId":"01JB8ZQ4M6TX5N0W3R2V1K9P7Y","token":"a1b2c3d4e5","message":"cart 01JB8ZQ4"}'
    cleaned = redact(line)
    assert "01JB8ZQ4M6TX5N0W3R2V1K9P7Y" in cleaned and "cart 01JB8ZQ4" in cleaned
    assert "a1b2c3d4e5" not in cleaned


def test_an_api_request_is_correlated_by_its_header_or_else_its_request_id() -> None:
    event = proxy_event("GET", "/carts/{cartId}", "/carts/c1")
    event["headers"] = {"X-Correlation-Id": "storefront-7f3a9c21"}
    assert correlation_of(event) == "storefront-7f3a9c21"
    event["headers"] = {"x-correlation-id": "bad id with spaces"}
    assert correlation_of(event) == event["requestContext"]["requestId"]


def test_every_carrier_of_a_correlation_id_is_read() -> None:
    bridge = {"id": "ev-1", "detail-type": "OrderConfirmed", "detail": {"metadata": {"correlationId": "corr-0001"}}}
    assert correlation_of(bridge) == "corr-0001"
    assert correlation_of({"messageId": "m1", "body": json.dumps(bridge)}) == "corr-0001", "an SQS record"
    assert correlation_of({"task": "capture_payment", "execution": {"correlationId": "corr-0002"}}) == "corr-0002"
    assert correlation_of({"task": "capture_payment", "execution": {"orderId": "o1"}}) is None
    stream = {"dynamodb": {"NewImage": {"correlationId": {"S": "corr-0003"}}}}
    assert correlation_of(stream) == "corr-0003"
    assert correlation_of({"source": "aws.events", "id": "sched-1", "detail": {}}) == "sched-1"


def test_a_handler_logs_json_with_its_context_correlation_id_and_no_email(capsys: pytest.CaptureFixture[str]) -> None:
    @observed
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        observability.logger().warning("mail to ada@example.com refused")
        return {"ok": True}

    event = proxy_event("GET", "/health", "/health")
    event["headers"] = {"X-Correlation-Id": "storefront-0000-1111"}
    capsys.readouterr()
    assert handler(event, Context("CheckoutApi")) == {"ok": True}
    [line] = _logs(capsys.readouterr().out)
    assert line["correlation_id"] == "storefront-0000-1111"
    assert line["function_name"] == "CheckoutApi" and "cold_start" in line
    assert "ada@example.com" not in json.dumps(line) and "<email>" in line["message"]


def test_the_metrics_of_an_invocation_are_flushed_once_when_it_ends(capsys: pytest.CaptureFixture[str]) -> None:
    @observed
    def handler(event: dict[str, Any], context: Any) -> None:
        observability.count("StockOuts")
        observability.count("StockOuts")
        observability.count("Revenue", 2599, unit="None", currency="usd")
        raise RuntimeError("the invocation fails after counting")

    capsys.readouterr()
    with pytest.raises(RuntimeError):
        handler({}, Context("CheckoutApi"))
    found = _metrics(capsys.readouterr().out)
    assert [value for value, _ in found["StockOuts"]] == [1.0, 1.0]
    assert [(value, dims["currency"]) for value, dims in found["Revenue"]] == [(2599.0, "usd")]


def test_checkout_keeps_the_request_correlation_id_for_the_order_its_workflow_and_events() -> None:
    deps, parts = make_checkout(A=5)
    cart, _ = checkout.create_cart(deps, owner=None)
    cart = checkout.set_item(deps, cart, "A", 1)
    address = {"name": "Ada", "line1": "1 Main St", "city": "Springfield", "postalCode": "12345", "country": "US"}
    request = checkout.CheckoutRequest("ada@example.com", address, "pm_card_visa", correlation_id="corr-checkout-1")
    checkout.checkout(deps, cart, request, order_id="o1")
    order = deps.orders.get("o1")
    assert order is not None and order.correlation_id == "corr-checkout-1"
    assert parts["workflows"].correlations == {"o1": "corr-checkout-1"}, "the expiry and the order workflow carry it"
    image = {"orderId": "o1", "status": "CONFIRMED", "totalAmount": 1000, "currency": "usd", "correlationId": "c-9"}
    [(_, event)] = events_for_change({**image, "sk": "ORDER", "status": "PAID"}, {**image, "sk": "ORDER"})
    assert event.detail()["metadata"]["correlationId"] == "c-9"


def _event(name: str, **data: Any) -> dict[str, Any]:
    return {"id": f"ev-{name}", "detail-type": name, "detail": {"id": f"ev-{name}", "data": data}}


def test_each_event_is_counted_as_its_business_metrics() -> None:
    total = {"amount": 2599, "currency": "usd"}
    assert metrics_of(_event("CheckoutStarted", orderId="o1", total=total)) == [Metric("OrdersPlaced")]
    assert metrics_of(_event("OrderConfirmed", orderId="o1", total=total)) == [
        Metric("OrdersConfirmed"),
        Metric("Revenue", 2599, "None", {"currency": "usd"}),
    ]
    assert metrics_of(_event("PaymentFailed", orderId="o1", total=total, declineCode="insufficient_funds")) == [
        Metric("PaymentDeclines"),
        Metric("PaymentDeclinesByCode", 1, "Count", {"declineCode": "insufficient_funds"}),
    ]
    expired = _event("OrderCancelled", reason="reservation expired unpaid", refund={"amount": 0, "currency": "usd"})
    assert [m.name for m in metrics_of(expired)] == ["OrdersCancelled", "ReservationsExpired"]
    refunded = _event("OrderCancelled", reason="cancelled by customer", refund={"amount": 500, "currency": "eur"})
    assert metrics_of(refunded)[1:] == [Metric("Refunds"), Metric("RefundedAmount", 500, "None", {"currency": "eur"})]
    assert metrics_of(_event("ProductUpdated", sku="A")) == []


def test_a_redelivered_event_is_counted_in_the_metrics_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from analytics.entrypoints import on_event
    from tests.unit.analytics_fakes import FakeAggregates

    store = FakeAggregates()
    monkeypatch.setattr(on_event.bootstrap, "aggregates", lambda: store)
    confirmed = _event("OrderConfirmed", orderId="o1", total={"amount": 2599, "currency": "usd"}, lines=[])
    confirmed["detail"]["occurredAt"] = "2026-12-01T10:00:00Z"
    record = {
        "messageId": "m1",
        "receiptHandle": "rh",
        "body": json.dumps(confirmed),
        "attributes": {"ApproximateReceiveCount": "1"},
        "eventSource": "aws:sqs",
    }
    capsys.readouterr()
    for _ in range(2):
        assert on_event.handler({"Records": [record]}, Context("AnalyticsEvents")) == {"batchItemFailures": []}
    out = capsys.readouterr().out
    assert [value for value, _ in _metrics(out)["OrdersConfirmed"]] == [1.0]
    assert [line["message"] for line in _logs(out)] == ["event counted", "event seen before"]


def test_an_events_correlation_id_is_its_own_else_the_one_being_served_else_its_id() -> None:
    from commerce.events import DomainEvent

    assert DomainEvent("X", {}, id="e1", correlation_id="c1").detail("req-1")["metadata"] == {"correlationId": "c1"}
    assert DomainEvent("X", {}, id="e1").detail("req-1")["metadata"] == {"correlationId": "req-1"}
    assert DomainEvent("X", {}, id="e1").detail()["metadata"] == {"correlationId": "e1"}
