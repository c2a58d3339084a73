"""Alarms, the alarm topic and the stage dashboard: every alarm's rule is the one cdk.json `alarms`
gives, notifies the encrypted alarm topic on ALARM and OK, and every dead-letter queue of every stack
has one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.settings import ALARM_DEFAULTS, load_cdk_json_context
from tests.infra.conftest import Synthesized, render

CONTEXT = load_cdk_json_context()
STAGE = CONTEXT["stage"]
RULES = CONTEXT["alarms"]
TOPIC_ARN = f"arn:<AWS::Partition>:sns:<AWS::Region>:<AWS::AccountId>:shopstack-{STAGE}-alarms"

# alarm name -> (stack, cdk.json rule, namespace, metric, statistic, comparison, dimensions)
EXPECTED: dict[str, tuple[str, str, str, str, str, str, dict[str, str]]] = {
    "api-5xx-rate": (
        "ShopstackApi", "api5xxRate", "AWS/ApiGateway", "5XXError", "Average", "GreaterThanThreshold",
        {"ApiName": f"shopstack-{STAGE}-api", "Stage": "v1"},
    ),
    "checkout-p99-latency": (
        "ShopstackApi", "checkoutLatencyP99Ms", "AWS/ApiGateway", "Latency", "p99", "GreaterThanThreshold",
        {"ApiName": f"shopstack-{STAGE}-api", "Stage": "v1", "Resource": "/carts/{cartId}/checkout", "Method": "POST"},
    ),
    "compensations-failed": (
        "ShopstackOrders", "compensationFailures", "Shopstack", "CompensationsFailed", "Sum", "GreaterThanThreshold",
        {"service": "orders"},
    ),
    "payment-declines": (
        "ShopstackAnalytics", "paymentDeclines", "Shopstack", "PaymentDeclines", "Sum",
        "GreaterThanOrEqualToThreshold", {"service": "analytics"},
    ),
    "lambda-throttles": (
        "ShopstackShared", "lambdaThrottles", "AWS/Lambda", "Throttles", "Sum", "GreaterThanThreshold", {},
    ),
}  # fmt: skip
WORKFLOW_ALARMS = {
    "order-workflow-failed": ("ShopstackOrders", "ExecutionsFailed", f"shopstack-{STAGE}-OrderWorkflow"),
    "order-workflow-timed-out": ("ShopstackOrders", "ExecutionsTimedOut", f"shopstack-{STAGE}-OrderWorkflow"),
}
DEAD_LETTER_ALARMS = {
    "ShopstackOrders": {"order-notifications-dlq", "fulfilment-dlq", "order-events-dlq"},
    "ShopstackAnalytics": {"analytics-events-dlq"},
    "ShopstackIntegrations": {"webhook-events-dlq", "webhook-deliveries-dlq"},
    "ShopstackCheckout": {"reservation-expiry-dlq"},
}


def _alarms(synthesized: Synthesized) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """Every alarm of the app by name: (stack, logical id, properties)."""
    found: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for stack in synthesized.raw:
        for key, res in synthesized.resources(stack, "AWS::CloudWatch::Alarm").items():
            name = res["Properties"]["AlarmName"]
            assert name not in found, f"two alarms named {name}"
            found[name] = (stack, key, res["Properties"])
    return found


def _dimensions(props: dict[str, Any]) -> dict[str, str]:
    return {
        d["Name"]: d["Value"] if isinstance(d["Value"], str) else render(d["Value"])
        for d in props.get("Dimensions", [])
    }


def _assert_rule(props: dict[str, Any], rule: str) -> None:
    given = RULES[rule]
    assert props["Threshold"] == given["threshold"], rule
    assert props["EvaluationPeriods"] == given["evaluationPeriods"], rule
    assert props["Period"] == given["periodSeconds"], rule


def _dead_letter_queues(synthesized: Synthesized, stack: str) -> set[str]:
    """Logical ids of the queues of `stack` that something sends what it could not handle to: a
    queue's redrive policy, an event source mapping's on-failure destination, a rule target's DLQ."""
    queues = set(synthesized.resources(stack, "AWS::SQS::Queue"))
    targets: set[str] = set()
    for res in synthesized.resources(stack, "AWS::SQS::Queue").values():
        redrive = res["Properties"].get("RedrivePolicy")
        if redrive:
            targets.add(redrive["deadLetterTargetArn"]["Fn::GetAtt"][0])
    for res in synthesized.resources(stack, "AWS::Lambda::EventSourceMapping").values():
        destination = res["Properties"].get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if destination:
            targets.add(destination["Fn::GetAtt"][0])
    for res in synthesized.resources(stack, "AWS::Events::Rule").values():
        for target in res["Properties"].get("Targets", []):
            arn = target.get("DeadLetterConfig", {}).get("Arn")
            if arn:
                targets.add(arn["Fn::GetAtt"][0])
    assert targets <= queues, stack
    return targets


