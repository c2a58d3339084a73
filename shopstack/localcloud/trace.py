"""One order's path through the local cloud, for `GET /_localcloud/trace/<orderId>` and
`shopstack trace`.

The order's correlation id is the `correlationId` of its item in the Orders table (checkout
stores it); for orders from before that, the correlation id of the log lines and events that
name the order. The timeline, oldest first, holds every kept log line of that correlation id or
naming the order, every EventBridge event of it, each state of the order's Step Functions
executions (those whose name starts with the order id: entered, left, how long) and the mail
sent about the order.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from shopstack.localcloud import executions as executions_held
from shopstack.localcloud import mail
from shopstack.localcloud.telemetry import TELEMETRY, Telemetry, iso

ORDERS_TABLE_SUFFIX = "-orders"
"""The Orders table is `shopstack-<stage>-orders` (infra.names.resource_name)."""
LOG_LIMIT = 5000
SUMMARY_KEYS = ("level", "orderId", "status", "task", "event", "code", "error", "exception_name")

Clients = Callable[[str], Any]


def order_item(order_id: str, clients: Clients) -> dict[str, Any] | None:
    """The order's item in the Orders table of any stage, as plain values."""
    from boto3.dynamodb.types import TypeDeserializer

    dynamodb = clients("dynamodb")
    for table in dynamodb.list_tables().get("TableNames", []):
        if not table.endswith(ORDERS_TABLE_SUFFIX):
            continue
        with contextlib.suppress(Exception):  # another table with that suffix and another key schema
            item = dynamodb.get_item(TableName=table, Key={"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "ORDER"}})
            if "Item" in item:
                deserializer = TypeDeserializer()
                return {k: deserializer.deserialize(v) for k, v in item["Item"].items()}
    return None


def executions(name_prefix: str, *, account_id: str, region: str) -> list[dict[str, Any]]:
    """The Step Functions executions whose name starts with `name_prefix` (an order's start with its
    id), each with its states: name, entered, left and duration in ms. Read from the local cloud's
    own records: an Express execution's history cannot be asked of Step Functions (on AWS it is in
    the state machine's logs)."""
    found = []
    for machine, execution, status in executions_held.each(account_id, region):
        if not str(execution.name).startswith(name_prefix):
            continue
        history = execution.to_history_output() if execution.exec_worker is not None else {}
        found.append(
            {
                "stateMachine": machine.name,
                "type": executions_held.machine_type(machine),
                "name": execution.name,
                "executionArn": execution.exec_arn,
                "status": status,
                "started": _epoch(execution.start_date),
                "stopped": _epoch(getattr(execution, "stop_date", None)),
                "input": execution.input_data,
                "error": execution.error,
                "cause": execution.cause,
                "states": states(history.get("events", [])),
            }
        )
    found.sort(key=lambda e: e["started"] or 0.0)
    return found


def states(history: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Entered and exited events paired by state name, in the order entered."""
    done: list[dict[str, Any]] = []
    open_states: dict[str, dict[str, Any]] = {}
    for event in history:
        kind = str(getattr(event.get("type"), "value", event.get("type") or ""))
        at = _epoch(event.get("timestamp"))
        if kind.endswith("StateEntered"):
            name = event.get("stateEnteredEventDetails", {}).get("name", "?")
            entry = {"name": name, "type": kind[: -len("StateEntered")], "entered": at, "exited": None, "ms": None}
            open_states[name] = entry
            done.append(entry)
        elif kind.endswith("StateExited"):
            name = event.get("stateExitedEventDetails", {}).get("name", "?")
            opened = open_states.pop(name, None)
            if opened is not None and at is not None:
                opened["exited"] = at
                opened["ms"] = round((at - opened["entered"]) * 1000, 1) if opened["entered"] is not None else None
        elif kind.endswith(("Failed", "TimedOut", "Aborted")) and kind.startswith("Execution"):
            done.append({"name": kind, "type": "Execution", "entered": at, "exited": at, "ms": 0.0})
    return done


def _epoch(value: Any) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value:
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return None


def _log_entry(line: Mapping[str, Any]) -> dict[str, Any]:
    document = line.get("json")
    if isinstance(document, Mapping):
        what = str(document.get("message", ""))
        fields = {k: document[k] for k in SUMMARY_KEYS if k in document and document[k] not in (None, "")}
    else:
        what, fields = str(line.get("text", "")), {}
    if line.get("correlationId"):
        fields["correlationId"] = line["correlationId"]
    return {**_entry("log", line["function"], what, fields), "seq": line["seq"]}


def order_trace(
    order_id: str, *, clients: Clients, account_id: str, region: str, telemetry: Telemetry = TELEMETRY
) -> dict[str, Any]:
    """The order's correlation id and its timeline (each entry: time, offsetMs from the first,
    kind log/event/state/email, who, what, fields)."""
    item = order_item(order_id, clients)
    correlation_id = str(item["correlationId"]) if item and item.get("correlationId") else None
    if correlation_id is None:
        correlation_id = next(iter(telemetry.correlation_ids(order_id)), None)
    timeline: list[tuple[float, dict[str, Any]]] = []
    lines = {line["seq"]: line for line in telemetry.logs(order_id=order_id, limit=LOG_LIMIT)}
    if correlation_id is not None:
        lines.update((line["seq"], line) for line in telemetry.logs(correlation_id=correlation_id, limit=LOG_LIMIT))
    for line in lines.values():
        timeline.append((_epoch(line["time"]) or 0.0, _log_entry(line)))
    for event in telemetry.events(correlation_id=correlation_id, order_id=order_id):
        rules = {"rules": event["rules"]}
        timeline.append((event["epoch"], _entry("event", event["source"], event["detailType"], rules)))
    workflows = executions(order_id, account_id=account_id, region=region)
    for execution in workflows:
        for state in execution["states"]:
            if state["entered"] is None:
                continue
            fields = {"execution": execution["name"], "type": state["type"], "ms": state["ms"]}
            timeline.append((state["entered"], _entry("state", execution["stateMachine"], state["name"], fields)))
    for message in mail.captured(account_id, region):
        body = f"{message.get('subject', '')}\n{message.get('text') or ''}\n{message.get('html') or ''}"
        if order_id in body:
            timeline.append((_epoch(message.get("sentAt")) or 0.0, _entry("email", "SES", message.get("subject"), {})))
    timeline.sort(key=lambda pair: pair[0])
    first = timeline[0][0] if timeline else 0.0
    return {
        "orderId": order_id,
        "correlationId": correlation_id,
        "status": item.get("status") if item else None,
        "found": item is not None or bool(timeline),
        "executions": [_execution(e) for e in workflows],
        "timeline": [{"time": iso(at), "offsetMs": round((at - first) * 1000), **entry} for at, entry in timeline],
    }


def _entry(kind: str, who: Any, what: Any, fields: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "who": str(who), "what": str(what or ""), "fields": fields}


def _execution(execution: Mapping[str, Any]) -> dict[str, Any]:
    summary = {k: v for k, v in execution.items() if k != "states"}
    return {**summary, "started": _iso(execution["started"]), "stopped": _iso(execution["stopped"])}


def _iso(epoch: float | None) -> str | None:
    return iso(epoch) if epoch is not None else None
