"""A local cloud (moto, hooks, worker pool, pollers) per test module, with the fixture assembly
deployed: functions from tests/localcloud/fixtures/handlers.py. moto's backends are process-wide
and other modules here reset them, so each module starts from empty backends."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest

from shopstack.localcloud.gateway import LocalGateway
from shopstack.localcloud.lambda_pool import LambdaPool
from shopstack.localcloud.server import ACCOUNT_ID, REGION
from shopstack.localcloud.up import LocalCloud

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ASSEMBLY = FIXTURES / "assembly"


def reset_moto() -> None:
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    reset_moto()
    local = LocalCloud(code_paths=[FIXTURES], log_stream=io.StringIO(), ses_mode="production").start()
    try:
        local.deploy(ASSEMBLY)
        local.start_pollers()
        yield local
    finally:
        local.stop()
        reset_moto()


@pytest.fixture(scope="module")
def outputs(cloud: LocalCloud) -> dict[str, str]:
    return {k: v for stack in cloud.outputs.values() for k, v in stack.items()}


@pytest.fixture(scope="module")
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


@pytest.fixture(scope="module")
def pool(cloud: LocalCloud) -> LambdaPool:
    assert cloud.pool is not None
    return cloud.pool


@pytest.fixture(scope="module")
def records_table(cloud: LocalCloud) -> str:
    return next(name for key, name in cloud.tables().items() if key.startswith("FixtureShared/Records"))


def one_stack_assembly(directory: Path, stack: str, template: dict[str, Any]) -> Path:
    """A cloud assembly in `directory` holding one stack, as `cdk synth` writes it."""
    (directory / f"{stack}.template.json").write_text(json.dumps(template))
    artifact = {"type": "aws:cloudformation:stack", "properties": {"templateFile": f"{stack}.template.json"}}
    (directory / "manifest.json").write_text(json.dumps({"version": "55.0.0", "artifacts": {stack: artifact}}))
    return directory


@contextmanager
def serving(gateway: Any) -> Iterator[str]:
    """A WSGI app (the local gateway) served on a free loopback port while the block runs."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, gateway, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


def lambda_function(handler: str, code_key: str, **properties: Any) -> dict[str, Any]:
    """A fixture template's Lambda function: `handlers.<handler>` from the assets bucket's
    `code_key`, role `Role`."""
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Code": {
                "S3Bucket": {"Fn::Sub": "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"},
                "S3Key": code_key,
            },
            "Handler": f"handlers.{handler}",
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Runtime": "python3.13",
            "Timeout": 3,
            **properties,
        },
        "DependsOn": ["Role"],
    }


@pytest.fixture(scope="module")
def gateway_url(cloud: LocalCloud) -> Iterator[str]:
    """The local gateway over the module's cloud, served on a free loopback port."""
    assert cloud.pool is not None
    gateway = LocalGateway(region=REGION, account_id=ACCOUNT_ID, invoke=cloud.pool.invoke, moto_url=cloud.moto_url)
    gateway.log_stream = io.StringIO()
    gateway.refresh()
    with serving(gateway) as url:
        yield url


__all__ = ["ACCOUNT_ID", "REGION"]
