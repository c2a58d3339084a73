"""Shoppers of the load run (bench/load.py starts Locust with this file; see its docstring).

Each shopper browses the catalog, fills carts with plentiful products, and now and then buys,
mostly one of the scarce products, paying with the Stripe emulator's test card as the storefront
does with a saved card (`paymentMethod: pm_card_visa`, confirmed server-side). Requests are named
by route template (`/products/{sku}`), so Locust's statistics group per route. Every answer is
classed by `bench.load.classify`: the route's success status and 409 `out_of_stock` pass, 429s,
5xx and anything else fail in Locust's statistics and are counted apart per class, per route and
per second. Every request carries an X-Correlation-Id of its own, so that a failed one can be
found in the functions' logs. At the end the counts, the orders placed and up to MAX_SAMPLES
failed answers (route, status, the correlation id sent, API Gateway's request id, body) go to the
JSON file named by SHOPSTACK_LOAD_SUMMARY.

Each shopper connects from its own loopback address (`source_address`): the web ACL counts
requests per client address, as AWS does for separate people.

Environment: SHOPSTACK_LOAD_SCARCE and SHOPSTACK_LOAD_PLENTIFUL (comma-separated SKUs),
SHOPSTACK_LOAD_SUMMARY (a file path). By hand, from the repository root, against a running
`shopstack up` whose catalog holds those SKUs:
`SHOPSTACK_LOAD_SCARCE=A,B SHOPSTACK_LOAD_PLENTIFUL=C SHOPSTACK_LOAD_SUMMARY=summary.json
python -m locust -f bench/locustfile.py --headless --host http://127.0.0.1:3000`.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
import uuid
from collections import Counter, defaultdict
from typing import Any

from locust import HttpUser, LoadTestShape, between, events, task
from locust.clients import LocustHttpAdapter
from urllib3 import PoolManager

from bench.load import (
    ENV_PLENTIFUL,
    ENV_SCARCE,
    ENV_SUMMARY,
    OK,
    OTHER,
    OUT_OF_STOCK,
    SERVER_ERROR,
    classify,
    problem_code,
    shape_at,
    source_address,
)
from shopstack.buyer import ADDRESS

SCARCE = [sku for sku in os.environ.get(ENV_SCARCE, "").split(",") if sku]
PLENTIFUL = [sku for sku in os.environ.get(ENV_PLENTIFUL, "").split(",") if sku]
SCARCE_SHARE = 0.8
"""Of the purchases, the share that goes for a scarce product."""
REQUEST_TIMEOUT_S = 40
"""Past API Gateway's 29 s integration timeout: a slow answer arrives as the gateway's 504."""
MAX_SAMPLES = 50

_clients = itertools.count()
_outcomes: defaultdict[str, Counter[str]] = defaultdict(Counter)
_timeline: defaultdict[int, Counter[str]] = defaultdict(Counter)
_orders: list[dict[str, Any]] = []
_samples: list[dict[str, Any]] = []


class Shopper(HttpUser):
    wait_time = between(2, 8)
    """Think time between a shopper's actions (a page view, a cart change, a purchase)."""

    def on_start(self) -> None:
        self.number = next(_clients)
        pool = PoolManager(num_pools=2, maxsize=1, source_address=(source_address(self.number), 0))
        self.client.mount("http://", LocustHttpAdapter(pool_manager=pool))
        self.client.headers["User-Agent"] = "shopstack-load"

    def call(
        self,
        method: str,
        path: str,
        route: str,
        *,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any] | None:
        """One request named by its route template; its parsed body when it answered as the
        route does on success, else None."""
        name = f"{method} {route}"
        correlation_id = f"load-{uuid.uuid4().hex}"
        sent = {**(headers or {}), "X-Correlation-Id": correlation_id}
        with self.client.request(
            method, path, name=route, json=body, headers=sent, catch_response=True, timeout=REQUEST_TIMEOUT_S
        ) as response:
            status = int(response.status_code or 0)
            text = (response.text or "") if status else str(getattr(response, "error", ""))
            code = problem_code(text) if status >= 400 else None
            outcome = classify(name, status, code)
            _outcomes[name][outcome] += 1
            _timeline[int(time.time())][outcome] += 1
            if outcome in (OK, OUT_OF_STOCK):
                response.success()
            else:
                response.failure(f"{status} {code or ''}".strip())
            if outcome in (SERVER_ERROR, OTHER) and len(_samples) < MAX_SAMPLES:
                _samples.append(
                    {
                        "route": name,
                        "status": status,
                        "code": code,
                        "correlationId": correlation_id,
                        "requestId": response.headers.get("x-amzn-RequestId") if status else None,
                        "at": time.strftime("%H:%M:%S", time.gmtime()),
                        "body": text[:300],
                    }
                )
            if outcome != OK:
                return None
            try:
                parsed = response.json()
            except ValueError:
                return {}
            return parsed if isinstance(parsed, dict) else {}

    @task(5)
    def view_product(self) -> None:
        sku = random.choice(SCARCE + PLENTIFUL)
        self.call("GET", f"/products/{sku}", "/products/{sku}")

    @task(2)
    def browse(self) -> None:
        self.call("GET", "/products?limit=20", "/products")
        self.view_product()

    def _cart_with(self, sku: str, quantity: int) -> tuple[str, dict[str, str]] | None:
        cart = self.call("POST", "/carts", "/carts")
        if not cart:
            return None
        cart_id, headers = cart["cartId"], {"X-Cart-Token": cart["cartToken"]}
        put = self.call(
            "PUT",
            f"/carts/{cart_id}/items/{sku}",
            "/carts/{cartId}/items/{sku}",
            body={"quantity": quantity},
            headers=headers,
        )
        return (cart_id, headers) if put is not None else None

    @task(2)
    def fill_cart(self) -> None:
        held = self._cart_with(random.choice(PLENTIFUL), random.randint(1, 3))
        if held:
            cart_id, headers = held
            self.call("GET", f"/carts/{cart_id}", "/carts/{cartId}", headers=headers)

    @task(2)
    def buy(self) -> None:
        scarce = random.random() < SCARCE_SHARE
        sku = random.choice(SCARCE if scarce else PLENTIFUL)
        held = self._cart_with(sku, random.randint(1, 2))
        if not held:
            return
        cart_id, headers = held
        body = {
            "email": f"shopper{self.number}@example.com",
            "shippingAddress": ADDRESS,
            "paymentMethod": "pm_card_visa",
        }
        order = self.call(
            "POST",
            f"/carts/{cart_id}/checkout",
            "/carts/{cartId}/checkout",
            body=body,
            headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        if order:
            _orders.append({"orderId": order.get("orderId"), "sku": sku, "status": order.get("status")})


class SpikeShape(LoadTestShape):
    """bench.load.STAGES: ramp, hold, drop, spike, hold, stop."""

    def tick(self) -> tuple[int, float] | None:
        return shape_at(self.get_run_time())


@events.quitting.add_listener
def _write_summary(**_: Any) -> None:
    path = os.environ.get(ENV_SUMMARY)
    if not path:
        return
    summary = {
        "outcomes": {route: dict(counts) for route, counts in _outcomes.items()},
        "timeline": {str(at): dict(counts) for at, counts in sorted(_timeline.items())},
        "orders": _orders,
        "samples": _samples,
    }
    with open(path, "w") as file:
        json.dump(summary, file)
