"""The load run: 200 shoppers in a spike profile against the whole stack, and what it did to stock.

`shopstack up` starts on free ports (through `shopstack.harness.start`, which runs it as a user
would); a catalog is seeded with SCARCE_SKUS products of SCARCE_UNITS units each and
PLENTIFUL_SKUS products of PLENTIFUL_UNITS; then Locust runs headless as a subprocess
(`python -m locust -f bench/locustfile.py --headless --csv ... --csv-full-history`) with the load
shape of STAGES: a ramp to 200 users in 10 s, a hold, a drop to 20, a spike back to 200 in 5 s,
a hold, then the end. The shoppers (bench/locustfile.py) browse the catalog, fill carts and buy,
scarce products above all, paying with the Stripe emulator's test card (`pm_card_visa`, confirmed
server-side). Each shopper connects from an address of its own in 127.0.0.0/8: the web ACL's
per-client limits count per source address, as they would for 200 people on AWS, so they throttle
no one here unless one client runs over them; the stage's rate limits (500 rps, checkout 50 rps)
still apply to everyone together.

Every answer is classed (`classify`): the route's success status, a 409 `out_of_stock` (an
expected answer when stock runs out), a 429 (throttling, by design), a 5xx (an error, goal 0), or
anything else (`other_errors`, transport failures included). After the run the order workflows are
given time to settle, then inventory and orders are read back through the admin API and checked
against the inventory model's conservation law (`commerce.orders`: placing an order reserves,
COMMIT takes a line off `onHand` and `reserved`, RELEASE gives a reservation back, RESTORE puts
committed goods back on hand): for every scarce product,

    onHand_end   == initial - units of orders that hold committed stock (CONFIRMED and after)
    reserved_end == units of orders still holding a reservation (PENDING_PAYMENT, PAID)
    0 <= reserved_end <= onHand_end

and `oversold` counts units promised (committed or reserved) beyond the initial stock, goal 0.

Timings: per-route p50/p95/p99 in ms under load, with the same run's idle median of
`GET /products/{sku}` (IDLE_SAMPLES paced requests before the load) as their baseline
(`p95_vs_idle`: the ratio for that route).

Report keys, all under `load`: users_peak, duration_s, requests, routes {"<METHOD> <template>":
{count, p50_ms, p95_ms, p99_ms}}, idle_p50_ms, p95_vs_idle, errors_5xx, throttled_429,
out_of_stock, other_errors, outcomes_by_route, orders_placed (the orders the admin API lists
afterwards), checkouts_201 (the checkouts whose 201 reached a shopper: fewer, as Locust stops
shoppers at once on the drop to 20 users and at the end while their checkout goes on on the
server, and a checkout answered 504 may have placed its order), orders_confirmed,
orders_by_status, unsettled, settle_s, oversold, stock {initial, on_hand_end, reserved_end, sold,
per_sku}, stock_conserved, error_samples (route, status, correlation id, body), error_logs (the
functions' ERROR lines for those correlation ids), cloud_console (the local cloud's own
complaints: the gateway's timed-out or failed integrations), gateway_timeouts (per function,
the gateway's 504s: queued for a worker or still running at 29 s), lambda_durations {before, load} (per
function: invocations, p50 and p90 handler ms, total s, from the Lambda REPORT lines, while
seeding and during the load), locust_cpu_share (Locust's CPU seconds per second of the run: what
the load generator took of the 2 cores), phases_s (up, seed, locust, read_back, stop, plot: where
the run's time went), machine_load_avg (before and after: other work on the machine), plot
(bench/out/load.png). The same dict goes to bench/out/load.json; Locust's CSV files, its log, the
shoppers' summary and the local cloud's console go to bench/out/load/.

`python -m bench.load` runs it alone and prints the dict as JSON.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shopstack.harness import LocalCloud

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"

SCARCE_SKUS = 5
SCARCE_UNITS = 4
"""Few enough that the shoppers sell the scarce products out within the run, even on a 2-core
machine that other work shares: the last units are raced for, which is what oversell needs."""
PLENTIFUL_SKUS = 5
PLENTIFUL_UNITS = 100_000
IDLE_SAMPLES = 20
IDLE_CARTS = 5
ORDERS_PAGE = 25
SETTLE_TIMEOUT_S = 60.0
GATEWAY_TIMEOUT_S = 30.0
SETTLE_POLL_S = 2.0
LOCUST_GRACE_S = 60.0
"""How long past the shape's end the Locust process may take to stop before it is killed."""

