"""The telemetry collector: EMF parsing, the worker output it reads, its bounds and filters."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from shopstack.localcloud import telemetry
from shopstack.localcloud.telemetry import Telemetry, dimensions_key, parse_emf

FUNCTION = "shopstack-dev-checkout-CheckoutApiFunction55841460-1L31WGNF7YHI"


def emf(**values: Any) -> dict[str, Any]:
    return {
        "_aws": {
            "Timestamp": 1_700_000_000_000,
            "CloudWatchMetrics": [
                {
                    "Namespace": "Shopstack",
                    "Dimensions": [["service"], ["service", "currency"]],
                    "Metrics": [{"Name": "OrdersPlaced", "Unit": "Count"}, {"Name": "Revenue", "Unit": "None"}],
                }
            ],
        },
        "service": "checkout",
        "currency": "EUR",
        **values,
    }


def test_an_emf_document_is_every_metric_times_every_dimension_set() -> None:
    points = parse_emf(emf(OrdersPlaced=1, Revenue=[10.5, 4]))
    assert {(p.name, p.dimensions, p.value) for p in points} == {
        ("OrdersPlaced", (("service", "checkout"),), 1.0),
        ("OrdersPlaced", (("currency", "EUR"), ("service", "checkout")), 1.0),
        ("Revenue", (("service", "checkout"),), 10.5),
        ("Revenue", (("service", "checkout"),), 4.0),
        ("Revenue", (("currency", "EUR"), ("service", "checkout")), 10.5),
        ("Revenue", (("currency", "EUR"), ("service", "checkout")), 4.0),
    }
    assert {p.time for p in points} == {1_700_000_000.0}
    assert {p.unit for p in points if p.name == "OrdersPlaced"} == {"Count"}


@pytest.mark.parametrize(
    "document",
    [
        {"_aws": "nope"},
        {"_aws": {"CloudWatchMetrics": [{"Dimensions": [[]], "Metrics": [{"Name": "X"}]}]}, "X": 1},  # no namespace
        {"_aws": {"CloudWatchMetrics": [{"Namespace": "N", "Metrics": [{"Name": "X"}]}]}},  # no value
        {"_aws": {"CloudWatchMetrics": [{"Namespace": "N", "Metrics": [{"Name": "X"}]}]}, "X": "1"},  # not a number
        {
            "_aws": {"CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [["gone"]], "Metrics": [{"Name": "X"}]}]},
            "X": 1,
        },
    ],
)
def test_malformed_emf_parts_are_skipped(document: dict[str, Any]) -> None:
    assert parse_emf(document) == []


def test_worker_output_becomes_log_lines_and_metrics() -> None:
    store = Telemetry()
    stream = store.stream(FUNCTION)
    stream.feed("START RequestId: req-1 Version: $LATEST\n")
    stream.feed("plain print\n")
    stream.feed(json.dumps({"level": "INFO", "message": "order placed", "correlation_id": "c-1", "orderId": "o-1"}))
    stream.feed(json.dumps(emf(OrdersPlaced=1, Revenue=3)))
    stream.feed("END RequestId: req-1\n")
    stream.feed("REPORT RequestId: req-1\tDuration: 12.50 ms\tBilled Duration: 13 ms\tMemory Size: 256 MB\n")
    lines = store.logs()
    assert [line.get("text") or line["json"]["message"] for line in lines] == ["plain print", "order placed"]
    assert {line["function"] for line in lines} == {"CheckoutApi"}
    assert {line["requestId"] for line in lines} == {"req-1"}
    assert lines[1]["correlationId"] == "c-1"
    dims = {"FunctionName": FUNCTION}
    assert (
        store.points("AWS/Lambda", "Duration", dims, 0)
        and store.points("AWS/Lambda", "Duration", dims, 0)[0][1] == 12.5
    )
    assert len(store.points("AWS/Lambda", "Invocations", dims, 0)) == 1
    assert store.points("Shopstack", "OrdersPlaced", {"service": "checkout"}, 0)[0][1] == 1.0


def test_logs_filter_by_function_correlation_order_and_after() -> None:
    store = Telemetry()
    for function, cid, order in (("A", "c1", "o1"), ("B", "c1", None), ("A", "c2", "o2")):
        store.add_line(function, None, "x", {"message": "m", "correlation_id": cid, "orderId": order})
    assert [line["correlationId"] for line in store.logs(function="A")] == ["c1", "c2"]
    assert [line["function"] for line in store.logs(correlation_id="c1")] == ["A", "B"]
    assert [line["seq"] for line in store.logs(order_id="o2")] == [3]
    assert [line["seq"] for line in store.logs(after=1, limit=1)] == [2]
    assert store.correlation_ids("o1") == ["c1"]


def test_the_log_store_is_bounded_by_lines_and_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telemetry, "LOG_LINES", 5)
    monkeypatch.setattr(telemetry, "LOG_CHARS", 30)
    store = Telemetry()
    for index in range(10):
        store.add_line("F", None, f"line {index}")  # 6 characters each
    assert [line["text"] for line in store.logs()] == [f"line {i}" for i in range(5, 10)]
    store.add_line("F", None, "x" * 24)  # with "line 9": 30 characters, the bound
    assert [line["text"] for line in store.logs()] == ["line 9", "x" * 24]


def test_series_are_bounded_and_pruned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telemetry, "MAX_SERIES", 2)
    store = Telemetry()
    for name in ("a", "b", "c"):
        store.put("N", name, {}, 1, at=1000.0)
    assert [m["name"] for m in store.metrics()] == ["a", "b"] and store.dropped_series == 1
    store.put("N", "a", {}, 2, at=5000.0)
    store.prune(now=1000.0 + telemetry.RETENTION_SECONDS + 1)
    assert [(m["name"], m["count"]) for m in store.metrics()] == [("a", 1)]


def test_api_requests_count_per_stage_and_per_resource() -> None:
    store = Telemetry()
    store.api_request("shop", "v1", "/orders/{id}", "GET", 404, 12.0)
    store.api_request("shop", "v1", None, "GET", 503, 8.0)
    stage = {"ApiName": "shop", "Stage": "v1"}
    route = {**stage, "Resource": "/orders/{id}", "Method": "GET"}
    assert [v for _, v in store.points("AWS/ApiGateway", "Count", stage, 0)] == [1.0, 1.0]
    assert [v for _, v in store.points("AWS/ApiGateway", "4XXError", stage, 0)] == [1.0, 0.0]
    assert [v for _, v in store.points("AWS/ApiGateway", "5XXError", stage, 0)] == [0.0, 1.0]
    assert [v for _, v in store.points("AWS/ApiGateway", "Latency", route, 0)] == [12.0]


def test_an_event_is_kept_once_with_every_rule_it_matched() -> None:
    store = Telemetry()
    event = {
        "id": "e-1",
        "source": "shopstack.orders",
        "detail-type": "OrderConfirmed",
        "detail": {"data": {"orderId": "o-1"}, "metadata": {"correlationId": "c-1"}},
    }
    store.event(event, "to-notifications")
    store.event(event, "to-analytics")
    [kept] = store.events(correlation_id="c-1")
    assert kept["rules"] == ["to-notifications", "to-analytics"] and kept["orderId"] == "o-1"
    assert store.events(order_id="o-1") == [kept] and store.events(correlation_id="other") == []


def test_many_threads_feed_one_store() -> None:
    store = Telemetry()

    def feed(worker: int) -> None:
        stream = store.stream(f"F{worker}")
        for index in range(200):
            stream.feed(f"START RequestId: r{worker}-{index} Version: 1")
            stream.feed(f"line {index}")
            stream.feed(f"REPORT RequestId: r{worker}-{index}\tDuration: 1.00 ms")

    threads = [threading.Thread(target=feed, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = store.logs(limit=10_000)
    assert len(lines) == 1600 and [line["seq"] for line in lines] == sorted(line["seq"] for line in lines)
    assert sum(m["count"] for m in store.metrics("AWS/Lambda", "Invocations")) == 1600
    assert dimensions_key({"b": 1, "a": "x"}) == (("a", "x"), ("b", "1"))
