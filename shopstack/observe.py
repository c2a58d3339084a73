"""`shopstack alarms`, `shopstack logs` and `shopstack trace`: printers of what a running local
cloud collected (shopstack/localcloud/observability.py serves it; nothing is computed here)."""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any

FOLLOW_SECONDS = 1.0
PAGE = 1000
HIDDEN_LOG_KEYS = frozenset(
    {
        "level",
        "message",
        "timestamp",
        "service",
        "function_name",
        "function_request_id",
        "function_arn",
        "function_memory_size",
        "cold_start",
        "correlation_id",
        "xray_trace_id",
        "location",
        "sampling_rate",
    }
)
OPERATORS = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": ">=",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}


class Unavailable(RuntimeError):
    """The endpoint is not a local cloud serving what was asked."""


def fetch(endpoint: str, path: str, query: Mapping[str, Any] | None = None) -> Any:
    """The JSON a local cloud's gateway answers for `path`."""
    wanted = {k: v for k, v in (query or {}).items() if v not in (None, "")}
    url = endpoint.rstrip("/") + path + (f"?{urllib.parse.urlencode(wanted)}" if wanted else "")
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            return json.loads(exc.read())
        except ValueError:
            raise Unavailable(f"{url}: HTTP {exc.code}") from exc
    except (OSError, ValueError) as exc:
        raise Unavailable(f"no local cloud at {endpoint}: {exc}") from exc


# --- alarms --------------------------------------------------------------------------------------


def condition(alarm: Mapping[str, Any]) -> str:
    """`Maximum > 0 for 1 of 1 x 60 s`."""
    operator = OPERATORS.get(str(alarm.get("comparison")), str(alarm.get("comparison")))
    threshold = float(alarm.get("threshold") or 0)
    shown = f"{threshold:g}"
    periods = f"{alarm.get('datapointsToAlarm')} of {alarm.get('evaluationPeriods')} x {alarm.get('period')} s"
    return f"{alarm.get('statistic')} {operator} {shown} for {periods}"


def metric(alarm: Mapping[str, Any]) -> str:
    if not alarm.get("metric"):
        return "(metric math)"
    dimensions = ",".join(f"{k}={v}" for k, v in (alarm.get("dimensions") or {}).items())
    return f"{alarm.get('namespace')} {alarm.get('metric')}" + (f" {{{dimensions}}}" if dimensions else "")


def render_alarms(alarms: Sequence[Mapping[str, Any]]) -> str:
    if not alarms:
        return "no alarms deployed"
    rows = [("STATE", "ALARM", "METRIC", "CONDITION", "SINCE")]
    for alarm in sorted(alarms, key=lambda a: (a.get("state") != "ALARM", str(a.get("name")))):
        since = str(alarm.get("lastChange") or "-")[:19].replace("T", " ")
        rows.append((str(alarm.get("state")), str(alarm.get("name")), metric(alarm), condition(alarm), since))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1] for row in rows
    ]
    reasons = [f"  {a['name']}: {a['reason']}" for a in alarms if a.get("state") != "OK" and a.get("reason")]
    return "\n".join([*lines, *(["", "why:", *reasons] if reasons else [])])


def alarms(endpoint: str) -> int:
    try:
        document = fetch(endpoint, "/_localcloud/alarms")
    except Unavailable as exc:
        print(f"shopstack alarms: {exc}", file=sys.stderr)
        return 1
    if "alarms" not in document:
        print(f"shopstack alarms: {document.get('message', document)}", file=sys.stderr)
        return 1
    print(render_alarms(document["alarms"]))
    return 0


# --- logs ----------------------------------------------------------------------------------------


def render_log(line: Mapping[str, Any]) -> str:
    """`12:00:01.234 [CheckoutApi] INFO order placed orderId=... (correlation id)`."""
    clock = str(line.get("time", ""))[11:23]
    document = line.get("json")
    if isinstance(document, Mapping):
        extra = " ".join(f"{k}={_short(v)}" for k, v in document.items() if k not in HIDDEN_LOG_KEYS)
        text = f"{document.get('level', '')} {document.get('message', '')}".strip() + (f" {extra}" if extra else "")
    else:
        text = str(line.get("text", ""))
    cid = f" ({line['correlationId']})" if line.get("correlationId") else ""
    return f"{clock} [{line.get('function')}] {text}{cid}"


def _short(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def logs(
    endpoint: str,
    *,
    function: str | None,
    correlation_id: str | None,
    follow: bool,
    as_json: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    after = 0
    try:
        while True:
            query = {"function": function, "correlationId": correlation_id, "after": after, "limit": PAGE}
            document = fetch(endpoint, "/_localcloud/logs", query)
            if "logs" not in document:
                print(f"shopstack logs: {document.get('message', document)}", file=sys.stderr)
                return 1
            for line in document["logs"]:
                print(json.dumps(line) if as_json else render_log(line), flush=True)
            after = int(document["last"])
            if len(document["logs"]) >= PAGE:
                continue
            if not follow:
                return 0
            sleep(FOLLOW_SECONDS)
    except Unavailable as exc:
        print(f"shopstack logs: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


# --- trace ---------------------------------------------------------------------------------------


def render_trace(document: Mapping[str, Any]) -> str:
    head = (
        f"order {document['orderId']}  correlation id {document.get('correlationId') or '(none found)'}"
        f"  status {document.get('status') or '-'}"
    )
    lines = [head]
    for execution in document.get("executions") or []:
        lines.append(f"  workflow {execution['stateMachine']} {execution['name']}: {execution['status']}")
    lines.append("")
    for entry in document.get("timeline") or []:
        fields = dict(entry.get("fields") or {})
        took = fields.pop("ms", None) if entry["kind"] == "state" else None
        fields.pop("execution", None)
        details = " ".join(f"{k}={_short(v)}" for k, v in fields.items())
        duration = f" ({took:.0f} ms)" if isinstance(took, (int, float)) else ""
        lines.append(
            f"+{entry['offsetMs'] / 1000:8.3f}s  {entry['kind']:<5}  {entry['who'][:28]:<28}  "
            f"{entry['what']}{duration}" + (f"  {details}" if details else "")
        )
    if not document.get("timeline"):
        lines.append("(nothing collected about this order)")
    return "\n".join(lines)


def trace(endpoint: str, order_id: str, as_json: bool = False) -> int:
    try:
        document = fetch(endpoint, "/_localcloud/trace/" + urllib.parse.quote(order_id, safe=""))
    except Unavailable as exc:
        print(f"shopstack trace: {exc}", file=sys.stderr)
        return 1
    if "timeline" not in document:
        print(f"shopstack trace: {document.get('message', document)}", file=sys.stderr)
        return 1
    print(json.dumps(document, indent=2) if as_json else render_trace(document))
    return 0 if document.get("found") else 1
