"""`shopstack up` points the deployed Stripe secret at the emulator and registers the webhook route."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto import mock_aws

from shopstack.localcloud.up import configure_stripe
from shopstack.stripe_emulator import EmulatorServer


@dataclass
class FakeCloud:
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return boto3.client(
            service, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )


def test_secret_and_webhook_endpoint(server: EmulatorServer) -> None:
    with mock_aws():
        cloud = FakeCloud({"shopstack-dev-checkout": {"StripeSecretName": "shopstack/dev/stripe"}})
        cloud.client("secretsmanager").create_secret(Name="shopstack/dev/stripe", SecretString="{}")
        assert configure_stripe(cloud, server, "http://127.0.0.1:3000")  # type: ignore[arg-type]
        value = json.loads(
            cloud.client("secretsmanager").get_secret_value(SecretId="shopstack/dev/stripe")["SecretString"]
        )
    assert value["secretKey"] == "sk_test_local" and value["apiBase"] == server.url
    assert value["webhookSecret"].startswith("whsec_")
    endpoints = list(server.emulator.state.webhook_endpoints.values())
    assert [(e["url"], e["secret"]) for e in endpoints] == [
        ("http://127.0.0.1:3000/webhooks/stripe", value["webhookSecret"])
    ]
    server.emulator.reset(webhook_endpoints=True)


def test_without_the_checkout_stack_nothing_happens(server: EmulatorServer) -> None:
    assert configure_stripe(FakeCloud({"shopstack-dev-api": {}}), server, "http://127.0.0.1:3000") is False  # type: ignore[arg-type]
    assert server.emulator.state.webhook_endpoints == {}
