"""ShopstackAnalytics and ShopstackIntegrations, and the event archive: the aggregates table and
its indexes, the abandoned-cart schedule, the webhook queues with their dead-letter queues, the
archive every event lands in, and the report and webhook routes."""

from __future__ import annotations

from typing import Any

from infra.routes import ROUTES
from infra.settings import load_cdk_json_context
from tests.infra.conftest import Synthesized

CONTEXT = load_cdk_json_context()


def _one(synthesized: Synthesized, stack: str, kind: str, **properties: Any) -> dict[str, Any]:
    found = [
        res["Properties"]
        for res in synthesized.resources(stack, kind).values()
        if all(res["Properties"].get(k) == v for k, v in properties.items())
    ]
    assert len(found) == 1, (stack, kind, properties, len(found))
    return found[0]


def test_every_shopstack_event_is_archived_for_replay(synthesized: Synthesized) -> None:
    archive = _one(synthesized, "ShopstackShared", "AWS::Events::Archive")
    assert archive["ArchiveName"] == f"shopstack-{CONTEXT['stage']}-events"
    assert archive["EventPattern"] == {"source": [{"prefix": "shopstack."}]}
    assert archive["RetentionDays"] == CONTEXT["eventArchiveDays"]
    assert "KmsKeyIdentifier" not in archive, "aws-cdk-lib's empty KmsKeyIdentifier is refused in some regions"


def test_the_aggregates_table_finds_pending_and_abandoned_carts_without_a_scan(synthesized: Synthesized) -> None:
    table = _one(synthesized, "ShopstackAnalytics", "AWS::DynamoDB::Table")
    indexes = {i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]] for i in table["GlobalSecondaryIndexes"]}
    assert indexes == {"byPending": ["pending", "pendingAt"], "byAbandoned": ["abandonedMonth", "abandonedKey"]}
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}


def test_abandoned_carts_are_swept_on_a_schedule(synthesized: Synthesized) -> None:
    rule = _one(
        synthesized,
        "ShopstackAnalytics",
        "AWS::Events::Rule",
        Name=f"shopstack-{CONTEXT['stage']}-abandoned-cart-sweep",
    )
    assert rule["ScheduleExpression"] == f"rate({CONTEXT['abandonedCartSweepMinutes']} minutes)"
    sweep = _one(
        synthesized, "ShopstackAnalytics", "AWS::Lambda::Function", Handler="analytics.entrypoints.sweep.handler"
    )
    assert sweep["Environment"]["Variables"]["ABANDONED_CART_MINUTES"] == str(CONTEXT["abandonedCartMinutes"])


def test_webhook_queues_have_dead_letter_queues_and_the_consumers_report_partial_failures(
    synthesized: Synthesized,
) -> None:
    queues = synthesized.resources("ShopstackIntegrations", "AWS::SQS::Queue")
    with_dlq = [q for q in queues.values() if "RedrivePolicy" in q["Properties"]]
    assert len(with_dlq) == 2 and len(queues) == 4
    for queue in with_dlq:
        assert queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 5
    mappings = synthesized.resources("ShopstackIntegrations", "AWS::Lambda::EventSourceMapping")
    assert len(mappings) == 2
    assert all(m["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for m in mappings.values())
    rule = _one(
        synthesized, "ShopstackIntegrations", "AWS::Events::Rule", EventPattern={"source": [{"prefix": "shopstack."}]}
    )
    assert rule["Targets"][0]["Arn"]["Fn::GetAtt"][1] == "Arn"
    table = _one(synthesized, "ShopstackIntegrations", "AWS::DynamoDB::Table")
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["byWebhook"]


def test_reports_and_webhooks_are_staff_routes(synthesized: Synthesized) -> None:
    staff_only = [r for r in ROUTES if r.path.startswith(("/admin/analytics", "/admin/webhooks"))]
    assert {r.function for r in staff_only} == {"AnalyticsApi", "IntegrationsApi"}
    assert len(staff_only) == 11 and all(r.auth == "cognito" for r in staff_only)


def test_staff_are_told_by_a_topic_when_a_subscription_is_disabled(synthesized: Synthesized) -> None:
    topic = _one(synthesized, "ShopstackIntegrations", "AWS::SNS::Topic")
    assert topic["TopicName"] == f"shopstack-{CONTEXT['stage']}-staff-alerts"
    rule = _one(
        synthesized,
        "ShopstackIntegrations",
        "AWS::Events::Rule",
        EventPattern={"detail-type": ["WebhookDisabled"], "source": ["shopstack.integrations"]},
    )
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Ref": next(iter(synthesized.resources("ShopstackIntegrations", "AWS::SNS::Topic")))}
    policy = next(iter(synthesized.resources("ShopstackIntegrations", "AWS::SNS::TopicPolicy").values()))
    principals = [s.get("Principal") for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    assert {"Service": "events.amazonaws.com"} in principals, "EventBridge may publish to the topic"
