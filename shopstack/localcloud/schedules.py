"""EventBridge scheduled rules, fired as EventBridge fires them.

moto keeps rules with a `ScheduleExpression` but never fires them. The scheduler reads every
enabled scheduled rule of the default event bus (the only bus EventBridge allows schedules on)
through the events API, with its targets, and invokes each Lambda target with the event
EventBridge sends for a scheduled event (or the target's constant `Input`), asynchronously:
a failed invocation is logged, never raised. Each `rate(...)` rule fires once when the scheduler
starts (`shopstack up` starts it just before it prints `ready:`, so a restart resumes work in
flight), then once every period. `cron(...)` rules are not emulated: they are listed and can be
fired by hand, but never fire on their own.

`GET /_localcloud/schedules` lists the rules and `POST /_localcloud/schedules/<rule name>` fires
one now (see control.py).
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

InvokeRaw = Callable[[str, Any], tuple[str, bool, str]]
Log = Callable[[str], None]

RATE = re.compile(r"^rate\((?P<value>\d+) (?P<unit>minute|minutes|hour|hours|day|days)\)$")
CRON = re.compile(r"^cron\(.*\)$")
UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
MAX_CONCURRENT_FIRINGS = 4
DEFAULT_BUS = "default"
TRIGGER_START = "start"
TRIGGER_SCHEDULE = "schedule"
TRIGGER_MANUAL = "manual"


class ScheduleError(ValueError):
    """A schedule expression EventBridge would reject."""


class UnknownRule(KeyError):
    """No enabled scheduled rule by that name."""


def parse_schedule(expression: str) -> float | None:
    """Seconds between firings of a `rate(...)` expression; None for a `cron(...)` expression,
    which the local cloud does not emulate. Raises ScheduleError for what EventBridge rejects: a
    value that is not a positive whole number, an unknown unit, or a unit whose number does not
    match the value (`rate(1 minute)`, `rate(5 minutes)`; not `rate(1 minutes)` or `rate(5 minute)`)."""
    text = expression.strip()
    if CRON.match(text):
        return None
    match = RATE.match(text)
    if match is None:
        raise ScheduleError(
            f"schedule expression {expression!r} is not valid: expected rate(VALUE UNIT) with UNIT one of "
            "minute(s), hour(s), day(s), or cron(...)"
        )
    value, unit = int(match["value"]), match["unit"]
    if value < 1:
        raise ScheduleError(f"schedule expression {expression!r} is not valid: the rate must be at least 1")
    singular = unit.rstrip("s")
    if (value == 1) != (unit == singular):
        expected = f"rate({value} {singular if value == 1 else singular + 's'})"
        raise ScheduleError(f"schedule expression {expression!r} is not valid: EventBridge expects {expected}")
    return float(value * UNIT_SECONDS[singular])


def iso(epoch: float, *, milliseconds: bool = True) -> str:
    spec = "milliseconds" if milliseconds else "seconds"
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec=spec).replace("+00:00", "Z")


@dataclass(frozen=True)
class Target:
    id: str
    arn: str
    spec: dict[str, Any]
    """The target as ListTargetsByRule returns it (Input, InputTransformer, ...)."""

    @property
    def service(self) -> str:
        parts = self.arn.split(":")
        return parts[2] if len(parts) > 2 else ""


@dataclass(frozen=True)
class ScheduledRule:
    name: str
    arn: str
    expression: str
    period: float | None
    """Seconds between firings; None for cron(...), which only fires by hand."""
    targets: tuple[Target, ...]

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]


def _pages(client: Any, operation: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
    token: str | None = None
    while True:
        page = getattr(client, operation)(**params, **({"NextToken": token} if token else {}))
        yield from page.get(key, [])
        token = page.get("NextToken")
        if not token:
            return


def discover(events_client: Any) -> list[ScheduledRule]:
    """Every enabled rule with a ScheduleExpression on the default bus, with its targets.
    Raises ScheduleError for a rule whose expression EventBridge would have refused."""
    found: list[ScheduledRule] = []
    for rule in _pages(events_client, "list_rules", "Rules", EventBusName=DEFAULT_BUS):
        expression = rule.get("ScheduleExpression")
        if not expression or rule.get("State", "ENABLED") != "ENABLED":
            continue
        try:
            period = parse_schedule(expression)
        except ScheduleError as exc:
            raise ScheduleError(f"rule {rule['Name']}: {exc}") from None
        targets = tuple(
            Target(id=str(t["Id"]), arn=str(t["Arn"]), spec=dict(t))
            for t in _pages(
                events_client, "list_targets_by_rule", "Targets", Rule=rule["Name"], EventBusName=DEFAULT_BUS
            )
        )
        found.append(ScheduledRule(rule["Name"], rule["Arn"], expression, period, targets))
    return found


def scheduled_event(rule: ScheduledRule, when: float) -> dict[str, Any]:
    """The event EventBridge sends a target for one firing of a scheduled rule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": rule.account,
        "time": iso(when, milliseconds=False),
        "region": rule.region,
        "resources": [rule.arn],
        "detail": {},
    }


