"""Observing a deployed stack: a dead letter raises the DLQ's alarm (published to its topic, set
in CloudWatch) and its purge clears it; Lambda errors, EMF metrics, logs and an order's trace are
served by the gateway; `shopstack alarms` prints them."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest

from shopstack import harness
from shopstack.cli import main
from shopstack.localcloud.up import LocalCloud
from shopstack.waiting import eventually

from .conftest import FIXTURES, lambda_function, one_stack_assembly, reset_moto

STACK = "FixtureObserving"
DLQ = "fixture-observed-dlq"
DLQ_ALARM = "fixture-observed-dlq-alarm"
ERRORS_ALARM = "fixture-boom-errors"
MATH_ALARM = "fixture-math"
TOPIC = "fixture-alarms"
EVERY = 0.2  # seconds between samples and evaluations (the local cloud's default: 5)


def function(handler: str) -> dict[str, Any]:
    return lambda_function(handler, "o.zip")


def alarm(name: str, **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": name,
            "ComparisonOperator": "GreaterThanThreshold",
            "EvaluationPeriods": 1,
            "Threshold": 0,
            "AlarmActions": [{"Ref": "Topic"}],
            "OKActions": [{"Ref": "Topic"}],
            **properties,
        },
    }


def template() -> dict[str, Any]:
    role_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
        ],
    }
    return {
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": role_policy}},
            "ObservedFunctionAB12CD34": function("observed"),
            "BoomFunctionAB12CD34": function("boom"),
            "Dlq": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": DLQ}},
            "Work": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "QueueName": "fixture-observed-work",
                    "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["Dlq", "Arn"]}, "maxReceiveCount": 1},
                },
            },
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": TOPIC}},
            "DlqAlarm": alarm(
                DLQ_ALARM,
                AlarmDescription="a message waits in the dead-letter queue",
                Namespace="AWS/SQS",
                MetricName="ApproximateNumberOfMessagesVisible",
                Dimensions=[{"Name": "QueueName", "Value": {"Fn::GetAtt": ["Dlq", "QueueName"]}}],
                Statistic="Maximum",
                Period=10,
                TreatMissingData="notBreaching",
            ),
            "ErrorsAlarm": alarm(
                ERRORS_ALARM,
                Namespace="AWS/Lambda",
                MetricName="Errors",
                Dimensions=[{"Name": "FunctionName", "Value": {"Ref": "BoomFunctionAB12CD34"}}],
                Statistic="Sum",
                Period=60,
                TreatMissingData="notBreaching",
            ),
            "MathAlarm": alarm(
                MATH_ALARM,
                Metrics=[
                    {
                        "Id": "m1",
                        "MetricStat": {
                            "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Errors"},
                            "Period": 60,
                            "Stat": "Sum",
                        },
                        "ReturnData": False,
                    },
                    {"Id": "e1", "Expression": "m1 * 2"},
                ],
            ),
            "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "fixture-observed-bus"}},
            "OrderRule": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "Name": "fixture-order-events",
                    "EventBusName": {"Ref": "Bus"},
                    "EventPattern": {"source": ["fixture.orders"]},
                    "Targets": [{"Arn": {"Fn::GetAtt": ["ObservedFunctionAB12CD34", "Arn"]}, "Id": "Observed"}],
                },
            },
        }
    }


@pytest.fixture(scope="module")
def alarm_log() -> list[str]:
    return []


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory, alarm_log: list[str]) -> Iterator[LocalCloud]:
    """Overrides conftest's cloud: this module's small stack, observed every EVERY seconds."""
    reset_moto()
    local = LocalCloud(code_paths=[FIXTURES], log_stream=io.StringIO()).start()
    try:
        local.deploy(one_stack_assembly(tmp_path_factory.mktemp("observing"), STACK, template()))
        local.start_observing(log=alarm_log.append, interval=EVERY)
        yield local
    finally:
        local.stop()
        reset_moto()


@pytest.fixture(scope="module")
def local(cloud: LocalCloud, gateway_url: str) -> harness.LocalCloud:
    return harness.LocalCloud(cast(Any, None), gateway_url, cloud.moto_url, "")


@pytest.fixture(scope="module")
def inbox(local: harness.LocalCloud) -> Callable[[], list[dict[str, Any]]]:
    """The alarm notifications published to the topic, through an SQS queue subscribed to it."""
    sqs, sns = local.aws("sqs"), local.aws("sns")
    url = sqs.create_queue(QueueName="fixture-alarm-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":" + TOPIC))
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    received: list[dict[str, Any]] = []

    def read() -> list[dict[str, Any]]:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            received.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return received

    return read


def state_of(local: harness.LocalCloud, name: str) -> dict[str, Any]:
    return next(a for a in local.alarms() if a["name"] == name)


def function_named(cloud: LocalCloud, logical_id: str) -> str:
    return next(name for key, name in cloud.resources("AWS::Lambda::Function").items() if logical_id in key)


def fail_once(cloud: LocalCloud) -> str:
    """Invoke the Boom function (it raises); its name."""
    assert cloud.pool is not None
    boom = function_named(cloud, "Boom")
    _, errored, _ = cloud.pool.invoke_raw(boom, {"why": "test"})
    assert errored
    return boom


def observe(cloud: LocalCloud, correlation_id: str) -> None:
    """Invoke the Observed function: it logs `order placed` for order-<correlation id>."""
    assert cloud.pool is not None
    event = {"message": "order placed", "correlationId": correlation_id, "orderId": f"order-{correlation_id}"}
    cloud.pool.invoke(function_named(cloud, "Observed"), event)


def test_a_dead_letter_raises_the_alarm_and_its_purge_clears_it(
    local: harness.LocalCloud, inbox: Callable[[], list[dict[str, Any]]], alarm_log: list[str]
) -> None:
    assert eventually(lambda: state_of(local, DLQ_ALARM)["state"] == "OK")  # the depth is sampled: 0
    sqs = local.aws("sqs")
    url = sqs.get_queue_url(QueueName=DLQ)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="poison")

    raised = eventually(lambda: (a := state_of(local, DLQ_ALARM))["state"] == "ALARM" and a)
    assert raised["reason"].startswith("Threshold Crossed: 1 out of the last 1 datapoints [1.0")
    assert raised["dimensions"] == {"QueueName": DLQ} and raised["statistic"] == "Maximum"
    described = local.aws("cloudwatch").describe_alarms(AlarmNames=[DLQ_ALARM])["MetricAlarms"][0]
    assert described["StateValue"] == "ALARM" and described["StateReason"] == raised["reason"]
    message = eventually(lambda: next((m for m in inbox() if m["NewStateValue"] == "ALARM"), None))
    assert message["AlarmName"] == DLQ_ALARM and message["OldStateValue"] == "OK"
    assert message["AlarmDescription"] == "a message waits in the dead-letter queue"
    assert message["Trigger"]["Dimensions"] == [{"value": DLQ, "name": "QueueName"}]
    assert any(line.startswith(f"[alarms] {DLQ_ALARM} OK -> ALARM: Threshold Crossed") for line in alarm_log)

    sqs.purge_queue(QueueUrl=url)
    assert eventually(lambda: state_of(local, DLQ_ALARM)["state"] == "OK", timeout=30)  # after one 10 s period
    cleared = eventually(
        lambda: next((m for m in inbox() if m["NewStateValue"] == "OK" and m["OldStateValue"] == "ALARM"), None)
    )
    assert cleared["AlarmName"] == DLQ_ALARM


def test_lambda_errors_raise_their_alarm(local: harness.LocalCloud, cloud: LocalCloud) -> None:
    boom = fail_once(cloud)
    assert eventually(lambda: state_of(local, ERRORS_ALARM)["state"] == "ALARM")
    [errors] = local.metrics("AWS/Lambda", "Errors")
    assert errors["dimensions"] == {"FunctionName": boom} and errors["sum"] >= 1
    durations = eventually(lambda: local.metrics("AWS/Lambda", "Duration"))
    assert durations[0]["unit"] == "Milliseconds"


def test_a_metric_math_alarm_says_it_is_not_evaluated(local: harness.LocalCloud) -> None:
    math = eventually(lambda: (a := state_of(local, MATH_ALARM))["state"] == "INSUFFICIENT_DATA" and a)
    assert math["evaluated"] is False and "metric math" in math["reason"]


def test_logs_filter_by_function_and_correlation_id(local: harness.LocalCloud, cloud: LocalCloud) -> None:
    for cid in ("corr-logs-1", "corr-logs-2"):
        observe(cloud, cid)
    lines = eventually(lambda: local.logs(correlation_id="corr-logs-2"))
    [line] = lines
    assert line["function"] == "Observed" and line["json"]["message"] == "order placed"
    assert line["json"]["orderId"] == "order-corr-logs-2" and line["requestId"]
    assert {entry["correlationId"] for entry in local.logs(function="Observed")} >= {"corr-logs-1", "corr-logs-2"}
    assert local.logs(function="Observed", after=line["seq"]) == []
    assert local.logs(function="NoSuchFunction") == []
    placed = eventually(lambda: local.metrics("Shopstack", "OrdersPlaced"))
    assert placed[0]["dimensions"] == {"service": "fixture"} and placed[0]["sum"] >= 2


def test_an_orders_trace_has_its_events_and_log_lines(local: harness.LocalCloud) -> None:
    detail = {"data": {"orderId": "order-traced"}, "metadata": {"correlationId": "corr-traced"}}
    local.aws("events").put_events(
        Entries=[
            {
                "EventBusName": "fixture-observed-bus",
                "Source": "fixture.orders",
                "DetailType": "OrderPlaced",
                "Detail": json.dumps(detail),
            }
        ]
    )
    traced = eventually(lambda: (t := local.trace("order-traced"))["correlationId"] and len(t["timeline"]) >= 2 and t)
    assert traced["correlationId"] == "corr-traced"
    event, log = traced["timeline"][:2]
    assert (event["kind"], event["who"], event["what"]) == ("event", "fixture.orders", "OrderPlaced")
    assert event["fields"]["rules"] == ["fixture-order-events"]
    assert (log["kind"], log["who"], log["fields"]["orderId"]) == ("log", "Observed", "order-traced")
    assert log["offsetMs"] >= 0
    unknown = local.request("GET", "/_localcloud/trace/no-such-order")
    assert unknown.status == 404 and unknown.json["timeline"] == []


def test_shopstack_alarms_prints_each_alarm(
    local: harness.LocalCloud, cloud: LocalCloud, gateway_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fail_once(cloud)
    eventually(lambda: state_of(local, ERRORS_ALARM)["state"] == "ALARM")
    assert main(["alarms", "--endpoint", gateway_url]) == 0
    out = capsys.readouterr().out
    header, *rows = out.splitlines()
    assert header.split() == ["STATE", "ALARM", "METRIC", "CONDITION", "SINCE"]
    errors = next(row for row in rows if ERRORS_ALARM in row)
    assert (
        errors.startswith("ALARM ")
        and "AWS/Lambda Errors {FunctionName=" in errors
        and "Sum > 0 for 1 of 1 x 60 s" in errors
    )
    assert any(row.startswith("INSUFFICIENT_DATA") and MATH_ALARM in row for row in rows)
    assert f"{MATH_ALARM}: Not evaluated by the local cloud: metric math" in out


def test_logs_and_trace_commands_print(
    local: harness.LocalCloud, cloud: LocalCloud, gateway_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    observe(cloud, "corr-cli")
    eventually(lambda: local.logs(correlation_id="corr-cli"))
    assert main(["logs", "--endpoint", gateway_url, "--correlation-id", "corr-cli"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert "[Observed] INFO order placed orderId=order-corr-cli (corr-cli)" in line
    assert main(["trace", "order-corr-cli", "--endpoint", gateway_url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("order order-corr-cli  correlation id corr-cli")
    assert "log    Observed" in out and "order placed" in out
