"""Integration tests share the session's local cloud (tests/conftest.py); a failing test shows the
errors the local cloud logged while it ran."""

from __future__ import annotations

from typing import Any

import pytest

from shopstack.harness import LocalCloud


@pytest.fixture(autouse=True)
def _cloud_log_on_failure(request: pytest.FixtureRequest, cloud: LocalCloud) -> None:
    """Marks where the local cloud's log stood when the test began (see the report hook below)."""
    request.node.cloud_log_start = len(cloud.log)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failing test shows the errors the local cloud logged while it ran."""
    report = yield
    cloud = getattr(item, "funcargs", {}).get("cloud")
    if report.when == "call" and report.failed and cloud is not None:
        lines = cloud.log[getattr(item, "cloud_log_start", 0) :]
        errors = [line for line in lines if "rror" in line or "Traceback" in line or "exception" in line]
        report.sections.append(("local cloud errors", "\n".join(errors[-20:])[-12000:]))
    return report
