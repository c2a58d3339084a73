"""Alarm evaluation as CloudWatch does it: statistics, percentiles, comparisons, datapoints to
alarm and missing data, on a fixed clock."""

from __future__ import annotations

from typing import Any

import pytest

from shopstack.localcloud.alarms import (
    ALARM,
    INSUFFICIENT_DATA,
    OK,
    AlarmSpec,
    Unsupported,
    evaluate,
    notification,
    percentile,
    statistic,
)

NOW = 1_700_000_000.0


def spec(**overrides: Any) -> AlarmSpec:
    described = {
        "AlarmName": "dlq",
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": "q-dlq"}],
        "Statistic": "Maximum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 0.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "StateValue": "OK",
        **overrides,
    }
    return AlarmSpec.from_description(described)


def ago(*pairs: tuple[float, float]) -> list[tuple[float, float]]:
    """(seconds ago, value) -> (time, value)."""
    return [(NOW - seconds, value) for seconds, value in pairs]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Sum", 10.0),
        ("Average", 2.5),
        ("Maximum", 4.0),
        ("Minimum", 1.0),
        ("SampleCount", 4.0),
        ("p50", 2.0),
        ("p100", 4.0),
    ],
)
def test_statistics(name: str, expected: float) -> None:
    assert statistic([3, 1, 4, 2], name) == expected


def test_percentiles_are_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 99) == 99
    assert percentile(values, 99.9) == 100
    assert percentile([5.0], 1) == 5.0
    assert percentile([10, 20, 30, 40], 75) == 30


def test_statistics_it_cannot_compute_are_refused() -> None:
    with pytest.raises(Unsupported):
        statistic([1.0], "tm99")


@pytest.mark.parametrize(
    ("operator", "value", "state"),
    [
        ("GreaterThanThreshold", 5.0, OK),
        ("GreaterThanThreshold", 6.0, ALARM),
        ("GreaterThanOrEqualToThreshold", 5.0, ALARM),
        ("LessThanThreshold", 5.0, OK),
        ("LessThanThreshold", 4.0, ALARM),
        ("LessThanOrEqualToThreshold", 5.0, ALARM),
    ],
)
def test_comparisons(operator: str, value: float, state: str) -> None:
    outcome = evaluate(spec(ComparisonOperator=operator, Threshold=5.0), ago((10, value)), NOW)
    assert outcome.state == state


def test_each_period_is_its_own_statistic_and_datapoints_to_alarm_counts_them() -> None:
    alarm = spec(Statistic="Sum", Period=60, EvaluationPeriods=3, DatapointsToAlarm=2, Threshold=2)
    one_breach = ago((10, 2), (20, 2), (70, 1), (130, 1))  # periods: 4, 1, 1
    assert evaluate(alarm, one_breach, NOW).state == OK
    two_breaches = ago((10, 2), (20, 2), (70, 3), (130, 1))  # 4, 3, 1
    outcome = evaluate(alarm, two_breaches, NOW)
    assert outcome.state == ALARM
    assert outcome.reason.startswith("Threshold Crossed: 2 out of the last 3 datapoints")
    assert outcome.data["recentDatapoints"] == [1.0, 3.0, 4.0]


def test_datapoints_older_than_the_window_do_not_count() -> None:
    assert evaluate(spec(), ago((61, 5)), NOW).state == INSUFFICIENT_DATA


def test_a_percentile_alarm() -> None:
    alarm = spec(
        Statistic=None, ExtendedStatistic="p99", Threshold=1000, Namespace="AWS/ApiGateway", MetricName="Latency"
    )
    fast = ago(*[(1, 100.0)] * 99, (2, 5000.0))
    assert evaluate(alarm, fast, NOW).state == OK  # the slowest 1 % is above p99
    assert evaluate(alarm, [*fast, *ago((3, 5000.0))], NOW).state == ALARM


@pytest.mark.parametrize(
    ("treat", "current", "expected"),
    [
        ("missing", OK, INSUFFICIENT_DATA),
        (None, ALARM, INSUFFICIENT_DATA),
        ("ignore", ALARM, ALARM),
        ("ignore", OK, OK),
        ("breaching", OK, ALARM),
        ("notBreaching", ALARM, OK),
    ],
)
def test_missing_data(treat: str | None, current: str, expected: str) -> None:
    alarm = spec(TreatMissingData=treat, StateValue=current)
    assert evaluate(alarm, [], NOW).state == expected


def test_missing_periods_between_datapoints() -> None:
    points = ago((10, 1))  # the newest of three periods breaches; two are missing
    three = {"EvaluationPeriods": 3}
    assert evaluate(spec(**three, TreatMissingData="breaching"), points, NOW).state == ALARM
    assert evaluate(spec(**three, TreatMissingData="notBreaching"), points, NOW).state == OK
    assert evaluate(spec(**three, TreatMissingData="missing", DatapointsToAlarm=1), points, NOW).state == ALARM
    assert evaluate(spec(**three, TreatMissingData="missing"), points, NOW).state == OK


@pytest.mark.parametrize(
    ("overrides", "because"),
    [
        ({"Metrics": [{"Id": "e1", "Expression": "m1 * 2"}], "MetricName": None}, "metric math"),
        ({"ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold"}, "anomaly detection"),
        ({"Statistic": None, "ExtendedStatistic": "tm99"}, "tm99"),
    ],
)
def test_alarms_it_cannot_evaluate_are_insufficient_data_with_a_reason(overrides: dict[str, Any], because: str) -> None:
    outcome = evaluate(spec(StateValue=OK, **overrides), ago((1, 100)), NOW)
    assert outcome.state == INSUFFICIENT_DATA
    assert "Not evaluated by the local cloud" in outcome.reason and because in outcome.reason


def test_the_notification_is_cloudwatchs() -> None:
    alarm = spec(
        AlarmDescription="a dead letter",
        AlarmArn="arn:aws:cloudwatch:us-east-1:123456789012:alarm:dlq",
        AlarmActions=["arn:aws:sns:us-east-1:123456789012:alarms"],
        TreatMissingData="notBreaching",
    )
    outcome = evaluate(alarm, ago((5, 1)), NOW)
    message = notification(alarm, outcome, OK, NOW, "123456789012", "us-east-1")
    assert message["AlarmName"] == "dlq" and message["AlarmDescription"] == "a dead letter"
    assert (message["OldStateValue"], message["NewStateValue"]) == (OK, ALARM)
    assert message["NewStateReason"] == outcome.reason
    assert message["StateChangeTime"] == "2023-11-14T22:13:20.000+0000"
    assert message["Region"] == "US East (N. Virginia)"
    assert message["AlarmActions"] == ["arn:aws:sns:us-east-1:123456789012:alarms"]
    assert message["Trigger"] == {
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Namespace": "AWS/SQS",
        "StatisticType": "Statistic",
        "Statistic": "MAXIMUM",
        "Unit": None,
        "Dimensions": [{"value": "q-dlq", "name": "QueueName"}],
        "Period": 60,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "ComparisonOperator": "GreaterThanThreshold",
        "Threshold": 0.0,
        "TreatMissingData": "notBreaching",
        "EvaluateLowSampleCountPercentile": "",
    }


def test_actions_by_state() -> None:
    alarm = spec(AlarmActions=["a"], OKActions=["o"], InsufficientDataActions=["i"])
    assert (alarm.actions(ALARM), alarm.actions(OK), alarm.actions(INSUFFICIENT_DATA)) == (("a",), ("o",), ("i",))
    assert spec(AlarmActions=["a"], ActionsEnabled=False).actions(ALARM) == ()
