"""Local cloud budgets: time to ready (cold and cached synth), idle memory, and the cost of a
warm GET through the local gateway against a plain boto3 GetItem on the same local cloud."""

from __future__ import annotations

import http.client
import shutil
import statistics
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from shopstack.harness import ROOT, LocalCloud, start

SAMPLES = 300
PACE_SECONDS = 0.025  # stay under the stage's throttling rate (50 rps) between timed requests


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


def _rss_mb(pids: set[int]) -> float:
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
    began = time.perf_counter()
    cloud = start(state_dir=state)
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


def run() -> list[Row]:
    from shopstack.localcloud.tokens import issue_token

    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        shutil.rmtree(ROOT / ".shopstack" / "cdk.out", ignore_errors=True)
        cloud, cold = _timed_start(state)
        cloud.stop()
        cloud, cached = _timed_start(state)
        try:
            rows.append(Row("up to ready, first time (s)", cold, 90.0, " s", "<= 90 s", 1.0))
            rows.append(Row("up to ready, cached synth (s)", cached, 30.0, " s", "<= 30 s", 1.0))
            token = issue_token(cloud.base_url, "bench@example.com", admin=True)
            product = {"name": "Bench", "category": "bench", "price": {"amount": 100, "currency": "usd"}}
            assert cloud.request("PUT", "/admin/products/BENCH-1", body=product, token=token).status == 200
            _gateway_gets(cloud, "/products/BENCH-1", 20)
            time.sleep(2)
            rows.append(Row("idle memory, whole stack (MB)", _rss_mb(cloud.children()), 1024, "MB", "<= 1 GB", 1.0))
            gateway = _gateway_gets(cloud, "/products/BENCH-1", SAMPLES)
            baseline = _get_item_baseline(cloud, _products_table(cloud), "BENCH-1")
            rows.append(
                Row(
                    "warm GET via gateway vs GetItem (ms)",
                    _median_ms(gateway),
                    _median_ms(baseline),
                    "ms",
                    "<= 2x",
                    2.0,
                )
            )
        finally:
            cloud.stop()
    return rows