def test_cdk_json_sets_every_alarm_rule() -> None:
    assert set(RULES) == set(ALARM_DEFAULTS)
    for rule in RULES.values():
        assert set(rule) == {"threshold", "evaluationPeriods", "periodSeconds"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_alarm_rules_come_from_cdk_json(synthesized: Synthesized, name: str) -> None:
    stack, rule, namespace, metric, statistic, comparison, dimensions = EXPECTED[name]
    found_stack, _, props = _alarms(synthesized)[f"shopstack-{STAGE}-{name}"]
    assert found_stack == stack
    assert (props["Namespace"], props["MetricName"]) == (namespace, metric)
    assert props.get("Statistic", props.get("ExtendedStatistic")) == statistic
    assert props["ComparisonOperator"] == comparison
    assert _dimensions(props) == dimensions
    _assert_rule(props, rule)


@pytest.mark.parametrize("name", sorted(WORKFLOW_ALARMS))
def test_workflow_alarms_watch_their_state_machine(synthesized: Synthesized, name: str) -> None:
    stack, metric, machine_name = WORKFLOW_ALARMS[name]
    found_stack, _, props = _alarms(synthesized)[f"shopstack-{STAGE}-{name}"]
    assert found_stack == stack
    assert (props["Namespace"], props["MetricName"], props["Statistic"]) == ("AWS/States", metric, "Sum")
    (machine_id,) = [
        key
        for key, res in synthesized.resources(stack, "AWS::StepFunctions::StateMachine").items()
        if res["Properties"]["StateMachineName"] == machine_name
    ]
    assert _dimensions(props) == {"StateMachineArn": f"<{machine_id}>"}
    assert props["ComparisonOperator"] == "GreaterThanThreshold"
    _assert_rule(props, "workflowFailures")


def test_every_dead_letter_queue_has_an_alarm(synthesized: Synthesized) -> None:
    alarms = _alarms(synthesized)
    watched: dict[str, set[str]] = {}
    for name, (stack, _, props) in alarms.items():
        if props["Namespace"] == "AWS/SQS":
            assert props["MetricName"] == "ApproximateNumberOfMessagesVisible"
            assert props["Statistic"] == "Maximum" and props["ComparisonOperator"] == "GreaterThanThreshold"
            _assert_rule(props, "deadLetterMessages")
            (queue,) = [d["Value"]["Fn::GetAtt"] for d in props["Dimensions"] if d["Name"] == "QueueName"]
            assert queue[1] == "QueueName", "the queue of its own stack"
            watched.setdefault(stack, set()).add(queue[0])
            assert name.endswith("-dlq")
    dead_letter_queues = {stack: _dead_letter_queues(synthesized, stack) for stack in synthesized.raw}
    assert {stack: queues for stack, queues in dead_letter_queues.items() if queues} == watched
    assert sum(len(queues) for queues in watched.values()) == 7
    by_stack: dict[str, set[str]] = {}
    for name, (stack, _, props) in alarms.items():
        if props["Namespace"] == "AWS/SQS":
            by_stack.setdefault(stack, set()).add(name.removeprefix(f"shopstack-{STAGE}-"))
    assert by_stack == DEAD_LETTER_ALARMS


def test_the_notifications_dlq_has_one_alarm_under_its_old_logical_id(synthesized: Synthesized) -> None:
    keys = [
        key
        for key, _ in ((k, v) for k, v in synthesized.resources("ShopstackOrders", "AWS::CloudWatch::Alarm").items())
    ]
    assert len([key for key in keys if key.startswith("OrderNotificationsDlqAlarm")]) == 1


def test_every_alarm_is_named_described_and_notifies_the_topic_both_ways(synthesized: Synthesized) -> None:
    alarms = _alarms(synthesized)
    assert len(alarms) == len(EXPECTED) + len(WORKFLOW_ALARMS) + 7
    topic_id = next(iter(synthesized.resources("ShopstackShared", "AWS::SNS::Topic").keys() - {"StaffAlerts"}))
    for name, (stack, key, props) in alarms.items():
        assert name.startswith(f"shopstack-{STAGE}-") and name == name.lower(), name
        assert key[0].isupper(), key
        assert len(props["AlarmDescription"].split()) >= 15, f"{name}: tell the operator what to do"
        assert props["TreatMissingData"] == "notBreaching", name
        assert "Metrics" not in props, f"{name}: a single-metric alarm (the local evaluator reads those)"
        expected = [{"Ref": topic_id}] if stack == "ShopstackShared" else None
        for actions in (props["AlarmActions"], props["OKActions"]):
            assert len(actions) == 1, name
            if expected is not None:
                assert [a for a in actions if a in expected or render(a) == TOPIC_ARN] == actions, name
            else:
                assert render(actions[0]) == TOPIC_ARN, name
        assert "InsufficientDataActions" not in props


def test_the_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use(synthesized: Synthesized) -> None:
    topics = {
        key: res
        for key, res in synthesized.resources("ShopstackShared", "AWS::SNS::Topic").items()
        if res["Properties"]["TopicName"] == f"shopstack-{STAGE}-alarms"
    }
    ((topic_id, topic),) = topics.items()
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = synthesized.raw["ShopstackShared"]["Resources"][key_id]
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
    (cloudwatch,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert cloudwatch["Effect"] == "Allow"
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert cloudwatch["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    (policy,) = [
        res
        for res in synthesized.resources("ShopstackShared", "AWS::SNS::TopicPolicy").values()
        if res["Properties"]["Topics"] == [{"Ref": topic_id}]
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (publish,) = [s for s in statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert publish["Effect"] == "Allow" and publish["Action"] == "sns:Publish"
    assert publish["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )
    subscriptions = synthesized.resources("ShopstackShared", "AWS::SNS::Subscription")
    assert len(subscriptions) == len(CONTEXT["alarmEmails"])


def test_only_checkout_has_detailed_metrics(synthesized: Synthesized) -> None:
    """Per-method metrics are billed as custom metrics: only the method the latency alarm watches."""
    ((_, stage),) = synthesized.resources("ShopstackApi", "AWS::ApiGateway::Stage").items()
    enabled = {
        (s["ResourcePath"], s["HttpMethod"]) for s in stage["Properties"]["MethodSettings"] if s.get("MetricsEnabled")
    }
    assert enabled == {("/~1carts~1{cartId}~1checkout", "POST")}


def test_the_access_log_has_each_requests_latency() -> None:
    from infra.stacks.api import ACCESS_LOG_FORMAT

    assert ACCESS_LOG_FORMAT["responseLatency"] == "$context.responseLatency"
    assert ACCESS_LOG_FORMAT["resourcePath"] == "$context.resourcePath"


def test_one_dashboard_for_the_stage(synthesized: Synthesized) -> None:
    dashboards = [
        (stack, res["Properties"])
        for stack in synthesized.raw
        for res in synthesized.resources(stack, "AWS::CloudWatch::Dashboard").values()
    ]
    ((stack, props),) = dashboards
    assert stack == "ShopstackApi" and props["DashboardName"] == f"shopstack-{STAGE}"
    parts = props["DashboardBody"]["Fn::Join"][1]
    body = "".join(part if isinstance(part, str) else "REF" for part in parts)  # references as REF
    widgets = json.loads(body)["widgets"]
    text = json.dumps(widgets)
    for metric in (
        "Count", "4XXError", "5XXError", "Latency",
        "OrdersPlaced", "OrdersConfirmed", "OrdersCancelled", "Revenue", "Refunds", "PaymentDeclines",
        "PaymentDeclinesByCode", "Compensations", "CompensationsFailed", "ExecutionsFailed",
        "Errors", "Throttles", "ConcurrentExecutions",
    ):  # fmt: skip
        assert f'\\"{metric}\\"' in text or f'"{metric}"' in text, metric
    assert f'"currency", "{load_currency()}"' in text
    (status,) = [w for w in widgets if w["type"] == "alarm"]
    assert len(status["properties"]["alarms"]) == len(_alarms(synthesized))
    logs = [w for w in widgets if w["type"] == "log"]
    assert any(
        "pct(responseLatency, 99)" in w["properties"]["query"]
        and "by httpMethod, resourcePath" in w["properties"]["query"]
        for w in logs
    )
    dead_letter_graphs = [
        w for w in widgets if w["type"] == "metric" and "alarms" in w["properties"].get("annotations", {})
    ]
    assert len(dead_letter_graphs) == 7
    assert "Export" not in json.dumps(synthesized.raw["ShopstackApi"].get("Outputs", {}))


def load_currency() -> str:
    rules = CONTEXT.get("pricingRules")
    return str(rules.get("currency", "usd")) if isinstance(rules, dict) else "usd"


def test_alarm_rules_are_validated() -> None:
    from aws_cdk import App

    from infra.settings import Settings

    given = {"alarms": {"api5xxRate": {"threshold": 0.05}}}
    rule = Settings.from_node(App(context=given).node).alarm("api5xxRate")
    assert (rule.threshold, rule.evaluation_periods, rule.period_seconds) == (0.05, 1, 300)
    for bad in (
        {"nope": {"threshold": 1}},
        {"api5xxRate": {"limit": 1}},
        {"api5xxRate": {"periodSeconds": 90}},
        {"api5xxRate": {"evaluationPeriods": 0}},
        {"api5xxRate": {"threshold": -1}},
    ):
        with pytest.raises(ValueError, match="alarms"):
            Settings.from_node(App(context={"alarms": bad}).node)