# Environment of the Locust process: what the shoppers buy and where they report.
ENV_SCARCE = "SHOPSTACK_LOAD_SCARCE"
ENV_PLENTIFUL = "SHOPSTACK_LOAD_PLENTIFUL"
ENV_SUMMARY = "SHOPSTACK_LOAD_SUMMARY"


@dataclass(frozen=True)
class Stage:
    """Until `until_s` seconds into the run, head for `users` at `rate` users per second."""

    until_s: float
    users: int
    rate: float


STAGES: tuple[Stage, ...] = (
    Stage(10, 200, 20),  # ramp to 200 in 10 s
    Stage(30, 200, 20),  # hold
    Stage(40, 20, 18),  # drop to 20 over 10 s
    Stage(45, 200, 36),  # spike back to 200 in 5 s
    Stage(65, 200, 36),  # hold, then stop
)


def shape_at(run_time: float, stages: Sequence[Stage] = STAGES) -> tuple[int, float] | None:
    """Locust's `LoadTestShape.tick` answer at `run_time`: (users, spawn rate), or None once the
    last stage is over (Locust then stops the run)."""
    for stage in stages:
        if run_time < stage.until_s:
            return stage.users, stage.rate
    return None


def users_peak(stages: Sequence[Stage] = STAGES) -> int:
    return max(stage.users for stage in stages)


def source_address(client: int) -> str:
    """The loopback address shopper number `client` connects from: 127.0.1.1 onwards, 250 per
    /24 (127.0.0.x stays the harness's own), distinct for the first 62,750 shoppers."""
    return f"127.0.{1 + client // 250}.{1 + client % 250}"


# Routes by template (Locust's request names), the status each answers on success.
ROUTES: dict[str, int] = {
    "GET /products": 200,
    "GET /products/{sku}": 200,
    "POST /carts": 201,
    "GET /carts/{cartId}": 200,
    "PUT /carts/{cartId}/items/{sku}": 200,
    "POST /carts/{cartId}/checkout": 201,
}
OUT_OF_STOCK_ROUTES = frozenset({"PUT /carts/{cartId}/items/{sku}", "POST /carts/{cartId}/checkout"})

OK, OUT_OF_STOCK, THROTTLED, SERVER_ERROR, OTHER = "ok", "out_of_stock", "throttled_429", "errors_5xx", "other_errors"
OUTCOMES = (OK, OUT_OF_STOCK, THROTTLED, SERVER_ERROR, OTHER)


def classify(route: str, status: int, code: str | None = None) -> str:
    """One answer's class. `status` 0 stands for no HTTP answer at all (a refused or reset
    connection, a client timeout): other_errors, as is any status the route should not answer."""
    if status >= 500:
        return SERVER_ERROR
    if status == 429:
        return THROTTLED
    if status == 409 and code == "out_of_stock" and route in OUT_OF_STOCK_ROUTES:
        return OUT_OF_STOCK
    if ROUTES.get(route) == status:
        return OK
    return OTHER


