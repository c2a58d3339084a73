"""EventBridge scheduled rules: the rate parser, the scheduler's timing, and a deployed stack whose
scheduled rules fire at start and on `POST /_localcloud/schedules/<rule>`."""

from __future__ import annotations

import functools
import io
import json
import threading
import time
from collections.abc import Iterator
from typing import Any, cast

import pytest

from shopstack import harness
from shopstack.localcloud import control
from shopstack.localcloud.schedules import ScheduledRule, ScheduleError, Scheduler, Target, discover, parse_schedule
from shopstack.localcloud.up import LocalCloud
from shopstack.waiting import eventually

from .conftest import FIXTURES, lambda_function, one_stack_assembly, reset_moto

STACK = "FixtureSchedules"
TICK = "fixture-tick"
NIGHTLY = "fixture-nightly"
WITH_INPUT = "fixture-with-input"
FAILING = "fixture-failing"
DISABLED = "fixture-disabled"
TARGET_INPUT = {"job": "reconcile", "olderThanMinutes": 15}
RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:"


# --- the parser ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(1 hour)", 3600),
        ("rate(12 hours)", 43200),
        ("rate(1 day)", 86400),
        ("rate(7 days)", 604800),
        (" rate(15 minutes) ", 900),
    ],
)
def test_rate_expressions_give_their_period(expression: str, seconds: int) -> None:
    assert parse_schedule(expression) == seconds


def test_cron_expressions_are_not_emulated() -> None:
    assert parse_schedule("cron(0 3 * * ? *)") is None
    assert parse_schedule("cron(0/15 * * * ? *)") is None


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minutes)",  # EventBridge wants the singular for 1
        "rate(5 minute)",  # and the plural for more
        "rate(0 minutes)",
        "rate(-1 minutes)",
        "rate(1.5 hours)",
        "rate(2 weeks)",
        "rate(5minutes)",
        "rate(5 Minutes)",
        "every 5 minutes",
        "",
    ],
)
def test_invalid_expressions_are_refused_as_eventbridge_refuses_them(expression: str) -> None:
    with pytest.raises(ScheduleError):
        parse_schedule(expression)


class FakeEvents:
    """ListRules and ListTargetsByRule of a default bus holding `rules`."""

    def __init__(self, *rules: dict[str, Any]) -> None:
        self.rules = rules

    def list_rules(self, **params: Any) -> dict[str, Any]:
        assert params == {"EventBusName": "default"}
        return {"Rules": list(self.rules)}

    def list_targets_by_rule(self, Rule: str, **params: Any) -> dict[str, Any]:
        return {"Targets": [{"Id": "t", "Arn": FUNCTION_ARN + Rule}]}


def listed(name: str, expression: str | None, state: str = "ENABLED") -> dict[str, Any]:
    found = {"Name": name, "Arn": RULE_ARN + name, "State": state}
    return found if expression is None else {**found, "ScheduleExpression": expression}


def test_discover_finds_enabled_scheduled_rules_only() -> None:
    events = FakeEvents(
        listed("every-5", "rate(5 minutes)"),
        listed("nightly", "cron(0 3 * * ? *)"),
        listed("off", "rate(1 hour)", state="DISABLED"),
        {**listed("pattern", None), "EventPattern": "{}"},
    )
    found = {rule.name: rule for rule in discover(events)}
    assert set(found) == {"every-5", "nightly"}
    assert found["every-5"].period == 300 and found["nightly"].period is None
    assert found["every-5"].targets == (
        Target("t", FUNCTION_ARN + "every-5", {"Id": "t", "Arn": FUNCTION_ARN + "every-5"}),
    )


def test_a_rule_eventbridge_would_refuse_stops_discovery_with_its_name() -> None:
    with pytest.raises(ScheduleError, match=r"rule bad: .*EventBridge expects rate\(5 minutes\)"):
        discover(FakeEvents(listed("bad", "rate(5 minute)")))


# --- the scheduler's timing, with a fake invoke --------------------------------------------------


def fake_rule(name: str, period: float | None, *targets: Target) -> ScheduledRule:
    expression = "cron(0 3 * * ? *)" if period is None else f"rate({period} seconds)"
    return ScheduledRule(name, RULE_ARN + name, expression, period, targets)


def lambda_target(function: str, **spec: Any) -> Target:
    arn = FUNCTION_ARN + function
    return Target(id=function, arn=arn, spec={"Id": function, "Arn": arn, **spec})


class Calls:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[tuple[str, Any, float]] = []

    def __call__(self, arn: str, event: Any) -> tuple[str, bool, str]:
        with self.lock:
            self.seen.append((arn.rsplit(":", 1)[-1], event, time.monotonic()))
        if arn.endswith(":boom"):
            return json.dumps({"errorType": "ValueError", "errorMessage": "boom"}), True, ""
        return json.dumps({"ok": True}), False, ""

    def to(self, function: str) -> list[tuple[Any, float]]:
        with self.lock:
            return [(event, at) for name, event, at in self.seen if name == function]


def fast_reached(calls: Calls, count: int) -> bool:
    return len(calls.to("fast")) >= count


