"""Warm CPU per API route, against a bare Powertools resolver in the same process.

Each route's request is handed straight to its deployed function's handler in this process (its
Lambda environment, AWS answered by a running local cloud), after warm-up requests, so every
import, client and cache is in place as in a warm Lambda sandbox. The CPU time of the thread that
runs the handler (user + system, `time.thread_time`) is read around each request: its whole cost,
nothing subtracted, log lines included (written to a sink that keeps nothing). Beside it, the CPU
spent inside botocore (from a call's first event, `before-parameter-build`, to `after-call`:
building, signing and parsing the request; the local cloud's own work is another process) and the
number of AWS calls. Stripe requests (checkout authorizes a payment) are in the handler's CPU.

The baseline is a bare Powertools `APIGatewayRestResolver` route returning a constant, timed the
same way in the same process. Each number is the median of SAMPLES requests (CHECKOUT_SAMPLES
checkouts, each of a new cart) after WARM_UP; BENCH_WARM_SCALE multiplies the sample counts.

Report keys: `warm_cpu_us` {"<METHOD> <route>": median µs per request, ..., "baseline: bare
resolver": µs}, `warm_cpu_aws_client_us` {route: median µs inside botocore}, `warm_cpu_aws_calls`
{route: AWS calls per request}, `warm_cpu_ratio` {route: warm_cpu_us / baseline}."""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Callable
from typing import Any

from bench.inprocess import RECORDER, Shop, cpu, deployed_functions, proxy_event, shared_cloud

SAMPLES = 15
CHECKOUT_SAMPLES = 6
WARM_UP = 3
BASELINE = "baseline: bare resolver"


def bare_resolver() -> Callable[[], Any]:
    """One request to a Powertools REST resolver whose only route returns a constant."""
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    app = APIGatewayRestResolver()

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"status": "ok"}

    event = proxy_event("GET", "/ping", "/ping")
    context = type("Context", (), {"aws_request_id": "bench"})()
    return lambda: app.resolve(event, context)


def sample(run: Callable[[], Any], setup: Callable[[], Any] | None, count: int) -> dict[str, Any]:
    """Median CPU µs of `run` (and inside botocore), `setup` run before each, untimed."""
    total: list[float] = []
    botocore: list[float] = []
    calls: list[int] = []
    for _ in range(WARM_UP + count):
        if setup is not None:
            setup()
        with RECORDER.recording() as log:
            began = cpu()
            run()
            spent = cpu() - began
        total.append(spent * 1e6)
        botocore.append(log.botocore_cpu * 1e6)
        calls.append(len(log.calls))
    total, botocore, calls = total[WARM_UP:], botocore[WARM_UP:], calls[WARM_UP:]
    return {
        "us": round(statistics.median(total), 1),
        "aws_client_us": round(statistics.median(botocore), 1),
        "aws_calls": int(statistics.median(calls)),
    }


def routes(
    shop: Shop, sku: str, order: dict[str, Any]
) -> dict[str, tuple[Callable[[], Any], Callable[[], Any] | None, int]]:
    """Each route: (the timed request, an untimed setup before it, samples)."""
    cart = shop.new_cart()
    quantity = [1]

    def update() -> Any:
        quantity[0] = 3 - quantity[0]  # 1, 2, 1, ...: every request changes the cart
        return shop.api("checkout", shop.cart_update(cart, sku, quantity[0]), 200)

    ready: dict[str, Any] = {}

    def fresh_cart() -> None:
        ready["event"] = shop.checkout(shop.new_cart(sku))

    return {
        "GET /products": (lambda: shop.api("inventory", shop.product_list(), 200), None, SAMPLES),
        "GET /products/{sku}": (lambda: shop.api("inventory", shop.product_read(sku), 200), None, SAMPLES),
        "POST /carts": (lambda: shop.api("checkout", shop.cart_create(), 201), None, SAMPLES),
        "PUT /carts/{cartId}/items/{sku}": (update, None, SAMPLES),
        "POST /carts/{cartId}/checkout": (
            lambda: shop.api("checkout", ready["event"], 201),
            fresh_cart,
            CHECKOUT_SAMPLES,
        ),
        "GET /orders/{orderId}": (lambda: shop.api("orders", shop.order_read(order), 200), None, SAMPLES),
    }


def measure() -> dict[str, Any]:
    cloud, fixtures = shared_cloud()
    shop = Shop(cloud, deployed_functions(cloud))
    scale = float(os.environ.get("BENCH_WARM_SCALE", "1"))
    results: dict[str, dict[str, Any]] = {}
    with shop.active():
        for route, (run, setup, count) in routes(shop, fixtures.sku, fixtures.order).items():
            results[route] = sample(run, setup, max(3, int(count * scale)))
        results[BASELINE] = sample(bare_resolver(), None, max(3, int(SAMPLES * 4 * scale)))
    baseline = results[BASELINE]["us"]
    return {
        "warm_cpu_us": {route: r["us"] for route, r in results.items()},
        "warm_cpu_aws_client_us": {route: r["aws_client_us"] for route, r in results.items() if route != BASELINE},
        "warm_cpu_aws_calls": {route: r["aws_calls"] for route, r in results.items() if route != BASELINE},
        "warm_cpu_ratio": {route: round(r["us"] / baseline, 1) for route, r in results.items() if route != BASELINE},
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
