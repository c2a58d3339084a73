"""Unit tests run without I/O: no network, no AWS endpoint, fakes behind the ports."""

from __future__ import annotations

import os
from typing import Any

import pytest

os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Shopstack")
"""Handlers flush their metrics as EMF; the functions' environment names the namespace."""


@pytest.fixture(autouse=True)
def _no_cloud(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "unit")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "unit")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture(autouse=True)
def erasures(monkeypatch: pytest.MonkeyPatch) -> Any:
    """An empty erasure log in memory behind every API edge and the customers service."""
    from commerce import erasures as module
    from tests.unit.fakes import FakeErasureLog

    fake = FakeErasureLog()
    monkeypatch.setattr(module, "log", lambda: fake)
    monkeypatch.setattr(module, "_erased", set())
    monkeypatch.setattr(module, "_last_active", None)
    return fake
