"""The local cloud keeps its work as a database does: a SIGKILL loses at most the last few seconds,
and no worker outlives the process that started it.

Starts its own clouds (not the session's): one is killed with SIGKILL, the next starts from the
same state directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from shopstack.buyer import buy, stock_product, wait_until
from shopstack.harness import LocalCloud, start
from shopstack.localcloud.durable import DYNAMODB_FILE, STRIPE_FILE
from shopstack.localcloud.tokens import issue_token
from shopstack.waiting import NotMet, eventually

pytestmark = pytest.mark.integration

SNAPSHOT_WAIT_SECONDS = 10.0


def stripe_get(cloud: LocalCloud, path: str) -> tuple[int, Any]:
    request = urllib.request.Request(f"{cloud.stripe_url}{path}", headers={"Authorization": "Bearer sk_test_local"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def intent_of(cloud: LocalCloud, order_id: str) -> str:
    status, listed = stripe_get(cloud, "/v1/payment_intents?limit=100")
    assert status == 200, listed
    [intent] = [i["id"] for i in listed["data"] if i.get("metadata", {}).get("orderId") == order_id]
    return str(intent)


def on_disk(state: Path, name: str, value: str) -> bool:
    """The state file `name` (a snapshot of the running cloud) mentions `value`."""
    try:
        return value in (state / name).read_text()
    except OSError:
        return False


def alive(pids: set[int]) -> set[int]:
    found = set()
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[0] != "Z":
            found.add(pid)
    return found


def wait_gone(pids: set[int], timeout: float = 10.0) -> set[int]:
    """The processes still alive after waiting up to `timeout` for all to end."""
    with contextlib.suppress(NotMet):
        eventually(lambda: not alive(pids), timeout=timeout, interval=0.1)
    return alive(pids)


def test_an_order_survives_a_sigkill_with_its_payment(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = start(state_dir=state, own_process_group=True)
    try:
        admin = issue_token(first.base_url, "staff@example.com", admin=True)
        sku = stock_product(first, admin, 10)
        bought = buy(first, sku)
        intent = intent_of(first, bought.order_id)
        eventually(  # this order is on disk, with its payment
            lambda: on_disk(state, DYNAMODB_FILE, bought.order_id) and on_disk(state, STRIPE_FILE, intent),
            timeout=SNAPSHOT_WAIT_SECONDS,
            interval=0.25,
        )
        workers = first.children() - {first.process.pid}
        assert workers, "no worker process was running"
        # SIGKILL the main process alone: its workers must not outlive it
        os.kill(first.process.pid, 9)
        first.process.wait(30)
        assert not wait_gone(workers), "workers outlived the local cloud"
    finally:
        if first.process.poll() is None:
            first.kill_group()

    second = start(state_dir=state, fresh=False, own_process_group=True)
    try:
        view = second.request("GET", f"/orders/{bought.order_id}", headers=bought.headers)
        assert view.status == 200, view.text
        assert view.json["status"] in ("PENDING_PAYMENT", "PAID", "CONFIRMED"), view.json
        status, restored = stripe_get(second, f"/v1/payment_intents/{intent}")
        assert status == 200, restored
        assert restored["metadata"].get("orderId") == bought.order_id
        assert restored["status"] in ("requires_capture", "succeeded"), restored["status"]
        # the restored cloud still sells: stock, carts and payments work on the restored state
        again = issue_token(second.base_url, "staff@example.com", admin=True)
        new_order = buy(second, stock_product(second, again, 5))
        assert wait_until(second, [new_order], ("CONFIRMED",), timeout=90)[new_order.order_id] == "CONFIRMED"
        tree = second.children()
        assert len(tree) > 1
        second.kill_group()
        assert not wait_gone(tree), "processes of the local cloud survived a SIGKILL of its group"
    finally:
        if second.process.poll() is None:
            second.kill_group()
