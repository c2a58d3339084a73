"""Cold start per deployed function, against a bare boto3 baseline measured in the same run.

For every AWS::Lambda::Function of the deployed stacks whose handler is ours, a fresh interpreter
(the function's Lambda environment, AWS answered by a running local cloud) imports the handler
module and serves its first request: an event fit for the function (`first_event`: an API Gateway
proxy event of a cheap route for API functions, a workflow task, an SQS batch, a stream record or
a scheduled event for the others). The baseline is a fresh interpreter that imports boto3, creates
one DynamoDB client and makes one call with it: a GetItem of the benchmark's product on the local
cloud (most first requests make at least that one call, so both sides pay one connection and one
round trip). Both are timed inside the child, from its first statement to the end of the first
answer, so the interpreter's own start (the same for both) is left out.

Runs are interleaved (baseline, function, baseline, function, ...) for ROUNDS rounds; each
function's time is the median of its runs, the baseline the median of every baseline run. The
child's CPU time over the same span is reported beside the elapsed time: on a machine busy with
other work the elapsed times swing, the CPU times much less. BENCH_COLD_ROUNDS sets the rounds.

Report keys: `cold_import` {<logical id>: {"ms", "baseline_ms", "ratio", "import_ms" (the handler
module's import alone), "cpu_ms", "baseline_cpu_ms", "cpu_ratio", "answer" (what the first request
answered)}}, `cold_import_ratio_max`, `cold_import_worst`, `cold_import_cpu_ratio_max`,
`cold_import_goal` (1.3)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.inprocess import (
    Deployed,
    Fixtures,
    admin_claims,
    deployed_functions,
    event_envelope,
    lambda_env,
    proxy_event,
    shared_cloud,
    shopper_claims,
    sqs_event,
    stream_insert,
)
from shopstack.harness import LocalCloud

ROUNDS = 3
GOAL = 1.3
SPEC_ENV = "_BENCH_COLD_SPEC"

CHILD = """\
import time
_began, _cpu_began = time.perf_counter(), time.process_time()
import json, os
_spec = json.loads(os.environ["_BENCH_COLD_SPEC"])


class _Context:
    memory_limit_in_mb = 512
    function_version = "$LATEST"
    aws_request_id = "bench-cold-start"
    log_stream_name = "bench"
    identity = client_context = None

    def __init__(self):
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "bench")
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + self.function_name
        self.log_group_name = "/aws/lambda/" + self.function_name

    def get_remaining_time_in_millis(self):
        return 30000


if _spec["kind"] == "baseline":
    import boto3

    _client = boto3.client("dynamodb")
    _imported = time.perf_counter()
    _answer = _client.get_item(TableName=_spec["table"], Key={"sku": {"S": _spec["sku"]}})
    _answer = {"item": "Item" in _answer}
else:
    import importlib

    _module, _, _name = _spec["handler"].rpartition(".")
    _handler = getattr(importlib.import_module(_module), _name)
    _imported = time.perf_counter()
    _answer = _handler(_spec["event"], _Context())
_done, _cpu_done = time.perf_counter(), time.process_time()
with open(_spec["out"], "w") as _out:
    json.dump(
        {
            "import_ms": (_imported - _began) * 1000,
            "ms": (_done - _began) * 1000,
            "cpu_ms": (_cpu_done - _cpu_began) * 1000,
            "answer": _answer,
        },
        _out,
    )
import sys

sys.stdout.flush()
os._exit(0)  # the measurement is written: skip the interpreter's teardown
"""


def summary(answer: Any) -> str:
    """A short word on what the first request answered (an HTTP status, failed records, ...)."""
    if isinstance(answer, dict):
        if "statusCode" in answer:
            return f"HTTP {answer['statusCode']}"
        if "batchItemFailures" in answer:
            return f"{len(answer['batchItemFailures'])} failed records"
        return json.dumps(answer, sort_keys=True, default=str)[:80]
    return json.dumps(answer, default=str)[:80]


def _scheduled() -> dict[str, Any]:
    return {
        "version": "0",
        "id": "bench",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }


def _order_image(cloud: LocalCloud, table: str, order_id: str) -> tuple[str, dict[str, Any]]:
    dynamodb = cloud.aws("dynamodb")
    arn = str(dynamodb.describe_table(TableName=table)["Table"]["TableArn"])
    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}})
    return arn, dict(item.get("Item") or {})


def event_sources(cloud: LocalCloud, function: Deployed) -> set[str]:
    """The services of the function's event source mappings ("sqs", "dynamodb", "kinesis")."""
    mappings = cloud.aws("lambda").list_event_source_mappings(FunctionName=function.name)["EventSourceMappings"]
    return {str(m.get("EventSourceArn", "")).split(":")[2] for m in mappings if m.get("EventSourceArn")}


