"""`shopstack up --seed demo` as a newcomer runs it: the demo catalog, then a clean stop."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import platform
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from shopstack.harness import ROOT, LocalCloud, start
from shopstack.waiting import NotMet, eventually

pytestmark = pytest.mark.integration

TGKILL = {"x86_64": 234, "aarch64": 131}
"""The tgkill system call's number, by machine."""


def sigterm_a_thread_other_than_main(pid: int) -> None:
    """Deliver SIGTERM to one of the process's other threads, as the kernel may do with a SIGTERM
    sent to the process (Python then runs its handler only when the main thread next runs). The
    oldest threads (the servers and pollers) live as long as the process; a request thread may end
    before the signal reaches it, and then the next one is tried."""
    threads = sorted(int(tid) for tid in os.listdir(f"/proc/{pid}/task") if int(tid) != pid)
    assert threads, "the local cloud runs its servers and pollers in threads"
    libc = ctypes.CDLL(None, use_errno=True)
    for tid in threads:
        if libc.syscall(TGKILL[platform.machine()], pid, tid, signal.SIGTERM) == 0:
            return
        if ctypes.get_errno() != errno.ESRCH:
            raise OSError(ctypes.get_errno(), "tgkill failed")
    raise AssertionError("no thread of the local cloud took the signal")


def test_demo_seed_then_sigterm_leaves_no_process_behind(tmp_path: Path) -> None:
    cloud = start(seed="demo", state_dir=tmp_path)
    try:
        first = cloud.request("GET", "/products?limit=100").json
        products = first["items"]
        assert len(products) >= 20
        assert len({p["category"] for p in products}) >= 4
        assert all(p["images"] and p["available"] > 0 for p in products)
        tents = cloud.request("GET", "/products?category=tents").json["items"]
        assert tents and {p["category"] for p in tents} == {"tents"}
        tree = cloud.children()
        assert len(tree) > 1, "the local cloud should have started Lambda workers"
        sigterm_a_thread_other_than_main(cloud.process.pid)
        assert cloud.process.wait(30) == 0, "SIGTERM to any thread stops the local cloud"
    finally:
        cloud.stop()
    with contextlib.suppress(NotMet):
        eventually(lambda: not any(Path(f"/proc/{pid}").exists() for pid in tree), timeout=10, interval=0.2)
    assert [pid for pid in tree if Path(f"/proc/{pid}").exists()] == []
    assert any("[InventoryApi]" in line for line in cloud.log), "function logs carry the function's name"


def test_token_command_prints_a_token_the_gateway_accepts(cloud: LocalCloud) -> None:
    printed = subprocess.run(
        [
            sys.executable,
            "-m",
            "shopstack",
            "token",
            "--email",
            "cli@example.com",
            "--admin",
            "--endpoint",
            cloud.base_url,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert printed.count(".") == 2
    reply = cloud.request("GET", "/admin/inventory/NOPE", token=printed)
    assert reply.status == 404
