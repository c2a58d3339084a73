"""One local cloud per test session, started with `shopstack up` exactly as a user runs it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shopstack.harness import LocalCloud, start


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    running = start(state_dir=tmp_path_factory.mktemp("state"), ses="production")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def admin_token(cloud: LocalCloud) -> str:
    from shopstack.localcloud.tokens import issue_token

    return issue_token(cloud.base_url, "staff@example.com", admin=True)


@pytest.fixture(scope="session")
def shopper_token(cloud: LocalCloud) -> str:
    from shopstack.localcloud.tokens import issue_token

    return issue_token(cloud.base_url, "shopper@example.com")


@pytest.fixture(scope="session")
def aws(cloud: LocalCloud) -> Any:
    """boto3 clients against the local cloud's AWS endpoint, for checks a user cannot make over the API."""

    return cloud.aws


@pytest.fixture(scope="session")
def outputs(aws: Any) -> dict[str, str]:
    """Every CloudFormation output of the deployed stacks, by output key."""
    found: dict[str, str] = {}
    for stack in aws("cloudformation").describe_stacks()["Stacks"]:
        for output in stack.get("Outputs", []):
            found[output["OutputKey"]] = output["OutputValue"]
    return found


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