def first_event(cloud: LocalCloud, function: Deployed, fixtures: Fixtures) -> dict[str, Any]:
    """The first request a function serves: its cheapest ordinary request, on the benchmark's
    product and paid order (the event's shape follows the function's deployed event sources)."""
    sources = event_sources(cloud, function)
    order_id, sku = fixtures.order_id, fixtures.sku
    today = time.strftime("%Y-%m-%d", time.gmtime())
    confirmed = event_envelope(
        "OrderConfirmed", "shopstack.orders", {"orderId": order_id, "email": "ada@example.com", "status": "CONFIRMED"}
    )
    module = function.module
    if module == "inventory.entrypoints.api":
        return proxy_event("GET", "/products/{sku}", f"/products/{sku}")
    if module == "checkout.entrypoints.api":
        return proxy_event("POST", "/carts", "/carts")
    if module == "orders.entrypoints.api":
        return proxy_event(
            "GET", "/orders/{orderId}", f"/orders/{order_id}", headers={"X-Order-Token": fixtures.order_token}
        )
    if module == "customers.entrypoints.api":
        return proxy_event("GET", "/me", "/me", claims=shopper_claims())
    if module == "analytics.entrypoints.api":
        query = {"from": today, "to": today}
        return proxy_event(
            "GET", "/admin/analytics/sales", "/admin/analytics/sales", query=query, claims=admin_claims()
        )
    if module == "integrations.entrypoints.api":
        return proxy_event("GET", "/admin/webhooks", "/admin/webhooks", claims=admin_claims())
    if module == "apidocs.entrypoints.api":
        return proxy_event("GET", "/openapi.json", "/openapi.json")
    if module == "orders.entrypoints.tasks":
        return {"task": "confirm_order", "orderId": order_id, "execution": {"orderId": order_id}}
    if module == "checkout.entrypoints.tasks":
        if "sqs" in sources:  # the reservation-expiry queue's consumer: a message already due
            return sqs_event({"orderId": order_id, "expiresAt": int(time.time()) - 1}, queue="reservation-expiry")
        return {"task": "expire_reservation", "orderId": order_id, "execution": {"orderId": order_id}}
    if module == "orders.entrypoints.on_fulfilment":
        return sqs_event({"orderId": order_id}, queue="fulfilment")
    if module == "orders.entrypoints.on_change":
        arn, image = _order_image(cloud, function.environment.get("ORDERS_TABLE", "shopstack-dev-orders"), order_id)
        return stream_insert(arn, image)
    if module in ("orders.entrypoints.on_notify", "integrations.entrypoints.fanout"):
        return sqs_event(confirmed)
    if module == "analytics.entrypoints.on_event":
        return sqs_event(
            event_envelope("CartCreated", "shopstack.checkout", {"cartId": "bench-cart", "currency": "usd"})
        )
    if module == "integrations.entrypoints.deliver":
        due = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())  # a stale attempt: read, then dropped
        return sqs_event({"deliveryId": "bench-none", "attempt": 1, "due": due}, queue="deliveries")
    return _scheduled()  # the reconciler, the abandoned-cart sweep and any scheduled function


def run_child(env: dict[str, str], spec: dict[str, Any]) -> dict[str, Any]:
    """One fresh interpreter running CHILD with `spec`; its timings and first answer."""
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        out = Path(tmp) / "result.json"
        child_env = {**env, SPEC_ENV: json.dumps({**spec, "out": str(out)})}
        done = subprocess.run(
            [sys.executable, "-c", CHILD],
            env=child_env,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0 or not out.is_file():
            raise RuntimeError(f"{spec.get('handler', 'baseline')}: exit {done.returncode}\n{done.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def cold_starts(
    cloud: LocalCloud, fixtures: Fixtures, functions: list[Deployed], rounds: int = ROUNDS
) -> dict[str, Any]:
    products = next(
        (f.environment["PRODUCTS_TABLE"] for f in functions if "PRODUCTS_TABLE" in f.environment),
        "shopstack-dev-products",
    )
    baseline_env = lambda_env(cloud, None)
    baseline_spec = {"kind": "baseline", "table": products, "sku": fixtures.sku}
    baselines: list[dict[str, Any]] = []
    samples: dict[str, list[dict[str, Any]]] = {f.logical_id: [] for f in functions}
    for _ in range(rounds):
        for function in functions:
            baselines.append(run_child(baseline_env, baseline_spec))
            spec = {"kind": "function", "handler": function.handler, "event": first_event(cloud, function, fixtures)}
            samples[function.logical_id].append(run_child(lambda_env(cloud, function), spec))
    return ratios(baselines, samples)


def ratios(baselines: list[dict[str, Any]], samples: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The report: each function's median against the median of every baseline run, in elapsed
    time (`ratio`) and in the child's CPU time (`cpu_ratio`, unmoved by other work on the machine)."""
    baseline = statistics.median(b["ms"] for b in baselines)
    baseline_cpu = statistics.median(b["cpu_ms"] for b in baselines)
    table: dict[str, dict[str, Any]] = {}
    for logical_id, runs in samples.items():
        ms = statistics.median(r["ms"] for r in runs)
        cpu_ms = statistics.median(r["cpu_ms"] for r in runs)
        table[logical_id] = {
            "ms": round(ms, 1),
            "baseline_ms": round(baseline, 1),
            "ratio": round(ms / baseline, 3),
            "import_ms": round(statistics.median(r["import_ms"] for r in runs), 1),
            "cpu_ms": round(cpu_ms, 1),
            "baseline_cpu_ms": round(baseline_cpu, 1),
            "cpu_ratio": round(cpu_ms / baseline_cpu, 3),
            "answer": summary(runs[-1]["answer"]),
        }
    worst = max(table, key=lambda k: table[k]["ratio"]) if table else ""
    return {
        "cold_import": table,
        "cold_import_ratio_max": table[worst]["ratio"] if worst else 0.0,
        "cold_import_worst": worst,
        "cold_import_cpu_ratio_max": max((t["cpu_ratio"] for t in table.values()), default=0.0),
        "cold_import_goal": GOAL,
    }


def measure() -> dict[str, Any]:
    began = time.monotonic()
    cloud, fixtures = shared_cloud()
    functions = deployed_functions(cloud)
    rounds = int(os.environ.get("BENCH_COLD_ROUNDS", ROUNDS))
    ready = time.monotonic()
    report = cold_starts(cloud, fixtures, functions, rounds)
    print(
        f"cold_start: {len(functions)} functions x {rounds} rounds in {time.monotonic() - ready:.0f} s "
        f"(local cloud and fixtures: {ready - began:.0f} s)",
        file=sys.stderr,
    )
    return report


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
