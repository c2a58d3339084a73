"""Checkout latency stays flat as orders accumulate: the checkout request of orders 195-205 against
orders 5-15 of the same run (4 concurrent buyers, one hot product, every order paid with
pm_card_visa), and the main process's memory growth over those orders.

moto's whole-table copies per transaction made each checkout slower than the last (and the main
process grow about 25 MB per order); see docs/architecture.md, "Memory and latency"."""

from __future__ import annotations

import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from shopstack.buyer import Bought, CheckoutFailed, buy, rss_mb, settle, stock_product, wait_until
from shopstack.harness import LocalCloud, start

ORDERS = 205
BUYERS = 4
EARLY = slice(4, 15)  # orders 5-15
LATE = slice(194, 205)  # orders 195-205
WARM_UP = 5


def attempt(cloud: LocalCloud, sku: str) -> Bought | float:
    """The order, or how long its failed checkout took (a timeout counts as a slow checkout)."""
    try:
        return buy(cloud, sku)
    except CheckoutFailed as exc:
        return exc.seconds


def measure() -> dict[str, Any]:
    """report.json key `checkout_latency`: {"early_ms", "late_ms", "ratio" (goal <= 1.5), "orders",
    "failed", "seconds", "main_process_growth_mb" (goal <= 50)}."""
    from shopstack.localcloud.tokens import issue_token

    with tempfile.TemporaryDirectory() as tmp:
        cloud = start(state_dir=Path(tmp), ses="production")
        try:
            admin = issue_token(cloud.base_url, "bench@example.com", admin=True)
            sku = stock_product(cloud, admin, ORDERS + WARM_UP + 10)
            wait_until(cloud, [buy(cloud, sku) for _ in range(WARM_UP)], timeout=120)
            baseline = settle(lambda: rss_mb(cloud.process.pid))
            began = time.monotonic()
            with ThreadPoolExecutor(BUYERS) as buyers:
                results = list(buyers.map(lambda _: attempt(cloud, sku), range(ORDERS)))
            elapsed = time.monotonic() - began
            wait_until(cloud, [r for r in results if isinstance(r, Bought)], timeout=300)
            growth = settle(lambda: rss_mb(cloud.process.pid)) - baseline
        finally:
            cloud.stop(timeout=120)
    failed = sum(1 for r in results if not isinstance(r, Bought))
    latencies = [(r.checkout_seconds if isinstance(r, Bought) else r) * 1000 for r in results]
    early, late = statistics.median(latencies[EARLY]), statistics.median(latencies[LATE])
    print(
        f"checkout latency: orders 5-15 median {early:.0f} ms, orders 195-205 median {late:.0f} ms "
        f"(ratio {late / early:.2f}x); {ORDERS} orders in {elapsed:.0f} s, {failed} checkouts failed; "
        f"main process grew {growth:+.1f} MB",
        flush=True,
    )
    return {
        "checkout_latency": {
            "early_ms": round(early, 1),
            "late_ms": round(late, 1),
            "ratio": round(late / early, 3),
            "orders": ORDERS,
            "failed": failed,
            "seconds": round(elapsed, 1),
            "main_process_growth_mb": round(max(growth, 0.0), 1),
        }
    }