def problem_code(body: str) -> str | None:
    """The `code` of a problem (or WAF) JSON body, if there is one."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    code = parsed.get("code") if isinstance(parsed, dict) else None
    return code if isinstance(code, str) else None


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:  # Locust writes "N/A" where it has no sample
        return None


def route_stats(stats_csv: str) -> dict[str, dict[str, float | int | None]]:
    """Per route, from Locust's `<prefix>_stats.csv`: {count, p50_ms, p95_ms, p99_ms}; the
    `Aggregated` row is left out (see `aggregate`)."""
    found: dict[str, dict[str, float | int | None]] = {}
    for row in csv.DictReader(io.StringIO(stats_csv)):
        if row["Name"] == "Aggregated":
            continue
        found[f"{row['Type']} {row['Name']}"] = {
            "count": int(row["Request Count"]),
            "p50_ms": _number(row["50%"]),
            "p95_ms": _number(row["95%"]),
            "p99_ms": _number(row["99%"]),
        }
    return found


def aggregate(stats_csv: str) -> dict[str, float | int | None]:
    """The `Aggregated` row of `<prefix>_stats.csv`: every request of the run."""
    for row in csv.DictReader(io.StringIO(stats_csv)):
        if row["Name"] == "Aggregated":
            return {
                "count": int(row["Request Count"]),
                "p50_ms": _number(row["50%"]),
                "p95_ms": _number(row["95%"]),
                "p99_ms": _number(row["99%"]),
            }
    return {"count": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None}


@dataclass(frozen=True)
class Point:
    """One second of the run, from `<prefix>_stats_history.csv`'s Aggregated rows."""

    time: int
    users: int
    rps: float
    p95_ms: float | None


def history(history_csv: str) -> list[Point]:
    """The Aggregated rows of `--csv-full-history` output, one per second (the last of a second
    wins when Locust wrote two), in time order. Percentiles there are Locust's current window."""
    points: dict[int, Point] = {}
    for row in csv.DictReader(io.StringIO(history_csv)):
        if row["Name"] != "Aggregated":
            continue
        at = int(row["Timestamp"])
        points[at] = Point(at, int(row["User Count"]), _number(row["Requests/s"]) or 0.0, _number(row["95%"]))
    return [points[at] for at in sorted(points)]


# The inventory model's order statuses by what their lines hold of a product's counters.
HOLDING = frozenset({"PENDING_PAYMENT", "PAID"})
"""Stock reserved (a PAID order's stock is committed by the workflow just before CONFIRMED: read
only once no order is PAID, or the check may count one in the wrong column)."""
COMMITTED = frozenset(
    {"CONFIRMED", "SHIPPED", "DELIVERED", "RETURN_REQUESTED", "REFUNDING", "PARTIALLY_REFUNDED", "REFUNDED"}
)
"""Stock taken off on hand (no return is restocked in this run)."""
RELEASED = frozenset({"PAYMENT_FAILED", "CANCELLED", "CANCELLING"})
"""Nothing held: the reservation went back (CANCELLING writes the release with the status)."""
IN_FLIGHT = frozenset({"PENDING_PAYMENT", "PAID", "CANCELLING", "REFUNDING"})
"""Statuses the system moves on from by itself: the run waits for none to be left."""


def units_by_sku(orders: Iterable[Mapping[str, Any]], statuses: frozenset[str]) -> Counter[str]:
    units: Counter[str] = Counter()
    for order in orders:
        if order.get("status") in statuses:
            for line in order.get("lines", []):
                units[str(line["sku"])] += int(line["quantity"])
    return units