def test_rate_rules_fire_at_start_then_every_period_and_stop_cleanly() -> None:
    calls, lines = Calls(), cast(list[str], [])
    rules = [
        fake_rule("fast", 0.25, lambda_target("fast")),
        fake_rule("slow", 3600, lambda_target("slow", Input=json.dumps(TARGET_INPUT))),
        fake_rule("nightly", None, lambda_target("nightly")),
        fake_rule("failing", 3600, lambda_target("boom")),
    ]
    now = [1000.0]  # the scheduler's clock, moved by the test: one period at a time
    existing = set(threading.enumerate())
    scheduler = Scheduler(rules, calls, lines.append, clock=lambda: now[0])
    scheduler.start()
    try:
        eventually(lambda: len(calls.to("fast")) == 1, timeout=5)  # once at start
        [(slow_input, _)] = calls.to("slow")
        assert slow_input == TARGET_INPUT
        assert calls.to("nightly") == []
        eventually(lambda: calls.to("boom"), timeout=2)
        for fired in (2, 3, 4):
            now[0] += 0.25
            eventually(functools.partial(fast_reached, calls, fired), timeout=5)  # once per period
    finally:
        scheduler.stop()
    now[0] += 10  # the clock moves on: a scheduler still running would fire
    ours = [t for t in set(threading.enumerate()) - existing if t.name.startswith("schedule")]
    eventually(lambda: not any(t.is_alive() for t in ours), timeout=5)  # nothing left that could fire
    assert len(calls.to("fast")) == 4  # once per period, nothing after stop
    assert len(calls.to("slow")) == 1
    assert any("nightly: cron(0 3 * * ? *) is not emulated" in line for line in lines)
    assert sum("not emulated" in line for line in lines) == 1
    assert any("failing" in line and "ValueError: boom" in line for line in lines)  # logged, not raised


def test_the_scheduled_event_is_eventbridges() -> None:
    calls = Calls()
    scheduler = Scheduler([fake_rule("fast", 3600, lambda_target("fast"))], calls, lambda line: None).start()
    try:
        [(event, _)] = eventually(lambda: calls.to("fast"), timeout=2)
    finally:
        scheduler.stop()
    assert set(event) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
    assert event["version"] == "0"
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["account"] == "123456789012"
    assert event["region"] == "us-east-1"
    assert event["resources"] == [RULE_ARN + "fast"]
    assert event["detail"] == {}
    assert time.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ")


# --- a deployed stack ----------------------------------------------------------------------------


def function(handler: str) -> dict[str, Any]:
    return lambda_function(handler, "schedules.zip", MemorySize=256)


def rule(name: str, expression: str, function_id: str, *, state: str = "ENABLED", **target: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Name": name,
            "ScheduleExpression": expression,
            "State": state,
            "Targets": [{"Arn": {"Fn::GetAtt": [function_id, "Arn"]}, "Id": "Target0", **target}],
        },
    }


def template() -> dict[str, Any]:
    return {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Action": "sts:AssumeRole",
                                "Effect": "Allow",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                            }
                        ],
                    }
                },
            },
            "Echo": function("echo"),
            "Boom": function("boom"),
            "Tick": rule(TICK, "rate(1 minute)", "Echo"),
            "WithInput": rule(WITH_INPUT, "rate(2 hours)", "Echo", Input=json.dumps(TARGET_INPUT)),
            "Nightly": rule(NIGHTLY, "cron(0 3 * * ? *)", "Echo"),
            "Failing": rule(FAILING, "rate(1 day)", "Boom"),
            "Disabled": rule(DISABLED, "rate(1 minute)", "Echo", state="DISABLED"),
            "TickPermission": {
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "Action": "lambda:InvokeFunction",
                    "FunctionName": {"Fn::GetAtt": ["Echo", "Arn"]},
                    "Principal": "events.amazonaws.com",
                    "SourceArn": {"Fn::GetAtt": ["Tick", "Arn"]},
                },
            },
        }
    }


@pytest.fixture(scope="module")
def scheduler_log() -> list[str]:
    return []


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory, scheduler_log: list[str]) -> Iterator[LocalCloud]:
    """Overrides conftest's cloud: this module deploys its own small stack, then starts the
    scheduler as `shopstack up` does just before it prints `ready:`."""
    reset_moto()
    local = LocalCloud(code_paths=[FIXTURES], log_stream=io.StringIO()).start()
    try:
        local.deploy(one_stack_assembly(tmp_path_factory.mktemp("schedules"), STACK, template()))
        local.start_schedules(log=scheduler_log.append)
        yield local
    finally:
        local.stop()
        reset_moto()


@pytest.fixture(scope="module")
def local(cloud: LocalCloud, gateway_url: str) -> harness.LocalCloud:
    """The harness's client over this module's gateway (no `shopstack up` process behind it)."""
    return harness.LocalCloud(cast(Any, None), gateway_url, cloud.moto_url, "")


def by_name(rules: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in rules}