def target_input(target: Target, event: dict[str, Any]) -> Any:
    """What the target receives: its constant Input, its InputTransformer's output, or the event."""
    if "Input" in target.spec:
        return json.loads(target.spec["Input"])
    if "InputTransformer" in target.spec:
        from shopstack.localcloud.hooks import target_input as transformed

        return transformed(target.spec, {**event, "ingestion-time": time.time()}, True)
    return event


RULE_INPUT: Any = object()
"""`fire`'s default payload: each target's own input (Input, InputTransformer or the event)."""


@dataclass
class RuleState:
    rule: ScheduledRule
    next_due: float | None = None
    """On the scheduler's clock (monotonic); None: never fires on its own."""
    last_fired_at: float | None = None
    last_result: dict[str, Any] | None = None
    firings: int = 0


def log_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


FIRST_PHASE_SECONDS = 15.0
"""The first scheduled firing comes this long after the one at start-up (or after one period, if
shorter), then every period. AWS leaves the phase of a rate rule unspecified (its first firing may
come at any point of the first period); a short first phase lets work left in flight by a restart
(older than the reconciler's `stuckAfterSeconds` by then) resume within seconds of `ready:`."""


class Scheduler:
    """Fires scheduled rules on a background thread; `fire` fires one now. `invoke` is the worker
    pool's `invoke_raw`, the path the event source pollers take; `clock` is monotonic seconds."""

    def __init__(
        self,
        rules: list[ScheduledRule],
        invoke: InvokeRaw,
        log: Log = log_to_stderr,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rules = rules
        self.invoke = invoke
        self.log = log
        self.clock = clock
        self._states = {rule.name: RuleState(rule) for rule in self.rules}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._executor = ThreadPoolExecutor(MAX_CONCURRENT_FIRINGS, thread_name_prefix="schedule")
        self._thread = threading.Thread(target=self._run, daemon=True, name="schedules")

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> Scheduler:
        """Say what is scheduled, fire every rate rule once (in the background), then keep firing
        each every period. The scheduler becomes the one the control endpoints serve."""
        global _ACTIVE
        now = self.clock()
        for state in self._states.values():
            rule = state.rule
            for target in rule.targets:
                if target.service != "lambda":
                    self.log(
                        f"schedule {rule.name}: target {target.id} ({target.arn}) is not a Lambda function; "
                        "the local cloud only fires Lambda targets of scheduled rules"
                    )
            if rule.period is None:
                self.log(
                    f"schedule {rule.name}: {rule.expression} is not emulated by the local cloud and never fires "
                    f"on its own here; POST /_localcloud/schedules/{rule.name} fires it"
                )
                continue
            self.log(f"schedule {rule.name}: {rule.expression} -> {_functions(rule)}; fires now, then every period")
            state.next_due = now + min(rule.period, FIRST_PHASE_SECONDS)
            self._submit(state, TRIGGER_START)
        _ACTIVE = self
        if any(state.next_due is not None for state in self._states.values()):
            self._thread.start()
        return self

    def stop(self, timeout: float = 3.0) -> None:
        global _ACTIVE
        self._stopped.set()
        if _ACTIVE is self:
            _ACTIVE = None
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopped.is_set():
            now = self.clock()
            waits: list[float] = []
            for state in self._states.values():
                period = state.rule.period
                if state.next_due is None or period is None:
                    continue
                if state.next_due <= now:
                    self._submit(state, TRIGGER_SCHEDULE)
                    following = state.next_due + period
                    with self._lock:  # fell behind (a suspended machine): no backfill
                        state.next_due = following if following > now else now + period
                waits.append(state.next_due - now)
            if self._stopped.wait(max(0.0, min(waits, default=60.0))):
                return

    # --- firing ------------------------------------------------------------------------------------

    def _submit(self, state: RuleState, trigger: str) -> None:
        try:
            self._executor.submit(self._fire_logged, state, trigger)
        except RuntimeError:  # the executor shut down: stopping
            return

    def _fire_logged(self, state: RuleState, trigger: str) -> None:
        try:
            results = self._fire(state, trigger, RULE_INPUT)
        except Exception as exc:
            if not self._stopped.is_set():
                self.log(f"schedule {state.rule.name}: firing failed: {exc!r}")
            return
        if self._stopped.is_set():
            return
        for result in results:
            if "error" in result:
                error = result["error"]
                message = error.get("errorMessage", "") if isinstance(error, dict) else error
                kind = error.get("errorType", "Error") if isinstance(error, dict) else "Error"
                self.log(
                    f"schedule {state.rule.name}: target {result['target']} ({result['function']}) failed: "
                    f"{kind}: {message}"
                )

    def fire(self, name: str, payload: Any = RULE_INPUT) -> list[dict[str, Any]]:
        """Fire one rule now and wait for its targets: each target's result or error. `payload`,
        when given, is sent to every target instead of the rule's own input."""
        state = self._states.get(name)
        if state is None:
            raise UnknownRule(name)
        return self._fire(state, TRIGGER_MANUAL, payload)

    def _fire(self, state: RuleState, trigger: str, payload: Any) -> list[dict[str, Any]]:
        rule = state.rule
        fired_at = time.time()
        with self._lock:
            state.last_fired_at = fired_at
            state.firings += 1
        event = scheduled_event(rule, fired_at)
        results = [
            self._invoke_target(target, event if payload is RULE_INPUT else None, payload)
            for target in rule.targets
            if target.service == "lambda"
        ]
        with self._lock:
            state.last_result = {"trigger": trigger, "firedAt": iso(fired_at), "results": results}
        return results

    def _invoke_target(self, target: Target, event: dict[str, Any] | None, payload: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {"target": target.id, "function": target.arn}
        try:
            sent = target_input(target, event) if event is not None else payload
            text, errored, _ = self.invoke(target.arn, sent)
            document = json.loads(text) if text else None
        except Exception as exc:
            entry["error"] = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
            return entry
        entry["error" if errored else "result"] = document
        return entry

    # --- listing -----------------------------------------------------------------------------------

    def names(self) -> list[str]:
        return list(self._states)

    def describe(self) -> list[dict[str, Any]]:
        now, wall = self.clock(), time.time()
        with self._lock:
            return [
                {
                    "name": state.rule.name,
                    "arn": state.rule.arn,
                    "expression": state.rule.expression,
                    "emulated": state.rule.period is not None,
                    "periodSeconds": state.rule.period,
                    "targets": [_describe_target(t) for t in state.rule.targets],
                    "firings": state.firings,
                    "lastFiredAt": None if state.last_fired_at is None else iso(state.last_fired_at),
                    "nextFireAt": None
                    if state.next_due is None or self._stopped.is_set()
                    else iso(wall + max(0.0, state.next_due - now)),
                    "lastResult": state.last_result,
                }
                for state in self._states.values()
            ]


def _describe_target(target: Target) -> dict[str, Any]:
    described: dict[str, Any] = {"id": target.id, "arn": target.arn}
    if "Input" in target.spec:
        described["input"] = json.loads(target.spec["Input"])
    return described


def _functions(rule: ScheduledRule) -> str:
    names = [t.arn.split(":")[6] if t.arn.count(":") >= 6 else t.arn for t in rule.targets if t.service == "lambda"]
    return ", ".join(names) or "no Lambda target"


_ACTIVE: Scheduler | None = None


def active() -> Scheduler | None:
    """The running scheduler of this process (what the control endpoints serve), if any."""
    return _ACTIVE
