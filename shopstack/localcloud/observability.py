"""The local cloud's observability endpoints, served by the local gateway:

GET /_localcloud/metrics[?namespace=&name=&points=]   -> {"metrics": [{"namespace", "name",
        "dimensions", "unit", "count", "sum", "minimum", "maximum", "datapoints": [{"time", "value"}]}]}
GET /_localcloud/logs[?function=&correlationId=&orderId=&after=<seq>&limit=]
                                                      -> {"logs": [{"seq", "time", "function",
        "requestId", "correlationId", "json" | "text"}], "last": <seq of the last line returned or `after`>}
GET /_localcloud/alarms                               -> {"alarms": [{"name", "state", "reason",
        "metric", "dimensions", "statistic", "threshold", "comparison", "lastChange", ...}]}
GET /_localcloud/trace/<orderId>                      -> trace.order_trace's document
GET /_localcloud/executions?name=<prefix>             -> {"executions": [{"stateMachine", "type",
        "name", "executionArn", "status", "started", "stopped", "input", "error", "cause", "states"}]}
        (every Step Functions execution whose name starts with the prefix, Express ones included:
        what AWS keeps in an Express state machine's logs)
GET /_localcloud/usage, DELETE /_localcloud/usage    -> usage.py's document (what was served, as AWS
        bills it, since the last DELETE, which starts a new window)
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from shopstack.localcloud import alarms, trace
from shopstack.localcloud.telemetry import TELEMETRY

METRICS_PATH = "/_localcloud/metrics"
LOGS_PATH = "/_localcloud/logs"
ALARMS_PATH = "/_localcloud/alarms"
TRACE_PATH = "/_localcloud/trace"
EXECUTIONS_PATH = "/_localcloud/executions"
USAGE_PATH = "/_localcloud/usage"
MAX_LIMIT = 10_000

Reply = tuple[int, Any]


def serves(path: str) -> bool:
    if path == USAGE_PATH:
        return True
    return path in (METRICS_PATH, LOGS_PATH, ALARMS_PATH, EXECUTIONS_PATH) or path.startswith(TRACE_PATH + "/")


def handle(
    method: str, path: str, query: Mapping[str, str], *, clients: Callable[[str], Any], account_id: str, region: str
) -> Reply:
    """(status, JSON document) for a GET of one of the paths above."""
    if path == USAGE_PATH:
        from shopstack.localcloud import usage

        return usage.handle(method)
    if method != "GET":
        return 405, {"message": f"{method} not allowed on {path}; use GET"}
    try:
        if path == METRICS_PATH:
            points = _int(query, "points", 60)
            return 200, {"metrics": TELEMETRY.metrics(query.get("namespace"), query.get("name"), points)}
        if path == LOGS_PATH:
            after = _int(query, "after", 0)
            lines = TELEMETRY.logs(
                function=query.get("function") or None,
                correlation_id=query.get("correlationId") or None,
                order_id=query.get("orderId") or None,
                after=after,
                limit=min(_int(query, "limit", 1000), MAX_LIMIT),
            )
            return 200, {"logs": lines, "last": lines[-1]["seq"] if lines else after}
    except ValueError as exc:
        return 400, {"message": str(exc)}
    if path == EXECUTIONS_PATH:
        found = trace.executions(query.get("name") or "", account_id=account_id, region=region)
        return 200, {"executions": found}
    if path == ALARMS_PATH:
        evaluator = alarms.active()
        if evaluator is None:
            return 503, {"message": "the local cloud is not evaluating alarms"}
        return 200, {"alarms": evaluator.describe()}
    order_id = urllib.parse.unquote(path[len(TRACE_PATH) + 1 :])
    if not order_id or "/" in order_id:
        return 404, {"message": f"no trace at {path}"}
    document = trace.order_trace(order_id, clients=clients, account_id=account_id, region=region)
    return (200 if document["found"] else 404), document


def _int(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw))
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return value
