"""One local cloud per test session, started with `shopstack up` exactly as a user runs it, for
the suites that work over HTTP (tests/integration, tests/security). It starts on first use, so
suites that never ask for it (unit, infra) never start it; tests/localcloud has its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shopstack.harness import LocalCloud, start


def suite_cloud(state_dir: Path) -> LocalCloud:
    """A local cloud for a suite: SES out of the sandbox, and per-client limits raised. The suites
    play every shopper from one address (127.0.0.1): far more requests and checkouts in 5 minutes
    than the web ACL's per-client limits allow one real client. tests/security exercises those
    limits from addresses of their own."""
    running = start(state_dir=state_dir, ses="production")
    running.set_rate_limits(perIp=1_000_000, checkoutPerIp=1_000_000)
    return running


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    running = suite_cloud(tmp_path_factory.mktemp("state"))
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
def outputs(cloud: LocalCloud) -> dict[str, str]:
    """Every CloudFormation output of the deployed stacks, by output key."""
    return cloud.outputs()
