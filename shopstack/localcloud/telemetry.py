"""The local cloud's CloudWatch: the log lines and metrics of everything it runs, kept in memory.

On AWS, a function's output goes to CloudWatch Logs, its Embedded Metric Format (EMF) lines become
metrics, Lambda publishes Duration, Invocations, Errors and Throttles, API Gateway publishes Count,
4XXError, 5XXError and Latency, SQS its queue depths and Step Functions its failed executions.
Here one collector, `TELEMETRY`, is fed from many threads: the worker pool's log pumps (every
line each worker prints, `FunctionStream`), the pool (errors), the gateway (every request it
serves), the EventBridge hook (every event delivered to a rule) and `samplers.py` (queue depths,
failed executions). `alarms.py` evaluates the template's alarms against it, the gateway serves it
at `/_localcloud/metrics` and `/_localcloud/logs`, and `trace.py` follows one order through it.

Everything is bounded: the newest LOG_LINES log lines (and at most LOG_CHARS characters of them),
per metric series the newest SERIES_POINTS datapoints of the last RETENTION_SECONDS, at most
MAX_SERIES series, the newest EVENTS events. START, END and REPORT lines and EMF lines are metrics,
not kept as log lines (they are still printed)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LOG_LINES = 50_000
LOG_CHARS = 16 * 1024 * 1024
SERIES_POINTS = 10_000
MAX_SERIES = 2_000
RETENTION_SECONDS = 3600.0
EVENTS = 10_000

_START = re.compile(r"^START RequestId: (?P<id>[\w-]+)")
_END = re.compile(r"^END RequestId: ")
_REPORT = re.compile(r"^REPORT RequestId: (?P<id>[\w-]+)\s+Duration: (?P<ms>[\d.]+) ms")

Dimensions = tuple[tuple[str, str], ...]
SeriesKey = tuple[str, str, Dimensions]


def dimensions_key(dimensions: Mapping[str, Any]) -> Dimensions:
    """A metric's dimensions as a hashable, order-free key."""
    return tuple(sorted((str(k), str(v)) for k, v in dimensions.items()))


@dataclass(frozen=True, slots=True)
class Datapoint:
    namespace: str
    name: str
    dimensions: Dimensions
    value: float
    unit: str
    time: float


def parse_emf(document: Mapping[str, Any], now: float | None = None) -> list[Datapoint]:
    """The datapoints of one EMF document: for every directive in `_aws.CloudWatchMetrics`, every
    dimension set times every metric (a list value is one datapoint per element). Malformed parts
    are skipped, as CloudWatch skips them."""
    aws = document.get("_aws")
    if not isinstance(aws, Mapping):
        return []
    stamp = aws.get("Timestamp")
    at = float(stamp) / 1000 if isinstance(stamp, (int, float)) and not isinstance(stamp, bool) else None
    at = at if at is not None else (now if now is not None else time.time())
    found: list[Datapoint] = []
    for directive in aws.get("CloudWatchMetrics") or []:
        if not isinstance(directive, Mapping) or not isinstance(directive.get("Namespace"), str):
            continue
        dimension_sets = directive.get("Dimensions") or [[]]
        for metric in directive.get("Metrics") or []:
            name = metric.get("Name") if isinstance(metric, Mapping) else None
            if not isinstance(name, str) or name not in document:
                continue
            raw = document[name]
            values = raw if isinstance(raw, list) else [raw]
            unit = str(metric.get("Unit") or "None")
            for names in dimension_sets:
                if not isinstance(names, list) or any(n not in document for n in names):
                    continue
                dims = dimensions_key({n: document[n] for n in names})
                for value in values:
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        found.append(Datapoint(directive["Namespace"], name, dims, float(value), unit, at))
    return found


def parse_json(text: str) -> Any:
    """The JSON object a line holds, else None (cheap for lines that cannot be one)."""
    stripped = text.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return None
    try:
        document = json.loads(stripped)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


class LogLine:
    """One kept log line; its JSON is parsed again when asked for (keeping the text is smaller)."""

    __slots__ = ("correlation_id", "function", "order_id", "request_id", "seq", "text", "time")

    def __init__(
        self,
        seq: int,
        at: float,
        function: str,
        request_id: str | None,
        text: str,
        correlation_id: str | None,
        order_id: str | None,
    ) -> None:
        self.seq = seq
        self.time = at
        self.function = function
        self.request_id = request_id
        self.text = text
        self.correlation_id = correlation_id
        self.order_id = order_id

    def describe(self) -> dict[str, Any]:
        document = parse_json(self.text)
        entry: dict[str, Any] = {
            "seq": self.seq,
            "time": iso(self.time),
            "function": self.function,
            "requestId": self.request_id,
            "correlationId": self.correlation_id,
        }
        if document is not None:
            entry["json"] = document
        else:
            entry["text"] = self.text
        return entry


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}Z"


class Series:
    __slots__ = ("points", "unit")

    def __init__(self, unit: str) -> None:
        self.unit = unit
        self.points: deque[tuple[float, float]] = deque(maxlen=SERIES_POINTS)