def stock_check(
    initial: Mapping[str, int], inventory: Mapping[str, Mapping[str, Any]], orders: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The conservation law for each product of `initial` (its stock before the run), from its
    inventory after the run ({onHand, reserved}) and every order: totals over those products
    {initial, on_hand_end, reserved_end, sold}, `per_sku`, `oversold` (units promised beyond the
    initial stock, summed over products) and `stock_conserved`."""
    sold, held = units_by_sku(orders, COMMITTED), units_by_sku(orders, HOLDING)
    per_sku: dict[str, dict[str, Any]] = {}
    oversold = 0
    conserved = True
    for sku, start in initial.items():
        on_hand, reserved = int(inventory[sku]["onHand"]), int(inventory[sku]["reserved"])
        expected_on_hand, expected_reserved = start - sold[sku], held[sku]
        over = max(0, sold[sku] + held[sku] - start, -on_hand, reserved - on_hand)
        ok = on_hand == expected_on_hand and reserved == expected_reserved and 0 <= reserved <= on_hand
        per_sku[sku] = {
            "initial": start,
            "on_hand_end": on_hand,
            "reserved_end": reserved,
            "sold": sold[sku],
            "held": held[sku],
            "oversold": over,
            "conserved": ok,
        }
        oversold += over
        conserved = conserved and ok
    totals = {
        key: sum(int(row[key]) for row in per_sku.values())
        for key in ("initial", "on_hand_end", "reserved_end", "sold")
    }
    return {"stock": {**totals, "per_sku": per_sku}, "oversold": oversold, "stock_conserved": conserved}


def outcome_totals(summary: Mapping[str, Any]) -> Counter[str]:
    """Answers per class over every route, from the shoppers' summary."""
    totals: Counter[str] = Counter()
    for counts in summary.get("outcomes", {}).values():
        totals.update({k: int(v) for k, v in counts.items()})
    return totals


def per_second(summary: Mapping[str, Any], outcome: str) -> dict[int, int]:
    """{unix second: answers of that class}, from the shoppers' summary."""
    return {int(at): int(counts.get(outcome, 0)) for at, counts in summary.get("timeline", {}).items()}


_REPORT = re.compile(r"^\[(?P<function>[A-Za-z0-9]+)\] REPORT RequestId: \S+\s+Duration: (?P<ms>[0-9.]+) ms")


def lambda_durations(console: Iterable[str]) -> dict[str, dict[str, float | int]]:
    """Per function (its short name), from the local cloud's console `REPORT` lines: invocations,
    median and p90 handler duration in ms, and total seconds: where the stack's time went."""
    found: dict[str, list[float]] = {}
    for line in console:
        for part in line.split("\n"):
            matched = _REPORT.match(part)
            if matched:
                found.setdefault(matched["function"], []).append(float(matched["ms"]))
    summary: dict[str, dict[str, float | int]] = {}
    for function, durations in sorted(found.items(), key=lambda item: -sum(item[1])):
        durations.sort()
        summary[function] = {
            "count": len(durations),
            "p50_ms": round(statistics.median(durations), 1),
            "p90_ms": round(durations[min(len(durations) - 1, int(len(durations) * 0.9))], 1),
            "total_s": round(sum(durations) / 1000, 1),
        }
    return summary


_GATEWAY_TIMEOUT = re.compile(
    r"gateway: arn:aws:lambda:[^ ]*?:function:(?:[A-Za-z0-9-]*-)?(?P<function>[A-Za-z0-9]+?)(?:Function)?"
    r"[0-9A-F]{8}-[A-Z0-9]+: endpoint request timed out \((?P<why>TimeoutError\((?P<detail>'[^']*')?\))"
)


def gateway_timeouts(console: Iterable[str]) -> dict[str, dict[str, int]]:
    """Per function, the local gateway's 504s: `queued` (no worker came free before API Gateway's
    29 s: the event never reached the handler) and `running` (the handler got a worker but was
    still running at 29 s: it runs on, and a checkout may still place its order)."""
    found: dict[str, dict[str, int]] = {}
    for matched in _GATEWAY_TIMEOUT.finditer("\n".join(console)):
        kind = "queued" if "QueueTimeout" in (matched["detail"] or "") else "running"
        counts = found.setdefault(matched["function"], {"queued": 0, "running": 0})
        counts[kind] += 1
    return found


# --- the run itself (I/O below) ---------------------------------------------------------------


def _seed(cloud: LocalCloud, admin: str) -> tuple[dict[str, int], list[str]]:
    """Scarce and plentiful products, created four at a time: {scarce sku: units}, [plentiful skus]."""
    from concurrent.futures import ThreadPoolExecutor

    from shopstack.buyer import stock_product

    with ThreadPoolExecutor(4) as pool:
        scarce = list(pool.map(lambda _: stock_product(cloud, admin, SCARCE_UNITS), range(SCARCE_SKUS)))
        plentiful = list(
            pool.map(lambda _: stock_product(cloud, admin, PLENTIFUL_UNITS, price=900), range(PLENTIFUL_SKUS))
        )
    return dict.fromkeys(scarce, SCARCE_UNITS), plentiful


def _idle_p50_ms(cloud: LocalCloud, sku: str) -> float:
    """Median of IDLE_SAMPLES paced `GET /products/{sku}` before the load: the run's baseline. A few
    carts are filled too, so that the Lambda durations before the load include the checkout
    function's (and its workers are as warm as the inventory function's)."""
    headers = {"User-Agent": "shopstack-bench"}
    for _ in range(IDLE_CARTS):
        cart = cloud.request("POST", "/carts", headers=headers)
        if cart.status != 201:
            raise RuntimeError(f"POST /carts: {cart.status} {cart.text[:300]}")
        path = f"/carts/{cart.json['cartId']}/items/{sku}"
        cloud.request("PUT", path, body={"quantity": 1}, headers={**headers, "X-Cart-Token": cart.json["cartToken"]})
    samples = []
    for _ in range(IDLE_SAMPLES):
        began = time.perf_counter()
        reply = cloud.request("GET", f"/products/{sku}", headers=headers)
        samples.append(time.perf_counter() - began)
        if reply.status != 200:
            raise RuntimeError(f"GET /products/{sku}: {reply.status} {reply.text[:300]}")
        time.sleep(0.05)
    return statistics.median(samples) * 1000


@dataclass(frozen=True)
class LocustRun:
    wall_s: float
    cpu_s: float
    """Locust's own CPU time (user + system): its share of the 2 cores is not the stack's."""
    load_before: float
    load_after: float
    """The machine's 1-minute load average before and after: other work on the machine shows here."""


def _run_locust(cloud: LocalCloud, work: Path, scarce: Sequence[str], plentiful: Sequence[str]) -> LocustRun:
    """Locust headless over the load shape (users a ramp-down stops are stopped at once, their
    request unanswered, as Locust does by default)."""
    env = {
        **os.environ,
        ENV_SCARCE: ",".join(scarce),
        ENV_PLENTIFUL: ",".join(plentiful),
        ENV_SUMMARY: str(work / "summary.json"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        cloud.base_url,
        "--csv",
        str(work / "locust"),
        "--csv-full-history",
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    import resource

    load_before = os.getloadavg()[0]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.monotonic()
    with open(work / "locust.log", "w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            process.wait(timeout=STAGES[-1].until_s + LOCUST_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise RuntimeError(f"locust did not stop: {(work / 'locust.log').read_text()[-2000:]}") from None
    elapsed = time.monotonic() - began
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    if not (work / "summary.json").exists():
        raise RuntimeError(
            f"locust wrote no summary (exit {process.returncode}): {(work / 'locust.log').read_text()[-3000:]}"
        )
    return LocustRun(elapsed, cpu, load_before, os.getloadavg()[0])


def _admin_get(cloud: LocalCloud, admin: str, path: str, attempts: int = 3) -> Any:
    """An admin read, tried again after a 5xx (the run reports those of its shoppers, not these)."""
    for attempt in range(attempts):
        reply = cloud.request("GET", path, token=admin)
        if reply.status == 200:
            return reply.json
        if reply.status < 500 or attempt == attempts - 1:
            raise RuntimeError(f"GET {path}: {reply.status} {reply.text[:300]}")
        time.sleep(1 + attempt)
    raise AssertionError("unreachable")


def _all_orders(cloud: LocalCloud, admin: str) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = f"limit={ORDERS_PAGE}" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        page = _admin_get(cloud, admin, f"/admin/orders?{query}")
        orders += page["items"]
        cursor = page.get("nextCursor")
        if not cursor:
            return orders


def _in_flight(cloud: LocalCloud, admin: str) -> int:
    """Orders in an IN_FLIGHT status (one status-index page each: at most 100 per status)."""
    return sum(
        len(_admin_get(cloud, admin, f"/admin/orders?status={status}&limit=100")["items"]) for status in IN_FLIGHT
    )


def _settled_orders(cloud: LocalCloud, admin: str) -> tuple[list[dict[str, Any]], float]:
    """Every order, once the run has settled, and how long that took. Settled: API Gateway's
    integration timeout (GATEWAY_TIMEOUT_S) has passed since the load ended (a request of a shopper
    that Locust stopped may still be waiting for a worker until then, and a checkout among them
    may still place its order), no order was in flight at two looks SETTLE_POLL_S apart, and none
    is in the full listing read after them. SETTLE_TIMEOUT_S bounds the wait (`unsettled` then
    counts what was left)."""
    began = time.monotonic()
    while True:
        time.sleep(max(0.0, GATEWAY_TIMEOUT_S - (time.monotonic() - began)))
        quiet = 0
        while quiet < 2 and time.monotonic() - began < SETTLE_TIMEOUT_S:
            quiet = quiet + 1 if _in_flight(cloud, admin) == 0 else 0
            time.sleep(SETTLE_POLL_S)
        orders = _all_orders(cloud, admin)
        if not any(o["status"] in IN_FLIGHT for o in orders) or time.monotonic() - began >= SETTLE_TIMEOUT_S:
            return orders, time.monotonic() - began


def _inventory(cloud: LocalCloud, admin: str, skus: Iterable[str]) -> dict[str, dict[str, Any]]:
    return {sku: _admin_get(cloud, admin, f"/admin/inventory/{sku}") for sku in skus}


def _error_logs(cloud: LocalCloud, correlation_ids: Iterable[str], limit: int = 5) -> list[dict[str, Any]]:
    """The functions' ERROR lines (and the gateway's) for the correlation ids of failed answers."""
    found: list[dict[str, Any]] = []
    for correlation_id in list(dict.fromkeys(correlation_ids))[:limit]:
        for line in cloud.logs(correlation_id=correlation_id, limit=200):
            body = line.get("json") or {}
            level = str(body.get("level", "")) if isinstance(body, dict) else ""
            if level in {"ERROR", "CRITICAL"} or "Traceback" in str(line.get("text", "")):
                found.append(line)
    return found


def plot(points: Sequence[Point], errors: Mapping[int, int], throttled: Mapping[int, int], path: Path) -> None:
    """Users, requests/s, p95 and 5xx (with 429s) per second of the run, on one shared time axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    start = points[0].time if points else min([*errors, *throttled], default=0)
    seconds = [p.time - start for p in points]
    figure, axes = plt.subplots(4, 1, sharex=True, figsize=(9, 9))
    axes[0].plot(seconds, [p.users for p in points], color="tab:blue")
    axes[0].set_ylabel("users")
    axes[1].plot(seconds, [p.rps for p in points], color="tab:green")
    axes[1].set_ylabel("requests/s")
    timed = [(s, p.p95_ms) for s, p in zip(seconds, points, strict=True) if p.p95_ms is not None]
    axes[2].plot([s for s, _ in timed], [v for _, v in timed], color="tab:orange")
    axes[2].set_ylabel("p95 ms (current)")
    span = range(0, max([*seconds, *(t - start for t in [*errors, *throttled])], default=0) + 1)
    axes[3].bar(list(span), [errors.get(start + s, 0) for s in span], color="tab:red", label="5xx")
    axes[3].plot(list(span), [throttled.get(start + s, 0) for s in span], color="tab:purple", label="429")
    axes[3].set_ylabel("answers/s")
    axes[3].legend(loc="upper right")
    axes[3].set_xlabel("seconds into the run")
    axes[0].set_title("load run: spike profile, 200 users")
    for axis in axes:
        axis.grid(alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _gateway_lines(log: Sequence[str], limit: int = 20) -> list[str]:
    """The local cloud's own complaints (the gateway's failed or timed-out integrations, a
    worker's crash) from its console, deduplicated, first `limit`."""
    wanted = [line for line in log if line.startswith(("gateway:", "lambda", "worker")) or "Traceback" in line]
    return list(dict.fromkeys(wanted))[:limit]


def measure() -> dict[str, Any]:
    from shopstack.harness import start
    from shopstack.localcloud.tokens import issue_token

    work = OUT / "load"
    work.mkdir(parents=True, exist_ok=True)
    for stale in work.iterdir():
        stale.unlink()
    phases: dict[str, float] = {}
    clock = time.monotonic()

    def phase(name: str) -> None:
        nonlocal clock
        phases[name] = round(time.monotonic() - clock, 1)
        clock = time.monotonic()

    with tempfile.TemporaryDirectory(prefix="shopstack-load-") as state:
        cloud = start(state_dir=Path(state), ses="production")
        phase("up")
        try:
            admin = issue_token(cloud.base_url, "bench@example.com", admin=True)
            scarce, plentiful = _seed(cloud, admin)
            idle_ms = _idle_p50_ms(cloud, plentiful[0])
            phase("seed")
            idle_end = len(cloud.log)
            run = _run_locust(cloud, work, list(scarce), plentiful)
            load_end = len(cloud.log)
            phase("locust")
            summary = json.loads((work / "summary.json").read_text())
            stats_csv = (work / "locust_stats.csv").read_text()
            points = history((work / "locust_stats_history.csv").read_text())
            orders, settle_s = _settled_orders(cloud, admin)
            inventory = _inventory(cloud, admin, scarce)
            samples = summary.get("samples", [])
            logs = _error_logs(cloud, [s["correlationId"] for s in samples if s.get("correlationId")])
            phase("read_back")
        finally:
            (work / "cloud.log").write_text("\n".join(cloud.log) + "\n")
            cloud.stop(timeout=120)
        phase("stop")
        cloud_log = list(cloud.log)
        console = _gateway_lines(cloud_log)

    routes = route_stats(stats_csv)
    totals = outcome_totals(summary)
    placed = {str(o["orderId"]) for o in summary.get("orders", [])}
    statuses = Counter(str(o["status"]) for o in orders)  # a fresh cloud: every order is the run's
    checked = stock_check(scarce, inventory, orders)
    p95 = routes.get("GET /products/{sku}", {}).get("p95_ms")
    plot_path = OUT / "load.png"
    plot(points, per_second(summary, SERVER_ERROR), per_second(summary, THROTTLED), plot_path)
    phase("plot")
    result = {
        "users_peak": users_peak(),
        "duration_s": round(run.wall_s, 1),
        "requests": aggregate(stats_csv)["count"],
        "routes": routes,
        "idle_p50_ms": round(idle_ms, 1),
        "p95_vs_idle": round(float(p95) / idle_ms, 1) if p95 else None,
        "errors_5xx": totals[SERVER_ERROR],
        "throttled_429": totals[THROTTLED],
        "out_of_stock": totals[OUT_OF_STOCK],
        "other_errors": totals[OTHER],
        "outcomes_by_route": summary.get("outcomes", {}),
        "orders_placed": len(orders),
        "checkouts_201": len(placed),
        "orders_confirmed": statuses.get("CONFIRMED", 0),
        "orders_by_status": dict(statuses),
        "unsettled": sum(n for status, n in statuses.items() if status in IN_FLIGHT),
        "settle_s": round(settle_s, 1),
        **checked,
        "error_samples": samples[:10],
        "error_logs": logs[:10],
        "cloud_console": console,
        "gateway_timeouts": gateway_timeouts(cloud_log),
        "lambda_durations": {
            "before": lambda_durations(cloud_log[:idle_end]),
            "load": lambda_durations(cloud_log[idle_end:load_end]),
        },
        "locust_cpu_share": round(run.cpu_s / run.wall_s, 2),
        "phases_s": phases,
        "machine_load_avg": {"before": run.load_before, "after": run.load_after, "cores": os.cpu_count()},
        "plot": str(plot_path.relative_to(ROOT)),
    }
    (OUT / "load.json").write_text(json.dumps(result, indent=2) + "\n")
    return {"load": result}


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
