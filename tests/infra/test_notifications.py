"""Customer emails leave the order workflow's critical path: order events -> EventBridge rules ->
the OrderNotifications queue (with a DLQ and an alarm) -> the only function that may send email."""

from __future__ import annotations

from typing import Any

from infra.stacks.orders import NOTIFY_MAX_RECEIVES, NOTIFY_TIMEOUT
from tests.infra.conftest import Synthesized
from tests.infra.test_orders import (
    NOTIFY,
    SES_ACTIONS,
    TASKS,
    _actions,
    _as_list,
    _function_id,
    _statements,
    _variables,
)

STACK = "ShopstackOrders"


def _resources(synthesized: Synthesized, kind: str) -> dict[str, dict[str, Any]]:
    return synthesized.resources(STACK, kind)


def _queues(synthesized: Synthesized) -> tuple[str, str]:
    """Logical ids of the notifications queue and its dead-letter queue."""
    queues = _resources(synthesized, "AWS::SQS::Queue")
    (queue,) = (key for key in queues if key.startswith("NotificationsQueue"))
    (dlq,) = (key for key in queues if key.startswith("NotificationsDeadLetterQueue"))
    return queue, dlq


def test_rules_queue_the_order_events_that_warrant_mail(synthesized: Synthesized) -> None:
    queue, dlq = _queues(synthesized)
    rules = {
        key: res["Properties"]
        for key, res in _resources(synthesized, "AWS::Events::Rule").items()
        if any(t["Arn"] == {"Fn::GetAtt": [queue, "Arn"]} for t in res["Properties"]["Targets"])
    }
    patterns = sorted((rule["EventPattern"] for rule in rules.values()), key=lambda p: len(p["detail-type"]))
    assert patterns == [
        {
            "detail": {"data": {"status": ["SHIPPED"]}},
            "detail-type": ["ShipmentUpdated"],
            "source": ["shopstack.orders"],
        },
        {
            "detail-type": ["OrderConfirmed", "OrderCancelled", "OrderShipped", "OrderDelivered"],
            "source": ["shopstack.orders"],
        },
    ]
    for rule in rules.values():
        (target,) = rule["Targets"]
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dlq, "Arn"]}}, "undeliverable events kept too"


def test_the_queue_dead_letters_after_the_set_receives(synthesized: Synthesized) -> None:
    queue, dlq = _queues(synthesized)
    props = _resources(synthesized, "AWS::SQS::Queue")[queue]["Properties"]
    assert props["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]}, "maxReceiveCount": 5}
    assert NOTIFY_MAX_RECEIVES == 5
    assert props["VisibilityTimeout"] == 6 * NOTIFY_TIMEOUT.to_seconds()
    function = _resources(synthesized, "AWS::Lambda::Function")[_function_id(synthesized, NOTIFY)]["Properties"]
    assert function["Timeout"] == NOTIFY_TIMEOUT.to_seconds()
    assert _variables(synthesized, NOTIFY)["NOTIFY_MAX_RECEIVES"] == "5"
    assert _variables(synthesized, NOTIFY)["NOTIFY_QUEUE_URL"] == {"Ref": queue}


def test_the_consumer_reports_batch_item_failures(synthesized: Synthesized) -> None:
    queue, _ = _queues(synthesized)
    (mapping,) = (
        res["Properties"]
        for res in _resources(synthesized, "AWS::Lambda::EventSourceMapping").values()
        if res["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue, "Arn"]}
    )
    assert mapping["FunctionName"] == {"Ref": _function_id(synthesized, NOTIFY)}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    actions = _actions(_statements(synthesized, NOTIFY))
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"} <= actions


def test_only_the_notifications_function_may_send_email(synthesized: Synthesized) -> None:
    senders = set()
    for key, res in _resources(synthesized, "AWS::IAM::Policy").items():
        for statement in res["Properties"]["PolicyDocument"]["Statement"]:
            if any(action.startswith("ses:") for action in _as_list(statement["Action"])):
                senders.add(key)
    assert len(senders) == 1 and _actions(_statements(synthesized, NOTIFY)) >= SES_ACTIONS
    assert not any(action.startswith("ses:") for action in _actions(_statements(synthesized, TASKS)))
    assert "MAIL_FROM" not in _variables(synthesized, TASKS)


def test_an_alarm_fires_when_an_email_lands_in_the_dlq(synthesized: Synthesized) -> None:
    _, dlq = _queues(synthesized)
    (alarm,) = (
        res["Properties"]
        for res in _resources(synthesized, "AWS::CloudWatch::Alarm").values()
        if {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}} in res["Properties"]["Dimensions"]
    )
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible" and alarm["Namespace"] == "AWS/SQS"
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and alarm["Threshold"] == 0
    assert alarm["EvaluationPeriods"] == 1 and alarm["TreatMissingData"] == "notBreaching"
    assert alarm["Statistic"] == "Maximum" and alarm["Period"] == 60


def test_outputs_name_the_queues(synthesized: Synthesized) -> None:
    queue, dlq = _queues(synthesized)
    outputs = synthesized.raw[STACK]["Outputs"]
    assert outputs["OrderNotificationsQueueUrl"]["Value"] == {"Ref": queue}
    assert outputs["OrderNotificationsDlqUrl"]["Value"] == {"Ref": dlq}
