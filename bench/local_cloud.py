"""Local cloud budgets: time to ready, memory of the whole stack, a new Lambda worker's first
answer, and the cost of a warm GET through the local gateway against a plain boto3 GetItem.

`measure()` returns these report.json keys (each with a `<key>_goal` next to it):

- `ready_s`: {"cold": s, "cached": s}, `shopstack up` to `ready:` without and with a cached synth
  (goals 90 s and 30 s).
- `idle_rss_mb`: proportional set size (PSS: a page shared by n processes counts 1/n in each, so
  the stack's pages count once) of the whole process tree after ready and a few requests, in MB
  (goal 400). `idle_after_ready_mb`: the same right after ready, before any request.
- `burst_pss_mb`: the peak PSS of the tree while 50 buyers check out at once, sampled every
  second, and `burst_after_pss_mb` once the burst is over (goal 1,536 for the peak);
  `burst_checkouts`: {"ok", "failed", "seconds"}.
- `worker_start_ms`: a new worker's first answer (each deployed API function invoked once through
  a pool of the bench's own against the stack's moto: a 404 route, no AWS call), median over the
  API functions, workers forked from the zygote (goal 250 ms); `worker_start_fresh_ms` the same
  with a fresh interpreter per worker (the baseline of the same run); `worker_warm_ms` the second
  invocation of each.
- `warm_invoke_ms_p50`: SAMPLES invocations in a row of one API function on its warm worker
  (the same 404 route), median: what the pool adds to a handler's own work (goal 5 ms).
- `gateway_ms_p50`, `getitem_ms_p50`, `gateway_overhead_ms_p50`: warm `GET /products/{sku}`
  through the local gateway, a plain boto3 GetItem of the same item from moto, and their
  difference (goal: the gateway within 2x GetItem).
- `processes`: {"idle", "burst_peak"} process counts of the tree.

`run()` returns the same measures as `Row`s (budget ratios) for `python -m bench`'s table.
Run alone: `python -m bench.local_cloud` prints the dict as JSON.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shopstack.harness import ROOT, LocalCloud, start
from shopstack.localcloud.lambda_pool import LambdaInvocationError

if TYPE_CHECKING:
    from shopstack.localcloud.lambda_pool import FunctionConfig

SAMPLES = 200
PACE_SECONDS = 0.025  # stay under the stage's throttling rate (50 rps) between timed requests
BURST_BUYERS = 50
START_TIMEOUT_SECONDS = 600.0
READY_GOALS = {"cold": 90.0, "cached": 30.0}
IDLE_GOAL_MB = 400.0
BURST_GOAL_MB = 1536.0
WORKER_START_GOAL_MS = 250.0
WARM_INVOKE_GOAL_MS = 5.0
GATEWAY_GOAL_RATIO = 2.0
NOT_A_ROUTE = "/__bench/not-a-route"


@dataclass(frozen=True)
class Row:
    name: str
    measured: float
    baseline: float
    unit: str
    budget: str
    limit: float

    @property
    def ratio(self) -> float:
        return self.measured / self.baseline if self.baseline else float("inf")

    @property
    def ok(self) -> bool:
        return self.ratio <= self.limit


def pss_mb(pids: set[int]) -> float:
    """Proportional set size of the processes, in MB: a page shared by n of them counts 1/n in
    each, so the sum counts every page of the tree once (processes gone meanwhile count 0)."""
    total = 0
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in rollup.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1])
                break
    return total / 1024


def rss_mb(pids: set[int]) -> float:
    """Resident set size summed over the processes (shared pages counted in each), in MB."""
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def _timed_start(state: Path) -> tuple[LocalCloud, float]:
    """Start the stack and time it to ready; the harness gives up after START_TIMEOUT_SECONDS (a
    busy machine can take longer than the goals, which the report then shows)."""
    began = time.perf_counter()
    cloud = start(state_dir=state, ses="production", timeout=START_TIMEOUT_SECONDS)
    return cloud, time.perf_counter() - began


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _gateway_gets(cloud: LocalCloud, path: str, count: int) -> list[float]:
    """Timed GETs on one kept-alive connection, as a browser or boto3's pool would send them."""
    url = urllib.parse.urlsplit(cloud.base_url)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=10)
    samples = []
    for _ in range(count):
        began = time.perf_counter()
        connection.request("GET", path, headers={"User-Agent": "shopstack-bench"})  # WAF: NoUserAgent_HEADER
        response = connection.getresponse()
        response.read()
        samples.append(time.perf_counter() - began)
        assert response.status == 200, response.status
        time.sleep(PACE_SECONDS)
    connection.close()
    return samples


def _get_item_baseline(cloud: LocalCloud, table: str, sku: str) -> list[float]:
    client = cloud.aws("dynamodb")
    samples = []
    for _ in range(SAMPLES):
        began = time.perf_counter()
        client.get_item(TableName=table, Key={"sku": {"S": sku}})
        samples.append(time.perf_counter() - began)
        time.sleep(PACE_SECONDS)  # paced like the gateway samples, so both start from the same idle state
    return samples