class Telemetry:
    """The store, shared by every thread of the local cloud (one lock; every operation is short)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._logs: deque[LogLine] = deque()
        self._chars = 0
        self._seq = 0
        self._series: dict[SeriesKey, Series] = {}
        self._events: deque[dict[str, Any]] = deque(maxlen=EVENTS)
        self._event_ids: dict[str, dict[str, Any]] = {}
        self.dropped_series = 0

    def clear(self) -> None:
        """Forget everything (a new local cloud in the same process)."""
        with self._lock:
            self._logs.clear()
            self._chars = 0
            self._series.clear()
            self._events.clear()
            self._event_ids.clear()
            self.dropped_series = 0

    # --- feeding ---------------------------------------------------------------------------------

    def stream(self, function_name: str) -> FunctionStream:
        """A feed for one worker's output (it follows the worker's current request id)."""
        return FunctionStream(self, function_name)

    def add_line(self, function_name: str, request_id: str | None, text: str, document: Any = None) -> None:
        """Keep one log line of a function (`document`: its parsed JSON, when it is JSON)."""
        from shopstack.localcloud.lambda_pool import display_name

        correlation_id = order_id = None
        if isinstance(document, dict):
            correlation_id = _text(document.get("correlation_id"))
            order_id = _text(document.get("orderId") or document.get("order_id"))
            request_id = _text(document.get("function_request_id")) or request_id
        text = text.rstrip("\n")
        with self._lock:
            self._seq += 1
            self._logs.append(
                LogLine(self._seq, time.time(), display_name(function_name), request_id, text, correlation_id, order_id)
            )
            self._chars += len(text)
            while len(self._logs) > LOG_LINES or self._chars > LOG_CHARS:
                self._chars -= len(self._logs.popleft().text)

    def put(
        self,
        namespace: str,
        name: str,
        dimensions: Mapping[str, Any],
        value: float,
        unit: str = "None",
        at: float | None = None,
    ) -> None:
        self.add(Datapoint(namespace, name, dimensions_key(dimensions), float(value), unit, at or time.time()))

    def add(self, *points: Datapoint) -> None:
        with self._lock:
            for point in points:
                key = (point.namespace, point.name, point.dimensions)
                series = self._series.get(key)
                if series is None:
                    if len(self._series) >= MAX_SERIES:
                        self.dropped_series += 1
                        continue
                    series = self._series[key] = Series(point.unit)
                series.points.append((point.time, point.value))

    def invocation(self, function_name: str, duration_ms: float) -> None:
        """A REPORT line: Lambda's Duration and Invocations of the function."""
        dims = {"FunctionName": function_name}
        now = time.time()
        self.add(
            Datapoint("AWS/Lambda", "Duration", dimensions_key(dims), duration_ms, "Milliseconds", now),
            Datapoint("AWS/Lambda", "Invocations", dimensions_key(dims), 1.0, "Count", now),
        )

    def invocation_error(self, function_name: str) -> None:
        self.put("AWS/Lambda", "Errors", {"FunctionName": function_name}, 1, "Count")

    def throttle(self, function_name: str) -> None:
        self.put("AWS/Lambda", "Throttles", {"FunctionName": function_name}, 1, "Count")

    def api_request(self, api_name: str, stage: str, resource: str | None, method: str, status: int, ms: float) -> None:
        """One request the gateway answered: Count, 4XXError, 5XXError and Latency, per API stage and
        per resource and method (as API Gateway's detailed metrics)."""
        now = time.time()
        sets = [{"ApiName": api_name, "Stage": stage}]
        if resource is not None:
            sets.append({"ApiName": api_name, "Stage": stage, "Resource": resource, "Method": method})
        points = []
        for dims in sets:
            key = dimensions_key(dims)
            points += [
                Datapoint("AWS/ApiGateway", "Count", key, 1.0, "Count", now),
                Datapoint("AWS/ApiGateway", "4XXError", key, float(400 <= status < 500), "Count", now),
                Datapoint("AWS/ApiGateway", "5XXError", key, float(status >= 500), "Count", now),
                Datapoint("AWS/ApiGateway", "Latency", key, ms, "Milliseconds", now),
            ]
        self.add(*points)

    def event(self, event: Mapping[str, Any], rule: str) -> None:
        """An EventBridge event a rule matched (kept once per event id, with every rule it matched)."""
        event_id = str(event.get("id") or "")
        with self._lock:
            known = self._event_ids.get(event_id) if event_id else None
            if known is not None:
                if rule not in known["rules"]:
                    known["rules"].append(rule)
                return
            detail = event.get("detail") if isinstance(event.get("detail"), Mapping) else {}
            assert isinstance(detail, Mapping)
            metadata = detail.get("metadata") if isinstance(detail.get("metadata"), Mapping) else {}
            data = detail.get("data") if isinstance(detail.get("data"), Mapping) else {}
            assert isinstance(metadata, Mapping) and isinstance(data, Mapping)
            entry = {
                "time": iso(time.time()),
                "epoch": time.time(),
                "id": event_id,
                "source": event.get("source"),
                "detailType": event.get("detail-type"),
                "correlationId": _text(metadata.get("correlationId")),
                "orderId": _text(data.get("orderId") or detail.get("orderId")),
                "rules": [rule],
            }
            if len(self._events) == self._events.maxlen:
                self._event_ids.pop(self._events[0]["id"], None)
            self._events.append(entry)
            if event_id:
                self._event_ids[event_id] = entry

    # --- reading ---------------------------------------------------------------------------------

    def logs(
        self,
        *,
        function: str | None = None,
        correlation_id: str | None = None,
        order_id: str | None = None,
        after: int = 0,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Kept log lines after seq `after`, oldest first, filtered by display name (or full function
        name), correlation id and order id; at most `limit`."""
        with self._lock:
            lines = list(self._logs)
        found = []
        for line in lines:
            if line.seq <= after:
                continue
            if function is not None and function != line.function:
                continue
            if correlation_id is not None and correlation_id != line.correlation_id:
                continue
            if order_id is not None and order_id != line.order_id:
                continue
            found.append(line.describe())
            if len(found) >= limit:
                break
        return found

    def correlation_ids(self, order_id: str) -> list[str]:
        """The correlation ids of the log lines and events about one order, first seen first."""
        with self._lock:
            lines = [line.correlation_id for line in self._logs if line.order_id == order_id]
            events = [e["correlationId"] for e in self._events if e["orderId"] == order_id]
        return list(dict.fromkeys(c for c in [*lines, *events] if c))

    def events(self, *, correlation_id: str | None = None, order_id: str | None = None) -> list[dict[str, Any]]:
        """Kept events, oldest first: all, or those of the correlation id or about the order."""
        with self._lock:
            kept = [dict(e, rules=list(e["rules"])) for e in self._events]
        if correlation_id is None and order_id is None:
            return kept
        return [
            e
            for e in kept
            if (correlation_id is not None and e["correlationId"] == correlation_id)
            or (order_id is not None and e["orderId"] == order_id)
        ]

    def points(
        self, namespace: str, name: str, dimensions: Mapping[str, Any], since: float
    ) -> list[tuple[float, float]]:
        """(time, value) of one series (dimensions matched exactly) from `since` on."""
        with self._lock:
            series = self._series.get((namespace, name, dimensions_key(dimensions)))
            return [p for p in series.points if p[0] >= since] if series is not None else []

    def prune(self, now: float | None = None) -> None:
        """Drop datapoints older than RETENTION_SECONDS, and series left empty."""
        horizon = (now or time.time()) - RETENTION_SECONDS
        with self._lock:
            for key in list(self._series):
                points = self._series[key].points
                while points and points[0][0] < horizon:
                    points.popleft()
                if not points:
                    del self._series[key]

    def metrics(self, namespace: str | None = None, name: str | None = None, points: int = 60) -> list[dict[str, Any]]:
        """Every series (filtered), with its count, sum, minimum, maximum and newest `points` datapoints."""
        with self._lock:
            chosen = [
                (key, series.unit, list(series.points))
                for key, series in self._series.items()
                if (namespace is None or key[0] == namespace) and (name is None or key[1] == name)
            ]
        described = []
        for (ns, metric, dims), unit, values in sorted(chosen, key=lambda item: item[0]):
            numbers = [v for _, v in values]
            described.append(
                {
                    "namespace": ns,
                    "name": metric,
                    "dimensions": dict(dims),
                    "unit": unit,
                    "count": len(values),
                    "sum": sum(numbers),
                    "minimum": min(numbers, default=None),
                    "maximum": max(numbers, default=None),
                    "datapoints": [{"time": iso(t), "value": v} for t, v in values[-points:]] if points else [],
                }
            )
        return described


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) and value != "" else None


class FunctionStream:
    """The output of one worker process: START sets the request id its raw lines belong to, REPORT
    is Lambda's Duration and Invocations, an EMF line is metrics, anything else a log line."""

    __slots__ = ("function_name", "request_id", "telemetry")

    def __init__(self, telemetry: Telemetry, function_name: str) -> None:
        self.telemetry = telemetry
        self.function_name = function_name
        self.request_id: str | None = None

    def feed(self, line: str) -> None:
        if line.startswith(("START ", "END ", "REPORT ")):
            self._control(line)
            return
        document = parse_json(line)
        if document is not None and "_aws" in document:
            self.telemetry.add(*parse_emf(document))
            return
        if line.strip():
            self.telemetry.add_line(self.function_name, self.request_id, line, document)

    def _control(self, line: str) -> None:
        start = _START.match(line)
        if start:
            self.request_id = start.group("id")
            return
        report = _REPORT.match(line)
        if report:
            self.telemetry.invocation(self.function_name, float(report.group("ms")))
            return
        if not _END.match(line):
            self.telemetry.add_line(self.function_name, self.request_id, line)


TELEMETRY = Telemetry()
"""The local cloud's one collector (moto's backends are process-wide; so is this)."""
