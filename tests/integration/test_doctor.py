"""`shopstack doctor --endpoint URL` against the session's local cloud: it names what an operator
would still have to do (the SES sandbox and its unverified sender, missing Stripe keys) and says
all is ready, exit 0, once nothing is left."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shopstack.cli import main
from shopstack.harness import LocalCloud

Aws = Callable[[str], Any]
MAIL_FROM = "orders@shopstack.example"


def doctor(cloud: LocalCloud, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(["doctor", "--endpoint", cloud.base_url])
    return status, capsys.readouterr().out


@pytest.fixture
def stripe_secret(aws: Aws, outputs: dict[str, str]) -> Iterator[tuple[str, str]]:
    """The deployed Stripe secret's name and value, put back after the test."""
    name = outputs["StripeSecretName"]
    secrets = aws("secretsmanager")
    value = secrets.get_secret_value(SecretId=name)["SecretString"]
    yield name, value
    secrets.put_secret_value(SecretId=name, SecretString=value)


@pytest.fixture
def sandbox(cloud: LocalCloud) -> Iterator[None]:
    cloud.set_ses_mode("sandbox")
    try:
        yield
    finally:
        cloud.set_ses_mode("production")


def test_with_production_access_and_keys_in_place_all_is_ready(
    cloud: LocalCloud, stripe_secret: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cloud.ses_mode() == "production"
    status, out = doctor(cloud, capsys)
    assert status == 0, out
    assert out.rstrip().endswith("all is ready")
    assert "TODO" not in out


def test_in_the_sandbox_it_names_the_unverified_sender(
    cloud: LocalCloud, sandbox: None, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = doctor(cloud, capsys)
    assert status == 1
    assert f"TODO  SES sender {MAIL_FROM} is not verified" in out
    assert "is in the sandbox" in out
    assert "put-account-details" in out


def test_with_the_stripe_secret_emptied_it_names_the_missing_keys(
    cloud: LocalCloud, aws: Aws, stripe_secret: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    name, _ = stripe_secret
    aws("secretsmanager").put_secret_value(SecretId=name, SecretString=json.dumps({}))
    status, out = doctor(cloud, capsys)
    assert status == 1
    assert f"Stripe keys missing in {name}: secretKey is missing; webhookSecret is missing" in out
    assert f"put-secret-value --secret-id {name}" in out
