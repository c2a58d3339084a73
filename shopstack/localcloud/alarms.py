"""CloudWatch alarms, evaluated by the local cloud against what `telemetry.py` collected.

moto keeps the alarms the templates create (cfn_models.Alarm) but never evaluates them. Here an
`AlarmEvaluator` reads them every EVALUATION_SECONDS (`describe_alarms` on the local AWS endpoint)
and evaluates each single-metric alarm as CloudWatch does: the alarm's statistic (Sum, Average,
Maximum, Minimum, SampleCount, or a percentile such as p99) over each of its last
EvaluationPeriods periods of Period seconds, each compared with Threshold; ALARM when at least
DatapointsToAlarm of them breach, and periods without data treated as TreatMissingData says.

Differences from AWS, on purpose: CloudWatch evaluates an alarm once a minute, over periods
aligned to the minute and ending a little in the past (metrics arrive late there); here every
5 seconds, over periods ending now, so that a dead letter raises its alarm within seconds.
Percentiles are nearest-rank over the kept datapoints. An alarm this cannot evaluate (metric
math, anomaly detection, trimmed-mean statistics) is INSUFFICIENT_DATA with a reason that says
so, never quietly OK.

A state change is set in moto (`set_alarm_state`: `describe_alarms` shows it), published as
CloudWatch's alarm notification to each SNS topic among the AlarmActions / OKActions /
InsufficientDataActions of the new state, and printed as one line:
`[alarms] shopstack-dev-orders-... OK -> ALARM: Threshold Crossed: ...`.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shopstack.localcloud.telemetry import TELEMETRY, Telemetry, iso

EVALUATION_SECONDS = 5.0
OK, ALARM, INSUFFICIENT_DATA = "OK", "ALARM", "INSUFFICIENT_DATA"
STATISTICS = ("Sum", "Average", "Maximum", "Minimum", "SampleCount")
COMPARISONS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanThreshold": (lambda v, t: v > t, "greater than"),
    "GreaterThanOrEqualToThreshold": (lambda v, t: v >= t, "greater than or equal to"),
    "LessThanThreshold": (lambda v, t: v < t, "less than"),
    "LessThanOrEqualToThreshold": (lambda v, t: v <= t, "less than or equal to"),
}
TREAT_MISSING = ("missing", "ignore", "breaching", "notBreaching")
_PERCENTILE = re.compile(r"^p(?P<p>\d{1,2}(?:\.\d+)?|100)$")
REGION_NAMES = {"us-east-1": "US East (N. Virginia)", "eu-west-1": "Europe (Ireland)"}
SUBJECT_LIMIT = 100


class Unsupported(ValueError):
    """An alarm (or a part of it) the local evaluator does not evaluate."""


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p % of the values at or below it."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def statistic(values: Sequence[float], name: str) -> float:
    """One CloudWatch statistic of a period's datapoints (non-empty)."""
    if name == "Sum":
        return float(sum(values))
    if name == "Average":
        return float(sum(values)) / len(values)
    if name == "Maximum":
        return float(max(values))
    if name == "Minimum":
        return float(min(values))
    if name == "SampleCount":
        return float(len(values))
    found = _PERCENTILE.match(name)
    if found:
        return percentile(values, float(found.group("p")))
    raise Unsupported(f"statistic {name} is not evaluated locally")


def breaches(value: float, operator: str, threshold: float) -> bool:
    compare = COMPARISONS.get(operator)
    if compare is None:
        raise Unsupported(f"comparison {operator} (anomaly detection) is not evaluated locally")
    return compare[0](value, threshold)


