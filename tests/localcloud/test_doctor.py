"""`shopstack doctor`: each check as a pure function of the facts, and the facts gathered from a
local cloud (the fixture assembly's), with the SES mode switched under it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shopstack import doctor
from shopstack.doctor import Facts
from shopstack.localcloud import ses_sandbox
from shopstack.localcloud.up import LocalCloud

Aws = Callable[[str], Any]
GOOD_KEYS = json.dumps({"secretKey": "sk_test_abc", "webhookSecret": "whsec_abc"})


def ready(**changes: Any) -> Facts:
    facts = Facts(
        stage="dev",
        region="eu-west-1",
        account="111122223333",
        local=False,
        mail_from="orders@shop.example",
        stripe_secret_name="shopstack/dev/stripe",
        stripe_secret=GOOD_KEYS,
        stripe_secret_exists=True,
        sender_identities={"orders@shop.example": {"VerifiedForSendingStatus": True, "VerificationStatus": "SUCCESS"}},
        ses_production_access=True,
        api_deployed=True,
        cloudwatch_role_arn="arn:aws:iam::111122223333:role/ApiGatewayLogs",
        bootstrap_version="30",
    )
    for key, value in changes.items():
        setattr(facts, key, value)
    return facts


def todo(facts: Facts) -> dict[str, doctor.Finding]:
    return {f.check: f for f in doctor.diagnose(facts) if not f.ok}


def test_a_ready_account_has_nothing_left_to_do() -> None:
    assert todo(ready()) == {}
    assert doctor.render(doctor.diagnose(ready()), ready()).endswith("all is ready")


@pytest.mark.parametrize(
    ("secret", "named"),
    [
        (json.dumps({"secretKey": "sk_test_replace_me", "webhookSecret": "whsec_replace_me"}), "placeholder"),
        (json.dumps({}), "secretKey is missing; webhookSecret is missing"),
        ("", "the secret is empty"),
        (json.dumps({"secretKey": "pk_live_x", "webhookSecret": "whsec_x"}), "secretKey is not"),
    ],
)
def test_missing_or_placeholder_stripe_keys_are_named_with_the_command_that_fixes_them(secret: str, named: str) -> None:
    finding = todo(ready(stripe_secret=secret))["stripe"]
    assert named in finding.summary
    assert "aws secretsmanager put-secret-value --secret-id shopstack/dev/stripe" in finding.fix


def test_no_stripe_secret_before_the_first_deploy() -> None:
    finding = todo(ready(stripe_secret_exists=False, stripe_secret=None))["stripe"]
    assert "does not exist yet" in finding.summary and "cdk deploy" in finding.fix


def test_an_unverified_sender_is_named() -> None:
    pending = {"orders@shop.example": {"VerifiedForSendingStatus": False, "VerificationStatus": "PENDING"}}
    finding = todo(ready(sender_identities=pending))["ses_identity"]
    assert finding.summary == "SES sender orders@shop.example is not verified (PENDING)"
    assert "shop.example" in finding.fix
    assert "not an identity yet" in todo(ready(sender_identities={}))["ses_identity"].summary


def test_a_verified_domain_verifies_its_addresses() -> None:
    domain = {"shop.example": {"VerifiedForSendingStatus": True}}
    assert "ses_identity" not in todo(ready(sender_identities=domain))


def test_the_ses_sandbox_is_named_with_how_to_leave_it() -> None:
    finding = todo(ready(ses_production_access=False))["ses_account"]
    assert "sandbox" in finding.summary and "put-account-details" in finding.fix


def test_the_api_gateway_account_role() -> None:
    missing = todo(ready(cloudwatch_role_arn=None))["api_logs_role"]
    assert "no CloudWatch Logs role" in missing.summary and "update-account" in missing.fix
    assert "api_logs_role" not in todo(ready(cloudwatch_role_arn=None, api_deployed=False))
    assert "api_logs_role" in todo(
        ready(cloudwatch_role_arn=None, api_deployed=False, api_gateway_account_role="existing")
    )
    assert "api_logs_role" not in todo(ready(cloudwatch_role_arn=None, api_access_logs=False))


def test_the_bootstrap_version() -> None:
    assert "not bootstrapped" in todo(ready(bootstrap_version=None))["bootstrap"].summary
    old = todo(ready(bootstrap_version="5", required_bootstrap_version=6))["bootstrap"]
    assert "older" in old.summary and old.fix == "npx cdk bootstrap aws://111122223333/eu-west-1"


def test_unreadable_facts_are_left_to_do() -> None:
    facts = ready(errors={"ses_account": "AccessDeniedException: no"})
    assert "AccessDenied" in todo(facts)["ses_account"].summary


def test_stripe_secret_candidates_prefer_the_conventional_name() -> None:
    outputs = [
        ("shopstack-dev-shared", "StripeSecretName", "shopstack/dev/stripe"),
        ("shopstack-prod-shared", "StripeSecretName", "shopstack/prod/stripe"),
        ("ShopstackShared", "StripeSecretName", "legacy/dev/stripe"),
    ]
    assert doctor.stripe_secret_candidates("dev", outputs) == ["shopstack/dev/stripe", "legacy/dev/stripe"]


def test_context_values_may_be_per_stage() -> None:
    assert doctor.for_stage({"prod": "a@x.example", "default": "b@x.example"}, "prod", "c") == "a@x.example"
    assert doctor.for_stage({"default": "b@x.example"}, "dev", "c") == "b@x.example"
    assert doctor.for_stage(None, "dev", "c") == "c"


# --- against the local cloud ---------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "cdk.json").write_text(json.dumps({"context": {"stage": "doc", "mailFrom": "orders@shop.example"}}))
    return tmp_path


@pytest.fixture
def stripe_secret(aws: Aws) -> Iterator[str]:
    name = "shopstack/doc/stripe"
    aws("secretsmanager").create_secret(Name=name, SecretString=GOOD_KEYS)
    yield name
    aws("secretsmanager").delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


def facts_of(cloud: LocalCloud, project: Path) -> Facts:
    return doctor.gather(
        cloud.client, stage="doc", region="us-east-1", account="123456789012", local=True, root=project
    )


def test_gathered_from_the_local_cloud_in_production_mode_all_is_ready(
    cloud: LocalCloud, project: Path, stripe_secret: str
) -> None:
    ses_sandbox.set_mode("production")
    assert todo(facts_of(cloud, project)) == {}


def test_gathered_from_the_local_cloud_in_the_sandbox(cloud: LocalCloud, project: Path, stripe_secret: str) -> None:
    ses_sandbox.set_mode("sandbox")
    try:
        left = todo(facts_of(cloud, project))
    finally:
        ses_sandbox.set_mode("production")
    assert set(left) == {"ses_identity", "ses_account"}
    assert "orders@shop.example is not verified" in left["ses_identity"].summary


def test_gathered_with_the_secret_emptied(cloud: LocalCloud, project: Path, aws: Aws, stripe_secret: str) -> None:
    aws("secretsmanager").put_secret_value(SecretId=stripe_secret, SecretString="{}")
    left = todo(facts_of(cloud, project))
    assert set(left) == {"stripe"}
    assert "secretKey is missing; webhookSecret is missing" in left["stripe"].summary


def test_the_cli_says_so_when_no_local_cloud_answers(capsys: pytest.CaptureFixture[str]) -> None:
    from shopstack.cli import main

    assert main(["doctor", "--endpoint", "http://127.0.0.1:9"]) == 2
    assert "no local cloud" in capsys.readouterr().err
