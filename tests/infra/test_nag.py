"""cdk-nag AwsSolutions: no unacknowledged finding, and every acknowledgment justified."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs
from cdk_nag import AwsSolutionsChecks

from tests.infra.conftest import Synthesized, load_json

ACKNOWLEDGED = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY


def test_no_unacknowledged_findings(synthesized: Synthesized) -> None:
    report = load_json(synthesized.outdir / "validation-report.json")
    plugins = {plugin["pluginName"]: plugin for plugin in report["pluginReports"]}
    assert "AwsSolutions" in plugins
    assert plugins["AwsSolutions"]["conclusion"] == "success"
    assert plugins["AwsSolutions"]["violations"] == []


def test_every_acknowledgment_has_a_reason(synthesized: Synthesized) -> None:
    acknowledged: dict[str, str] = {}
    for construct in synthesized.app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == ACKNOWLEDGED:
                for rule, reason in entry.data.items():
                    acknowledged[f"{construct.node.path}: {rule}"] = reason
    assert acknowledged
    for where, reason in acknowledged.items():
        assert isinstance(reason, str) and len(reason.split()) >= 8, f"{where} needs a real reason"
        assert where.split(": ", 1)[1].startswith("AwsSolutions::AwsSolutions-"), where


def test_an_unacknowledged_finding_fails_synth(tmp_path: object) -> None:
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Probe")
    sqs.Queue(stack, "Plain")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="AwsSolutions-SQS4"):
        app.synth()


@pytest.mark.parametrize(
    ("path", "evidence"),
    [
        ("ShopstackApi/RestApi/Default/orders/{orderId}/GET", "X-Order-Token"),
        ("ShopstackApi/RestApi/Default/webhooks/carrier/POST", "X-Carrier-Signature"),
    ],
)
def test_public_order_routes_have_their_own_reasons(synthesized: Synthesized, path: str, evidence: str) -> None:
    method = synthesized.app.node.find_child("ShopstackApi").node.find_child("RestApi")
    for part in path.split("/")[2:]:
        method = method.node.find_child(part)
    reasons = [
        reason
        for entry in method.node.metadata
        if entry.type == ACKNOWLEDGED
        for rule, reason in entry.data.items()
        if rule.endswith(("APIG4", "COG4"))
    ]
    assert len(reasons) == 2 and all(evidence in reason for reason in reasons), reasons