@dataclass(frozen=True)
class AlarmSpec:
    """What evaluating one alarm needs, read from `describe_alarms`."""

    name: str
    arn: str = ""
    description: str = ""
    namespace: str = ""
    metric_name: str = ""
    dimensions: Mapping[str, str] = field(default_factory=dict)
    statistic: str = "Average"
    extended: bool = False
    unit: str | None = None
    period: int = 60
    evaluation_periods: int = 1
    datapoints_to_alarm: int | None = None
    threshold: float = 0.0
    comparison: str = "GreaterThanThreshold"
    treat_missing_data: str = "missing"
    state: str = INSUFFICIENT_DATA
    state_updated: str | None = None
    configuration_updated: str | None = None
    actions_enabled: bool = True
    alarm_actions: tuple[str, ...] = ()
    ok_actions: tuple[str, ...] = ()
    insufficient_data_actions: tuple[str, ...] = ()
    unsupported: str | None = None

    @classmethod
    def from_description(cls, alarm: Mapping[str, Any]) -> AlarmSpec:
        """From one `MetricAlarms` entry of `describe_alarms`."""
        unsupported = None
        if alarm.get("Metrics"):
            unsupported = "metric math (Metrics) is not evaluated locally"
        elif not alarm.get("Namespace") or not alarm.get("MetricName"):
            unsupported = "the alarm names no metric"
        extended = alarm.get("ExtendedStatistic")
        stat = str(extended or alarm.get("Statistic") or "Average")
        if unsupported is None:
            try:
                statistic([1.0], stat)
                breaches(0.0, str(alarm.get("ComparisonOperator")), 0.0)
            except Unsupported as exc:
                unsupported = str(exc)
        treat = str(alarm.get("TreatMissingData") or "missing")
        return cls(
            name=str(alarm["AlarmName"]),
            arn=str(alarm.get("AlarmArn") or ""),
            description=str(alarm.get("AlarmDescription") or ""),
            namespace=str(alarm.get("Namespace") or ""),
            metric_name=str(alarm.get("MetricName") or ""),
            dimensions={str(d["Name"]): str(d["Value"]) for d in alarm.get("Dimensions") or []},
            statistic=stat,
            extended=bool(extended),
            unit=alarm.get("Unit"),
            period=int(alarm.get("Period") or 60),
            evaluation_periods=int(alarm.get("EvaluationPeriods") or 1),
            datapoints_to_alarm=int(alarm["DatapointsToAlarm"]) if alarm.get("DatapointsToAlarm") else None,
            threshold=float(alarm.get("Threshold") or 0.0),
            comparison=str(alarm.get("ComparisonOperator") or ""),
            treat_missing_data=treat if treat in TREAT_MISSING else "missing",
            state=str(alarm.get("StateValue") or INSUFFICIENT_DATA),
            state_updated=_iso(alarm.get("StateUpdatedTimestamp")),
            configuration_updated=_iso(alarm.get("AlarmConfigurationUpdatedTimestamp")),
            actions_enabled=alarm.get("ActionsEnabled", True) is not False,
            alarm_actions=tuple(alarm.get("AlarmActions") or ()),
            ok_actions=tuple(alarm.get("OKActions") or ()),
            insufficient_data_actions=tuple(alarm.get("InsufficientDataActions") or ()),
            unsupported=unsupported,
        )

    @property
    def window(self) -> float:
        return float(self.period * self.evaluation_periods)

    def actions(self, state: str) -> tuple[str, ...]:
        if not self.actions_enabled:
            return ()
        return {ALARM: self.alarm_actions, OK: self.ok_actions}.get(state, self.insufficient_data_actions)


@dataclass(frozen=True)
class Outcome:
    """An evaluation's verdict: the state the alarm should be in, why, and the datapoints used."""

    state: str
    reason: str
    data: Mapping[str, Any] = field(default_factory=dict)


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return str(value) if value else None


def _number(value: float) -> str:
    return repr(float(value))


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%d/%m/%y %H:%M:%S")


