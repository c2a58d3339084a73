"""One local cloud (moto, hooks, worker pool, pollers) for the whole test session, with the
fixture assembly deployed: functions from tests/localcloud/fixtures/handlers.py."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from shopstack.localcloud.lambda_pool import LambdaPool
from shopstack.localcloud.server import ACCOUNT_ID, REGION
from shopstack.localcloud.up import LocalCloud

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ASSEMBLY = FIXTURES / "assembly"


@pytest.fixture(scope="session")
def cloud() -> Iterator[LocalCloud]:
    local = LocalCloud(code_paths=[FIXTURES], log_stream=io.StringIO()).start()
    local.deploy(ASSEMBLY)
    local.start_pollers()
    yield local
    local.stop()


@pytest.fixture(scope="session")
def outputs(cloud: LocalCloud) -> dict[str, str]:
    return {k: v for stack in cloud.outputs.values() for k, v in stack.items()}


@pytest.fixture(scope="session")
def aws(cloud: LocalCloud) -> Callable[[str], Any]:
    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=cloud.moto_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return client


@pytest.fixture(scope="session")
def pool(cloud: LocalCloud) -> LambdaPool:
    assert cloud.pool is not None
    return cloud.pool


@pytest.fixture(scope="session")
def records_table(cloud: LocalCloud) -> str:
    return next(name for key, name in cloud.tables().items() if key.startswith("FixtureShared/Records"))


def eventually(check: Callable[[], Any], timeout: float = 15.0, interval: float = 0.1) -> Any:
    """The first truthy result of check(), or fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(interval)


__all__ = ["ACCOUNT_ID", "REGION", "eventually"]
