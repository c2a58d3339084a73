"""The pure parts of bench.cold_start and the events of bench.inprocess: which handlers are ours,
the report's ratios against the baseline, the first request's word, and the events' shapes."""

from __future__ import annotations

import json

from bench.cold_start import CHILD, ratios, summary
from bench.inprocess import event_envelope, is_ours, proxy_event, sqs_event, stream_insert


def test_only_handlers_of_our_services_are_ours() -> None:
    assert is_ours("inventory.entrypoints.api.handler")
    assert is_ours("orders.entrypoints.tasks.handler")
    assert not is_ours("index.handler")
    assert not is_ours("handler")


def test_each_function_is_held_against_the_median_baseline() -> None:
    baselines = [{"ms": 400.0, "cpu_ms": 300.0}, {"ms": 500.0, "cpu_ms": 320.0}, {"ms": 450.0, "cpu_ms": 310.0}]
    samples = {
        "Fast": [{"ms": 450.0, "cpu_ms": 310.0, "import_ms": 50.0, "answer": {"statusCode": 200}}] * 3,
        "Slow": [
            {"ms": 900.0, "cpu_ms": 620.0, "import_ms": 400.0, "answer": {"batchItemFailures": []}},
            {"ms": 1000.0, "cpu_ms": 650.0, "import_ms": 420.0, "answer": {"batchItemFailures": []}},
            {"ms": 5000.0, "cpu_ms": 640.0, "import_ms": 410.0, "answer": {"batchItemFailures": []}},
        ],
    }
    report = ratios(baselines, samples)
    assert report["cold_import"]["Fast"] == {
        "ms": 450.0,
        "baseline_ms": 450.0,
        "ratio": 1.0,
        "import_ms": 50.0,
        "cpu_ms": 310.0,
        "baseline_cpu_ms": 310.0,
        "cpu_ratio": 1.0,
        "answer": "HTTP 200",
    }
    slow = report["cold_import"]["Slow"]
    assert slow["ms"] == 1000.0  # the median: one slow outlier moves nothing
    assert slow["ratio"] == round(1000 / 450, 3)
    assert slow["answer"] == "0 failed records"
    assert report["cold_import_worst"] == "Slow"
    assert report["cold_import_ratio_max"] == slow["ratio"]
    assert report["cold_import_cpu_ratio_max"] == round(640 / 310, 3)
    assert report["cold_import_goal"] == 1.3


def test_an_empty_run_reports_no_worst() -> None:
    report = ratios([{"ms": 1.0, "cpu_ms": 1.0}], {})
    assert report["cold_import"] == {}
    assert report["cold_import_worst"] == ""


def test_the_first_answer_is_summarised_in_a_few_words() -> None:
    assert summary({"statusCode": 404, "body": "{}"}) == "HTTP 404"
    assert summary({"batchItemFailures": [{"itemIdentifier": "m"}]}) == "1 failed records"
    assert summary({"status": "CONFIRMED"}) == '{"status": "CONFIRMED"}'
    assert summary(None) == "null"


def test_the_child_times_from_its_first_statement() -> None:
    assert CHILD.splitlines()[:2] == ["import time", "_began, _cpu_began = time.perf_counter(), time.process_time()"]
    compile(CHILD, "child", "exec")


def test_a_proxy_event_carries_its_path_parameters_and_claims() -> None:
    event = proxy_event(
        "PUT",
        "/carts/{cartId}/items/{sku}",
        "/carts/c-1/items/S-1",
        body={"quantity": 2},
        headers={"X-Cart-Token": "t"},
        claims={"sub": "u"},
    )
    assert event["pathParameters"] == {"cartId": "c-1", "sku": "S-1"}
    assert json.loads(event["body"]) == {"quantity": 2}
    assert event["headers"]["X-Cart-Token"] == "t"
    assert event["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert event["requestContext"]["authorizer"] == {"claims": {"sub": "u"}}
    assert event["requestContext"]["resourcePath"] == "/carts/{cartId}/items/{sku}"
    assert proxy_event("GET", "/products", "/products")["pathParameters"] is None


def test_batches_and_envelopes_have_the_shapes_their_sources_send() -> None:
    envelope = event_envelope("OrderConfirmed", "shopstack.orders", {"orderId": "o-1"})
    assert envelope["detail-type"] == "OrderConfirmed"
    assert envelope["detail"]["data"] == {"orderId": "o-1"}
    batch = sqs_event(envelope, "plain text")
    assert [r["eventSource"] for r in batch["Records"]] == ["aws:sqs", "aws:sqs"]
    assert json.loads(batch["Records"][0]["body"]) == envelope
    assert batch["Records"][1]["body"] == "plain text"
    image = {"pk": {"S": "ORDER#o-1"}, "sk": {"S": "ORDER"}, "status": {"S": "PAID"}}
    record = stream_insert("arn:aws:dynamodb:us-east-1:1:table/orders", image)["Records"][0]
    assert record["eventName"] == "INSERT"
    assert record["dynamodb"]["NewImage"] == image
    assert record["dynamodb"]["Keys"] == {"pk": {"S": "ORDER#o-1"}, "sk": {"S": "ORDER"}}