def evaluate(spec: AlarmSpec, points: Sequence[tuple[float, float]], now: float) -> Outcome:
    """The state `spec` should be in, given its metric's (time, value) datapoints, at `now`."""
    if spec.unsupported:
        return Outcome(INSUFFICIENT_DATA, f"Not evaluated by the local cloud: {spec.unsupported}")
    periods = []  # newest first: (period start, statistic or None)
    for index in range(spec.evaluation_periods):
        end = now - index * spec.period
        start = end - spec.period
        values = [v for t, v in points if start < t <= end]
        periods.append((start, statistic(values, spec.statistic) if values else None))
    marks: list[bool | None] = [None if v is None else breaches(v, spec.comparison, spec.threshold) for _, v in periods]
    missing = spec.treat_missing_data
    if missing in ("breaching", "notBreaching"):
        marks = [(missing == "breaching") if m is None else m for m in marks]
    present = [(start, value) for start, value in periods if value is not None]
    data = {
        "version": "1.0",
        "queryDate": iso(now),
        "statistic": spec.statistic,
        "period": spec.period,
        "recentDatapoints": [value for _, value in reversed(present)],
        "threshold": spec.threshold,
        "evaluatedDatapoints": [{"timestamp": iso(start), "value": value} for start, value in present],
    }
    if all(m is None for m in marks):
        if missing == "ignore":
            return Outcome(spec.state, "no datapoints; missing data is ignored: the state is kept", data)
        return Outcome(
            INSUFFICIENT_DATA,
            f"Insufficient Data: {spec.evaluation_periods} datapoint(s) were unknown "
            f"(no {spec.namespace} {spec.metric_name} in the last {spec.window:.0f} s).",
            data,
        )
    needed = spec.datapoints_to_alarm or spec.evaluation_periods
    breaching = sum(1 for m in marks if m)
    word = COMPARISONS[spec.comparison][1]
    shown = ", ".join(f"{_number(v)} ({_stamp(s)})" for s, v in present) or "no data"
    if breaching >= needed:
        return Outcome(
            ALARM,
            f"Threshold Crossed: {breaching} out of the last {spec.evaluation_periods} datapoints [{shown}] "
            f"was {word} the threshold ({_number(spec.threshold)}) "
            f"(minimum {needed} datapoint{'s' if needed != 1 else ''} for OK -> ALARM transition).",
            data,
        )
    return Outcome(
        OK,
        f"Threshold Crossed: {len(present)} datapoint{'s' if len(present) != 1 else ''} [{shown}] "
        f"{'was' if len(present) == 1 else 'were'} not {word} the threshold ({_number(spec.threshold)}) "
        f"(minimum {needed} datapoint{'s' if needed != 1 else ''} for ALARM)."
        if present
        else f"Threshold Crossed: no datapoints were received for {spec.evaluation_periods} period(s) "
        f"and missing data is treated as {missing}.",
        data,
    )


