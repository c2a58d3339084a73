"""Busy SKUs do not refund paid orders: with 5% of DynamoDB writes failing as DynamoDB fails under
contention (TransactionCanceledException[TransactionConflict], TransactionConflictException,
ProvisionedThroughputExceededException, ThrottlingException, before anything applies), 50
concurrent checkouts of one hot SKU end with every paid order CONFIRMED, no refund and no unit
oversold. Conflicts and throttles are retried (botocore for throttling codes, commerce.dynamo for
every conflict and throttle, the workflow's Retry on TransientError)."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shopstack.buyer import stock_product
from shopstack.harness import LocalCloud, Reply
from shopstack.waiting import NotMet, eventually
from tests.integration.test_checkout import add, checkout, intents_for, inventory
from tests.integration.test_orders import _intents, view

pytestmark = pytest.mark.integration

BUYERS = int(os.environ.get("SHOPSTACK_CHAOS_BUYERS", "30"))
"""Concurrent checkouts of one hot SKU under chaos (SHOPSTACK_CHAOS_BUYERS for a larger run)."""
WORKERS = 10
CHAOS_RATE = 0.05
STOCK = 60
CONFIRM_TIMEOUT_SECONDS = 90


def _call(attempt: Any, seen: Counter[str], what: str, tries: int = 8) -> Reply:
    """A client that honours 503 + Retry-After, as the contract asks of callers; every answer
    (503s retried included) is counted in `seen`. A request that times out on an overloaded
    machine is sent again (the same Idempotency-Key makes that safe)."""

    def once() -> Reply:
        for _ in range(tries):
            try:
                return attempt()
            except OSError:
                seen[f"{what} client timeout"] += 1
        return attempt()

    reply = once()
    seen[f"{what} {reply.status}"] += 1
    for _ in range(tries - 1):
        if not _worth_retrying(reply):
            break
        time.sleep(float(reply.headers.get("retry-after", "1")))
        reply = once()
        seen[f"{what} {reply.status}"] += 1
    return reply


def _worth_retrying(reply: Reply) -> bool:
    """503 (busy), 502/504 (the gateway gave up on a slow function; the order may be placed, and
    the same Idempotency-Key finds it) and 409 idempotency_in_progress (that first try still runs)."""
    if reply.status in (502, 503, 504):
        return True
    return reply.status == 409 and "idempotency_in_progress" in reply.text


def _buy(cloud: LocalCloud, sku: str, statuses: Counter[str]) -> dict[str, Any] | None:
    created = _call(lambda: cloud.request("POST", "/carts"), statuses, "create cart")
    if created.status != 201:
        return None
    cart, headers = created.json["cartId"], {"X-Cart-Token": created.json["cartToken"]}
    added = _call(lambda: add(cloud, cart, headers, sku, 1), statuses, "add item")
    if added.status != 200:
        return None
    key = uuid.uuid4().hex
    bought = _call(lambda: checkout(cloud, cart, headers, key=key), statuses, "checkout")
    return bought.json if bought.status == 201 else None


def test_concurrent_checkouts_of_a_hot_sku_under_dynamodb_chaos_confirm_every_paid_order(
    cloud: LocalCloud, admin_token: str
) -> None:
    sku = stock_product(cloud, admin_token, STOCK)
    statuses: Counter[str] = Counter()
    began = time.monotonic()
    cloud.set_chaos(dynamodb=CHAOS_RATE)
    try:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            orders = [o for o in pool.map(lambda _: _buy(cloud, sku, statuses), range(BUYERS)) if o]
        bought_in = time.monotonic() - began
        paid = [o for o in orders if o["status"] in ("PAID", "CONFIRMED")]
        final: dict[str, dict[str, Any]] = {}

        def all_final() -> bool:
            for order in paid:
                if order["orderId"] not in final:
                    current = view(cloud, order).json
                    if current["status"] not in ("PAID", "PENDING_PAYMENT"):
                        final[order["orderId"]] = current
            return len(final) == len(paid)

        with contextlib.suppress(NotMet):  # the orders still paying are counted below
            eventually(all_final, timeout=CONFIRM_TIMEOUT_SECONDS, interval=0.5)
        state = cloud.chaos()
    finally:
        cloud.set_chaos(dynamodb=0)
    outcomes = Counter(o["status"] for o in final.values())
    refunded = [
        i["id"]
        for order in paid
        for i in _intents(cloud, order["orderId"])
        if i["status"] == "canceled" or (i.get("latest_charge") or {}).get("refunded")
    ]
    stock = inventory(cloud, admin_token, sku)
    print(
        f"\n{BUYERS} buyers ({WORKERS} at a time), chaos {CHAOS_RATE:.0%} of DynamoDB writes: checkouts done in"
        f" {bought_in:.1f} s, every paid order ended in {time.monotonic() - began:.1f} s"
        f"\n  responses: {dict(sorted(statuses.items()))}"
        f"\n  paid orders {len(paid)}, outcomes {dict(outcomes)}, refunded or voided {len(refunded)}"
        f"\n  stock {stock}"
        f"\n  faults injected (each one retried): {state.get('injected')} of {state.get('writes')} writes"
    )
    assert state["injected"]["dynamodb"] > 0, "chaos injected no fault: the test proves nothing"
    assert len(paid) == BUYERS, statuses
    assert outcomes == Counter({"CONFIRMED": len(paid)}), {k: v["history"] for k, v in final.items()}
    assert not refunded
    for order in paid:
        assert [i["status"] for i in intents_for(cloud, order["orderId"])] == ["succeeded"]
    assert stock["reserved"] == 0 and stock["onHand"] == STOCK - len(paid)
    assert stock["available"] == stock["onHand"] - stock["reserved"] >= 0
