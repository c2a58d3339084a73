"""`make bench`: every benchmark, one report (bench/out/report.json and report.md) held to its goals.

Each module's `measure()` returns its report.json keys. Timings are ratios against a baseline
measured in the same run, or counts; the goals below say which figure is held to what. A module
that fails is reported as failed and the others still run. Exit status 1 when a goal is missed or
a module failed.

`BENCH_ONLY=cost,load` runs only those modules (their keys alone in the report).
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"
MODULES = ("cold_start", "warm_cpu", "aws_calls", "cost", "local_cloud", "load", "checkout_latency")
"""In this order: the three in-process measures share one local cloud, stopped before the others
start clouds of their own."""
IN_PROCESS = ("cold_start", "warm_cpu", "aws_calls")


@dataclass(frozen=True)
class Goal:
    name: str
    key: str
    goal: str
    check: Callable[[Any], bool]
    show: Callable[[Any], str] = lambda v: f"{v:.3g}" if isinstance(v, float) else str(v)


def _path(report: dict[str, Any], key: str) -> Any:
    value: Any = report
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _calls_at_minimum(calls: Any) -> bool:
    return isinstance(calls, dict) and all(c.get("measured") == c.get("minimum") for c in calls.values())


def _calls_shown(calls: Any) -> str:
    over = {k: f"{c['measured']}/{c['minimum']}" for k, c in calls.items() if c.get("measured") != c.get("minimum")}
    return "all at their minimum" if not over else "over: " + ", ".join(f"{k} {v}" for k, v in over.items())


GOALS = (
    Goal("cold start, worst function / boto3 + one call", "cold_import_ratio_max", "<= 1.3", lambda v: v <= 1.3),
    Goal("AWS calls per operation", "aws_calls", "measured = minimum", _calls_at_minimum, _calls_shown),
    Goal("cost per 1,000 orders (USD)", "cost_per_1000_orders_usd", "<= 0.10", lambda v: v <= 0.10),
    Goal("idle stack, PSS (MB)", "idle_rss_mb", "<= 400", lambda v: v <= 400),
    Goal("50 concurrent checkouts, PSS (MB)", "burst_pss_mb", "<= 1536", lambda v: v <= 1536),
    Goal("up to ready, first time (s)", "ready_s.cold", "<= 90", lambda v: v <= 90),
    Goal("up to ready, cached synth (s)", "ready_s.cached", "<= 30", lambda v: v <= 30),
    Goal("load: 5xx answers", "load.errors_5xx", "0", lambda v: v == 0),
    Goal("load: units oversold", "load.oversold", "0", lambda v: v == 0),
    Goal("load: stock conserved", "load.stock_conserved", "true", lambda v: v is True),
    Goal("checkout, orders 195-205 / orders 5-15", "checkout_latency.ratio", "<= 1.5", lambda v: v <= 1.5),
    Goal(
        "main process growth over 205 orders (MB)",
        "checkout_latency.main_process_growth_mb",
        "<= 50",
        lambda v: v <= 50,
    ),
)


def run(names: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, str]]:
    report: dict[str, Any] = {}
    failures: dict[str, str] = {}
    timings: dict[str, float] = {}
    for name in names:
        began = time.monotonic()
        print(f"\n== bench.{name}", flush=True)
        try:
            measured = importlib.import_module(f"bench.{name}").measure()
            report.update(measured)
        except Exception:
            failures[name] = traceback.format_exc(limit=8)
            print(failures[name], file=sys.stderr, flush=True)
        timings[name] = round(time.monotonic() - began, 1)
        later = names[names.index(name) + 1 :]
        if name in IN_PROCESS and not set(later) & set(IN_PROCESS):
            from bench import inprocess

            inprocess.stop_shared()
    report["bench_seconds"] = timings
    return report, failures


def verdicts(report: dict[str, Any]) -> list[tuple[Goal, Any, bool | None]]:
    found = []
    for goal in GOALS:
        value = _path(report, goal.key)
        found.append((goal, value, None if value is None else bool(goal.check(value))))
    return found


def _table(title: str, header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[str]:
    found = ["", f"## {title}", "", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return found + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def markdown(report: dict[str, Any], failures: dict[str, str]) -> str:
    lines = [
        "# shopstack benchmark report",
        "",
        f"{report['run']['at']} on {report['run']['machine']} (`make bench`, {report['run']['seconds']:.0f} s).",
        "",
        "| figure | measured | goal | |",
        "| --- | --- | --- | --- |",
    ]
    for goal, value, ok in verdicts(report):
        shown = "not measured" if value is None else goal.show(value)
        mark = "n/a" if ok is None else ("met" if ok else "MISSED")
        lines.append(f"| {goal.name} | {shown} | {goal.goal} | {mark} |")
    for label, key in (
        ("worker start, first answer (ms)", "worker_start_ms"),
        ("gateway overhead over GetItem, p50 (ms)", "gateway_overhead_ms_p50"),
    ):
        value = _path(report, key)
        if value is not None:
            lines.append(f"| {label} | {round(value, 2) if isinstance(value, float) else value} | | |")
    load = report.get("load") or {}
    if load:
        lines.append(
            f"| load: requests / 429 throttled / orders confirmed | {load.get('requests')} / "
            f"{load.get('throttled_429')} / {load.get('orders_confirmed')} | | |"
        )
    if report.get("cost_breakdown"):
        rows = sorted(report["cost_breakdown"].items(), key=lambda kv: -kv[1])
        lines += _table("Cost per 1,000 orders by service", ("service", "USD"), [(k, f"{v:.4f}") for k, v in rows])
    if report.get("warm_cpu_us"):
        rows = [(route, f"{us:.0f}") for route, us in report["warm_cpu_us"].items()]
        lines += _table("Warm CPU per request", ("route", "µs"), rows)
    if report.get("aws_calls"):
        rows = [(op, c.get("measured"), c.get("minimum"), c.get("why", "")) for op, c in report["aws_calls"].items()]
        lines += _table("AWS calls per operation", ("operation", "measured", "minimum", "why"), rows)
    if report.get("cold_import"):
        ranked = sorted(report["cold_import"].items(), key=lambda kv: -kv[1]["ratio"])
        rows = [(f, f"{r['ms']:.0f}", f"{r['baseline_ms']:.0f}", f"{r['ratio']:.2f}") for f, r in ranked]
        lines += _table("Cold start per function", ("function", "ms", "baseline ms", "ratio"), rows)
    if load.get("routes"):
        rows = [
            (route, r.get("count"), r.get("p50_ms"), r.get("p95_ms"), r.get("p99_ms"))
            for route, r in load["routes"].items()
        ]
        lines += _table("Load run per route", ("route", "requests", "p50 ms", "p95 ms", "p99 ms"), rows)
    if load.get("plot"):
        lines += ["", f"![load run]({Path(str(load['plot'])).name})"]
    if failures:
        lines += ["", "## Modules that failed", ""]
        lines += [f"- `bench.{name}`: {trace.strip().splitlines()[-1]}" for name, trace in failures.items()]
    return "\n".join(lines) + "\n"


def main() -> int:
    only = tuple(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
    names = tuple(n for n in MODULES if not only or n in only)
    began = time.monotonic()
    report, failures = run(names)
    report["run"] = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "seconds": round(time.monotonic() - began, 1),
        "modules": list(names),
        "failed": sorted(failures),
    }
    report["goals"] = {
        goal.key: {"measured": value, "goal": goal.goal, "met": ok} for goal, value, ok in verdicts(report)
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (OUT / "report.md").write_text(markdown(report, failures))
    print("\n" + markdown(report, failures))
    missed = [goal.key for goal, _, ok in verdicts(report) if ok is False]
    return 1 if missed or failures else 0


if __name__ == "__main__":
    sys.exit(main())