def notification(
    spec: AlarmSpec, outcome: Outcome, old_state: str, changed_at: float, account_id: str, region: str
) -> dict[str, Any]:
    """The JSON message CloudWatch publishes to an alarm's SNS topics on a state change."""
    trigger: dict[str, Any] = {
        "MetricName": spec.metric_name,
        "Namespace": spec.namespace,
        "StatisticType": "ExtendedStatistic" if spec.extended else "Statistic",
        "Unit": spec.unit,
        "Dimensions": [{"value": v, "name": k} for k, v in spec.dimensions.items()],
        "Period": spec.period,
        "EvaluationPeriods": spec.evaluation_periods,
        "DatapointsToAlarm": spec.datapoints_to_alarm or spec.evaluation_periods,
        "ComparisonOperator": spec.comparison,
        "Threshold": spec.threshold,
        "TreatMissingData": spec.treat_missing_data,
        "EvaluateLowSampleCountPercentile": "",
    }
    trigger["ExtendedStatistic" if spec.extended else "Statistic"] = (
        spec.statistic if spec.extended else spec.statistic.upper()
    )
    return {
        "AlarmName": spec.name,
        "AlarmDescription": spec.description or None,
        "AWSAccountId": account_id,
        "AlarmConfigurationUpdatedTimestamp": spec.configuration_updated,
        "NewStateValue": outcome.state,
        "NewStateReason": outcome.reason,
        "StateChangeTime": datetime.fromtimestamp(changed_at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000",
        "Region": REGION_NAMES.get(region, region),
        "AlarmArn": spec.arn,
        "OldStateValue": old_state,
        "OKActions": list(spec.ok_actions),
        "AlarmActions": list(spec.alarm_actions),
        "InsufficientDataActions": list(spec.insufficient_data_actions),
        "Trigger": trigger,
    }


class AlarmEvaluator:
    """Evaluates every alarm in moto's CloudWatch every `interval` seconds, on a thread of its own;
    `describe()` is what `GET /_localcloud/alarms` serves."""

    def __init__(
        self,
        *,
        moto_url: str,
        region: str,
        account_id: str,
        telemetry: Telemetry = TELEMETRY,
        interval: float = EVALUATION_SECONDS,
        log: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.region = region
        self.account_id = account_id
        self.telemetry = telemetry
        self.interval = interval
        self.log = log or _print
        self.clock = clock
        self._clients = local_clients(moto_url, region)
        self._lock = threading.Lock()
        self._snapshot: list[dict[str, Any]] | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="alarms")

    def start(self) -> AlarmEvaluator:
        """Evaluate now and then every interval; this evaluator becomes the one the gateway serves."""
        global _ACTIVE
        _ACTIVE = self
        self._thread.start()
        return self

    def stop(self) -> None:
        global _ACTIVE
        self._stopped.set()
        if _ACTIVE is self:
            _ACTIVE = None
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                self.evaluate_all()
            except Exception as exc:  # moto mid-deploy, a stopped endpoint: the next pass tries again
                self.log(f"[alarms] evaluation failed: {exc!r}")
            if self._stopped.wait(self.interval):
                return

    def describe(self) -> list[dict[str, Any]]:
        """Each alarm: name, state, reason, metric, threshold, last change (evaluates once if no
        pass has run yet)."""
        snapshot = self._snapshot
        return snapshot if snapshot is not None else self.evaluate_all()

    def evaluate_all(self) -> list[dict[str, Any]]:
        """One pass over every metric alarm: evaluate, apply the state changes, keep the snapshot."""
        with self._lock:
            cloudwatch = self._clients("cloudwatch")
            alarms = [
                alarm
                for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"])
                for alarm in page.get("MetricAlarms", [])
            ]
            now = self.clock()
            snapshot = []
            for described in alarms:
                spec = AlarmSpec.from_description(described)
                points = self.telemetry.points(spec.namespace, spec.metric_name, spec.dimensions, now - spec.window)
                outcome = evaluate(spec, points, now)
                last_change = spec.state_updated
                if outcome.state != spec.state:
                    self._change(spec, outcome, now)
                    last_change = iso(now)
                snapshot.append(_entry(spec, outcome, last_change, now))
            self._snapshot = snapshot
            return snapshot

    def _change(self, spec: AlarmSpec, outcome: Outcome, now: float) -> None:
        self._clients("cloudwatch").set_alarm_state(
            AlarmName=spec.name,
            StateValue=outcome.state,
            StateReason=outcome.reason[:1023],
            StateReasonData=json.dumps(outcome.data),
        )
        message = notification(spec, outcome, spec.state, now, self.account_id, self.region)
        subject = f'{outcome.state}: "{spec.name}" in {message["Region"]}'
        for arn in spec.actions(outcome.state):
            if not arn.startswith("arn:aws:sns:"):
                continue  # Auto Scaling, EC2 and Systems Manager actions have nothing to act on here
            try:
                self._clients("sns").publish(TopicArn=arn, Subject=subject[:SUBJECT_LIMIT], Message=json.dumps(message))
            except Exception as exc:
                self.log(f"[alarms] {spec.name}: could not publish to {arn}: {exc!r}")
        self.log(f"[alarms] {spec.name} {spec.state} -> {outcome.state}: {outcome.reason}")


def _entry(spec: AlarmSpec, outcome: Outcome, last_change: str | None, now: float) -> dict[str, Any]:
    return {
        "name": spec.name,
        "description": spec.description,
        "state": outcome.state,
        "reason": outcome.reason,
        "evaluated": spec.unsupported is None,
        "namespace": spec.namespace,
        "metric": spec.metric_name,
        "dimensions": dict(spec.dimensions),
        "statistic": spec.statistic,
        "period": spec.period,
        "evaluationPeriods": spec.evaluation_periods,
        "datapointsToAlarm": spec.datapoints_to_alarm or spec.evaluation_periods,
        "comparison": spec.comparison,
        "threshold": spec.threshold,
        "treatMissingData": spec.treat_missing_data,
        "actions": list(spec.alarm_actions),
        "lastChange": last_change,
        "evaluatedAt": iso(now),
    }


def local_clients(moto_url: str, region: str) -> Callable[[str], Any]:
    """boto3 clients of the local AWS endpoint, made once per service (boto3 clients are thread-safe)."""
    made: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in made:
            import boto3

            made[service] = boto3.client(
                service,
                endpoint_url=moto_url,
                region_name=region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
        return made[service]

    return client


def _print(line: str) -> None:
    print(line, flush=True)


_ACTIVE: AlarmEvaluator | None = None


def active() -> AlarmEvaluator | None:
    """The running evaluator the control endpoints serve, if any."""
    return _ACTIVE