def _products_table(cloud: LocalCloud) -> str:
    cfn = cloud.aws("cloudformation")
    for stack in cfn.describe_stacks()["Stacks"]:
        for resource in cfn.list_stack_resources(StackName=stack["StackName"])["StackResourceSummaries"]:
            if resource["ResourceType"] == "AWS::DynamoDB::Table" and "Products" in resource["LogicalResourceId"]:
                return str(resource["PhysicalResourceId"])
    raise RuntimeError("no Products table deployed")


def _api_event() -> dict[str, Any]:
    """An API Gateway REST proxy event for a route no function serves: the handler answers 404
    without calling AWS, so the time is the worker's own."""
    return {
        "resource": "/{proxy+}",
        "path": NOT_A_ROUTE,
        "httpMethod": "GET",
        "headers": {"Accept": "application/json", "User-Agent": "shopstack-bench"},
        "multiValueHeaders": {"Accept": ["application/json"], "User-Agent": ["shopstack-bench"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": NOT_A_ROUTE.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": "GET",
            "path": NOT_A_ROUTE,
            "stage": "dev",
            "requestId": "bench",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "shopstack-bench"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def _api_functions(cloud: LocalCloud) -> dict[str, FunctionConfig]:
    """The deployed API functions' configurations, as the pool resolves them."""
    from shopstack.localcloud.lambda_pool import FunctionConfig

    client = cloud.aws("lambda")
    configs: dict[str, FunctionConfig] = {}
    for page in client.get_paginator("list_functions").paginate():
        for fn in page["Functions"]:
            if "Api" in fn["FunctionName"]:
                configs[fn["FunctionName"]] = FunctionConfig(
                    name=fn["FunctionName"],
                    arn=fn["FunctionArn"],
                    handler=fn["Handler"],
                    timeout=float(fn.get("Timeout", 3)),
                    memory_size=int(fn.get("MemorySize", 128)),
                    environment=dict(fn.get("Environment", {}).get("Variables", {})),
                )
    return configs


def _worker_starts(
    cloud: LocalCloud, fork_workers: bool, steady_samples: int = 0
) -> tuple[list[float], list[float], list[float]]:
    """A pool of this process against the stack's moto: each API function invoked twice (a new
    worker's first answer, then a warm one), in seconds, workers forked from the zygote or fresh
    interpreters; then `steady_samples` invocations in a row of the first function on its warm
    worker. The zygote's own start (once per pool, while the stack deploys) is not counted."""
    from shopstack.localcloud.lambda_pool import LambdaPool

    configs = _api_functions(cloud)
    pool = LambdaPool(
        moto_url=cloud.moto_url,
        region="us-east-1",
        account_id="123456789012",
        resolver=lambda name: configs[name],
        log_stream=io.StringIO(),
        fork_workers=fork_workers,
    )
    first: list[float] = []
    warm: list[float] = []
    steady: list[float] = []
    try:
        pool.zygote()
        event = _api_event()
        for name in sorted(configs):
            for samples in (first, warm):
                began = time.perf_counter()
                with contextlib.suppress(LambdaInvocationError):
                    pool.invoke(name, event)
                samples.append(time.perf_counter() - began)
        for _ in range(steady_samples):
            began = time.perf_counter()
            with contextlib.suppress(LambdaInvocationError):
                pool.invoke(min(configs), event)
            steady.append(time.perf_counter() - began)
    finally:
        pool.stop()
    return first, warm, steady


class PeakSampler:
    """Samples the tree's PSS every `interval` seconds on a thread; `peak` and its process count."""

    def __init__(self, pids: Callable[[], set[int]], interval: float = 1.0) -> None:
        self.pids = pids
        self.interval = interval
        self.peak = 0.0
        self.peak_processes = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="pss-sampler")

    def _sample(self) -> None:
        tree = self.pids()
        now = pss_mb(tree)
        if now > self.peak:
            self.peak, self.peak_processes = now, len(tree)

    def _run(self) -> None:
        while not self.stopped.wait(self.interval):
            self._sample()

    def __enter__(self) -> PeakSampler:
        self._sample()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()
        self._sample()


def _burst(cloud: LocalCloud, admin: str) -> dict[str, Any]:
    """BURST_BUYERS buyers check out at once; PSS peak during it and once it is over."""
    from shopstack.buyer import CheckoutFailed, buy, stock_product

    # Every buyer is one client address here: lift the web ACL's per-client limits for the burst.
    cloud.set_rate_limits(perIp=1_000_000, checkoutPerIp=1_000_000)
    sku = stock_product(cloud, admin, BURST_BUYERS + 10)

    def one(_: int) -> str | None:
        try:
            buy(cloud, sku)
        except (CheckoutFailed, RuntimeError) as exc:
            return str(exc)[:200]
        return None

    began = time.perf_counter()
    with PeakSampler(cloud.children) as sampler, ThreadPoolExecutor(BURST_BUYERS) as buyers:
        failures = [error for error in buyers.map(one, range(BURST_BUYERS)) if error is not None]
    elapsed = time.perf_counter() - began
    cloud.reset_rate_limits()
    checkouts = {"ok": BURST_BUYERS - len(failures), "failed": len(failures), "seconds": round(elapsed, 1)}
    return {
        "burst_pss_mb": round(sampler.peak, 1),
        "burst_after_pss_mb": round(pss_mb(cloud.children()), 1),
        "burst_processes": sampler.peak_processes,
        "burst_checkouts": {**checkouts, "first_failure": failures[0] if failures else None},
    }


def measure() -> dict[str, Any]:
    """Start the stack twice (cold, then cached synth) and measure the second; see the module doc."""
    from shopstack.localcloud.tokens import issue_token

    found: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        shutil.rmtree(ROOT / ".shopstack" / "cdk.out", ignore_errors=True)
        cloud, cold = _timed_start(state)
        cloud.stop()
        cloud, cached = _timed_start(state)
        try:
            found["ready_s"] = {"cold": round(cold, 2), "cached": round(cached, 2)}
            found["ready_s_goal"] = READY_GOALS
            time.sleep(2)  # the schedules fire once at ready
            found["idle_after_ready_mb"] = round(pss_mb(cloud.children()), 1)
            token = issue_token(cloud.base_url, "bench@example.com", admin=True)
            product = {"name": "Bench", "category": "bench", "price": {"amount": 100, "currency": "usd"}}
            assert cloud.request("PUT", "/admin/products/BENCH-1", body=product, token=token).status == 200
            _gateway_gets(cloud, "/products/BENCH-1", 20)
            time.sleep(2)
            tree = cloud.children()
            found["idle_rss_mb"] = round(pss_mb(tree), 1)
            found["idle_rss_mb_goal"] = IDLE_GOAL_MB
            found["idle_rss_sum_mb"] = round(rss_mb(tree), 1)
            found["processes"] = {"idle": len(tree)}
            forked, warm, steady = _worker_starts(cloud, fork_workers=True, steady_samples=SAMPLES)
            fresh, _, _ = _worker_starts(cloud, fork_workers=False)
            found["worker_start_ms"] = round(_median_ms(forked), 1)
            found["worker_start_fresh_ms"] = round(_median_ms(fresh), 1)
            found["worker_warm_ms"] = round(_median_ms(warm), 1)
            found["worker_start_samples"] = len(forked)
            found["worker_start_ms_goal"] = WORKER_START_GOAL_MS
            found["warm_invoke_ms_p50"] = round(_median_ms(steady), 2)
            found["warm_invoke_ms_p50_goal"] = WARM_INVOKE_GOAL_MS
            gateway = _median_ms(_gateway_gets(cloud, "/products/BENCH-1", SAMPLES))
            getitem = _median_ms(_get_item_baseline(cloud, _products_table(cloud), "BENCH-1"))
            found["gateway_ms_p50"] = round(gateway, 2)
            found["getitem_ms_p50"] = round(getitem, 2)
            found["gateway_overhead_ms_p50"] = round(gateway - getitem, 2)
            found["gateway_ms_p50_goal"] = round(GATEWAY_GOAL_RATIO * getitem, 2)
            found.update(_burst(cloud, token))
            found["burst_pss_mb_goal"] = BURST_GOAL_MB
            found["processes"]["burst_peak"] = found.pop("burst_processes")
        finally:
            cloud.stop(timeout=120)
    return found


def rows(found: dict[str, Any]) -> list[Row]:
    """The measures as budget rows (measured against baseline, within `limit` times)."""
    return [
        Row("up to ready, first time (s)", found["ready_s"]["cold"], READY_GOALS["cold"], " s", "<= 90 s", 1.0),
        Row("up to ready, cached synth (s)", found["ready_s"]["cached"], READY_GOALS["cached"], " s", "<= 30 s", 1.0),
        Row("idle memory, whole stack, PSS (MB)", found["idle_rss_mb"], IDLE_GOAL_MB, "MB", "<= 400 MB", 1.0),
        Row("50-checkout burst, peak PSS (MB)", found["burst_pss_mb"], BURST_GOAL_MB, "MB", "<= 1.5 GB", 1.0),
        Row(
            "new worker's first answer (ms)",
            found["worker_start_ms"],
            WORKER_START_GOAL_MS,
            "ms",
            "<= 250 ms",
            1.0,
        ),
        Row(
            "warm invoke through the worker pool (ms)",
            found["warm_invoke_ms_p50"],
            WARM_INVOKE_GOAL_MS,
            "ms",
            "<= 5 ms",
            1.0,
        ),
        Row(
            "warm GET via gateway vs GetItem (ms)",
            found["gateway_ms_p50"],
            found["getitem_ms_p50"],
            "ms",
            "<= 2x",
            GATEWAY_GOAL_RATIO,
        ),
    ]


def run() -> list[Row]:
    """`measure()` as rows, for the table of `python -m bench`."""
    return rows(measure())


if __name__ == "__main__":
    json.dump(measure(), sys.stdout, indent=2)
    print()