def test_enabled_scheduled_rules_are_listed(local: harness.LocalCloud) -> None:
    rules = by_name(local.schedules())
    assert set(rules) == {TICK, WITH_INPUT, NIGHTLY, FAILING}  # not the disabled one
    tick = rules[TICK]
    assert tick["expression"] == "rate(1 minute)"
    assert tick["emulated"] is True and tick["periodSeconds"] == 60
    [target] = tick["targets"]
    assert target["id"] == "Target0" and target["arn"].endswith(":function:" + target["arn"].rsplit(":", 1)[-1])
    assert tick["nextFireAt"] > tick["lastFiredAt"]
    assert rules[WITH_INPUT]["targets"][0]["input"] == TARGET_INPUT
    assert rules[NIGHTLY]["emulated"] is False
    assert rules[NIGHTLY]["nextFireAt"] is None and rules[NIGHTLY]["lastFiredAt"] is None


def test_rate_rules_fire_at_start(local: harness.LocalCloud, scheduler_log: list[str]) -> None:
    def fired() -> dict[str, dict[str, Any]] | None:
        rules = by_name(local.schedules())
        done = all(rules[name]["lastResult"] for name in (TICK, WITH_INPUT, FAILING))
        return rules if done else None

    rules = eventually(fired, timeout=15)
    tick = rules[TICK]["lastResult"]
    assert tick["trigger"] == "start"
    [result] = tick["results"]
    event = result["result"]["event"]  # handlers.echo returns what it was sent
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"] == [rules[TICK]["arn"]]
    assert event["account"] == rules[TICK]["arn"].split(":")[4]
    assert rules[WITH_INPUT]["lastResult"]["results"][0]["result"]["event"] == TARGET_INPUT
    [failed] = rules[FAILING]["lastResult"]["results"]
    assert failed["error"]["errorType"] == "ValueError"
    assert any(FAILING in line and "ValueError" in line for line in scheduler_log)
    assert rules[NIGHTLY]["lastResult"] is None
    assert [line for line in scheduler_log if "not emulated" in line] == [
        f"schedule {NIGHTLY}: cron(0 3 * * ? *) is not emulated by the local cloud and never fires on its own "
        f"here; POST /_localcloud/schedules/{NIGHTLY} fires it"
    ]


def test_post_fires_a_rule_now_with_the_given_payload(local: harness.LocalCloud) -> None:
    fired = local.fire_schedule(TICK, {"orderId": "o-1", "dryRun": True})
    assert fired["rule"] == TICK
    [result] = fired["results"]
    assert result["target"] == "Target0"
    assert result["result"]["event"] == {"orderId": "o-1", "dryRun": True}
    rule = by_name(local.schedules())[TICK]
    assert rule["lastResult"]["trigger"] == "manual"
    assert rule["firings"] >= 2


def test_post_without_a_body_sends_the_rules_own_input(local: harness.LocalCloud) -> None:
    [own] = local.fire_schedule(WITH_INPUT)["results"]
    assert own["result"]["event"] == TARGET_INPUT
    [event] = [r["result"]["event"] for r in local.fire_schedule(NIGHTLY)["results"]]  # cron fires by hand
    assert event["detail-type"] == "Scheduled Event"


def test_a_failing_target_is_reported_not_raised(local: harness.LocalCloud) -> None:
    [failed] = local.fire_schedule(FAILING, {"why": "on purpose"})["results"]
    assert failed["error"]["errorType"] == "ValueError"
    assert "on purpose" in failed["error"]["errorMessage"]


def test_unknown_rules_are_404_problems(local: harness.LocalCloud) -> None:
    reply = local.request("POST", "/_localcloud/schedules/no-such-rule", body={})
    assert reply.status == 404
    assert reply.json["status"] == 404 and reply.json["code"] == "schedule_not_found"
    assert TICK in reply.json["detail"]
    assert local.request("POST", f"/_localcloud/schedules/{DISABLED}").status == 404
    with pytest.raises(RuntimeError, match="404"):
        local.fire_schedule("no-such-rule")
    assert local.request("POST", f"/_localcloud/schedules/{TICK}", raw=b"{not json").status == 400
    assert local.request("DELETE", f"/_localcloud/schedules/{TICK}").status == 405
    assert local.request("GET", f"/_localcloud/schedules/{TICK}").json["name"] == TICK


def test_control_serves_the_schedule_paths() -> None:
    assert "/_localcloud/schedules" in control.PATHS
    assert f"/_localcloud/schedules/{TICK}" in control.PATHS
    assert "/_localcloud/schedulesx" not in control.PATHS
    assert "/_localcloud/ses" in control.PATHS and "/_localcloud/mail" not in control.PATHS


def test_the_first_scheduled_firing_comes_soon_after_start_up_then_every_period() -> None:
    from shopstack.localcloud.schedules import FIRST_PHASE_SECONDS

    calls = Calls()
    rules = [fake_rule("minutely", 60, lambda_target("minutely")), fake_rule("fast", 0.2, lambda_target("fast"))]
    scheduler = Scheduler(rules, calls, lambda line: None, clock=lambda: 1000.0)
    scheduler.start()
    try:
        due = {name: state.next_due for name, state in scheduler._states.items()}
    finally:
        scheduler.stop()
    assert due == {"minutely": 1000.0 + FIRST_PHASE_SECONDS, "fast": 1000.2}
