"""What the local cloud served, counted as AWS bills it: for the cost report (`bench/cost.py`).

GET    /_localcloud/usage   -> the document below, for everything since the last reset
DELETE /_localcloud/usage   -> resets the counters and starts a new window; answers the empty document

The counter is a WSGI middleware inside moto's server (inside the DynamoDB lock, so that an item
read before and after a write is the item that write changed). It counts every AWS API request by
caller, service and operation. The caller is `function` for requests from the Lambda workers (their
SDK's User-Agent carries `exec-env/AWS_Lambda_...`, as on AWS) and `localcloud` for everything else:
the event source pollers, the alarm evaluator, deployment and whoever drives the cloud from outside.
On AWS the event source mappings' own calls are made by the Lambda service, so the document keeps
them apart and the cost report decides which of them AWS bills.

DynamoDB requests are also converted into the read and write request units of on-demand capacity:

- a write: 1 WRU per started KB of the larger of the item before and after it (a delete: the item
  before; a conditional write whose condition failed: the item before, at least 1); every global or
  local secondary index the item is in, before or after, costs 1 WRU per started KB of its index
  entry (2 entries when the index key changed; nothing when no projected attribute changed);
- a read: 1 RRU per started 4 KB of the item (GetItem, BatchGetItem: each item; absent: 1), half for
  an eventually consistent read; Query and Scan: the total size of the items read, rounded up to
  4 KB once (items a filter dropped count at the mean size of those returned);
- TransactWriteItems and TransactGetItems: twice the units of each action (a ConditionCheck as a
  write of the item it checks); a cancelled transaction: twice the units of each item as it was.
  Index writes are not doubled.

Item sizes follow DynamoDB's rules: attribute names plus values (strings and binaries by their
bytes, numbers about one byte per two significant digits plus one, lists and maps 3 bytes plus one
per element).

The rest is read from what the local cloud already keeps, for the same window: Lambda invocations
and durations (the workers' REPORT lines, `telemetry.py`), API Gateway requests (the gateway's Count
metric), the Step Functions executions started in the window (from moto's executing backend: states
entered, retries and, for an Express machine, its duration in 100 ms steps), events EventBridge
delivered to SQS targets, email recipients, and the bytes of the functions' log lines.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

USAGE_PATH = "/_localcloud/usage"
FUNCTION = "function"
LOCALCLOUD = "localcloud"
LAMBDA_USER_AGENT = "exec-env/AWS_Lambda"
WRITE_KB = 1024
READ_KB = 4096
MAX_BODY = 8 * 1024 * 1024
"""Request bodies larger than this (asset uploads) are never read by the counter."""

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Key = dict[str, Any]
Attributes = Mapping[str, Any]
Lookup = Callable[[str, Key], Attributes | None]

_CREDENTIAL = re.compile(r"Credential=[^/]+/\d+/[^/]+/(?P<service>[^/]+)/aws4_request")
_SES_RECIPIENT = re.compile(r"^Destination\.(To|Cc|Bcc)Addresses\.member\.\d+$")


# --- item sizes ----------------------------------------------------------------------------------


def number_size(text: str) -> int:
    """A number's size: one byte per two significant digits, plus one (plus one when negative)."""
    digits = text.strip().lstrip("+-").lower().split("e")[0].replace(".", "").strip("0")
    return (len(digits) + 1) // 2 + 1 + (1 if text.strip().startswith("-") else 0)


def _binary_size(value: Any) -> int:
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    try:
        return len(base64.b64decode(str(value), validate=False))
    except ValueError:
        return len(str(value))


def attribute_size(value: Mapping[str, Any]) -> int:
    """The size of one attribute value in DynamoDB's JSON form ({"S": "..."}, {"M": {...}}, ...)."""
    if not value:
        return 0
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        return number_size(str(inner))
    if kind == "B":
        return _binary_size(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(v).encode()) for v in inner)
    if kind == "NS":
        return sum(number_size(str(v)) for v in inner)
    if kind == "BS":
        return sum(_binary_size(v) for v in inner)
    if kind == "L":
        return 3 + sum(1 + attribute_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(len(str(k).encode()) + 1 + attribute_size(v) for k, v in inner.items())
    return len(json.dumps(inner, default=str).encode())


def item_size(item: Attributes | None) -> int:
    """An item's size in bytes: every attribute's name and value (0 for no item)."""
    if not item:
        return 0
    return sum(len(str(name).encode()) + attribute_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    """Write request units of one write of `size` bytes (at least 1)."""
    return max(1, math.ceil(size / WRITE_KB))


def read_units(size: int) -> int:
    """Strongly consistent read request units of `size` bytes read (at least 1)."""
    return max(1, math.ceil(size / READ_KB))


# --- tables --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexSchema:
    name: str
    keys: tuple[str, ...]
    projection: str = "ALL"
    non_key: tuple[str, ...] = ()
    is_global: bool = True


@dataclass(frozen=True)
class TableSchema:
    name: str
    keys: tuple[str, ...]
    indexes: tuple[IndexSchema, ...] = ()

    def key(self, item: Attributes) -> Key | None:
        """The item's primary key, or None when the item does not hold it all."""
        if not all(k in item for k in self.keys):
            return None
        return {k: item[k] for k in self.keys}

    def index(self, name: str | None) -> IndexSchema | None:
        return next((i for i in self.indexes if i.name == name), None) if name else None

    def entry(self, index: IndexSchema, item: Attributes | None) -> dict[str, Any] | None:
        """The item's entry in the index (None when the item is not in it: a sparse index)."""
        if not item or not all(k in item for k in index.keys):
            return None
        if index.projection == "ALL":
            return dict(item)
        kept = {*index.keys, *self.keys, *(index.non_key if index.projection == "INCLUDE" else ())}
        return {k: v for k, v in item.items() if k in kept}


def index_write_units(schema: TableSchema, before: Attributes | None, after: Attributes | None) -> int:
    """Write units every index of the table takes for an item going from `before` to `after`."""
    units = 0
    for index in schema.indexes:
        old, new = schema.entry(index, before), schema.entry(index, after)
        if old is None and new is None:
            continue
        if old is None or new is None:
            units += write_units(item_size(old if new is None else new))
        elif any(old.get(k) != new.get(k) for k in index.keys):
            units += write_units(item_size(old)) + write_units(item_size(new))
        elif old != new:
            units += write_units(max(item_size(old), item_size(new)))
    return units


# --- DynamoDB requests as capacity units ---------------------------------------------------------


@dataclass
class Consumed:
    """Units one request took from one table."""

    table: str
    rru: float = 0.0
    wru: float = 0.0
    index_wru: float = 0.0


@dataclass
class DynamoRequest:
    """One DynamoDB call: its operation, request and response documents and outcome."""

    operation: str
    request: Mapping[str, Any]
    response: Mapping[str, Any]
    ok: bool

    @property
    def condition_failed(self) -> bool:
        error = str(self.response.get("__type", ""))
        return error.endswith(("ConditionalCheckFailedException", "TransactionCanceledException"))


WRITE_ACTIONS = ("Put", "Update", "Delete", "ConditionCheck")


def _table_name(raw: Any) -> str:
    name = str(raw or "")
    return name.rsplit("/", 1)[-1] if name.startswith("arn:") else name


def write_targets(call: DynamoRequest, schemas: Callable[[str], TableSchema | None]) -> list[tuple[str, str, Key]]:
    """(action, table, key) of every item a write call may change, before it runs."""
    found: list[tuple[str, str, Key]] = []

    def add(action: str, table: str, item: Any, key: Any) -> None:
        schema = schemas(table)
        if schema is None:
            return
        chosen = key if isinstance(key, Mapping) else (schema.key(item) if isinstance(item, Mapping) else None)
        if chosen is not None:
            found.append((action, table, dict(chosen)))

    request = call.request
    if call.operation == "PutItem":
        add("Put", _table_name(request.get("TableName")), request.get("Item"), None)
    elif call.operation in ("UpdateItem", "DeleteItem"):
        add(call.operation[:-4], _table_name(request.get("TableName")), None, request.get("Key"))
    elif call.operation == "BatchWriteItem":
        for table, writes in (request.get("RequestItems") or {}).items():
            for write in writes or []:
                if "PutRequest" in write:
                    add("Put", _table_name(table), write["PutRequest"].get("Item"), None)
                elif "DeleteRequest" in write:
                    add("Delete", _table_name(table), None, write["DeleteRequest"].get("Key"))
    elif call.operation == "TransactWriteItems":
        for entry in request.get("TransactItems") or []:
            for action in WRITE_ACTIONS:
                if action in entry:
                    body = entry[action]
                    add(action, _table_name(body.get("TableName")), body.get("Item"), body.get("Key"))
    return found


def write_capacity(
    call: DynamoRequest,
    targets: list[tuple[str, str, Key]],
    before: list[Attributes | None],
    after: list[Attributes | None],
    schemas: Callable[[str], TableSchema | None],
) -> list[Consumed]:
    """Units of a write call, from each target item before and after it."""
    transactional = call.operation == "TransactWriteItems"
    factor = 2 if transactional else 1
    consumed = []
    if not call.ok and not call.condition_failed:
        return []  # refused before any item was read: validation errors are not billed
    for (action, table, _), old, new in zip(targets, before, after, strict=True):
        schema = schemas(table)
        if not call.ok or action == "ConditionCheck":
            consumed.append(Consumed(table, wru=factor * write_units(item_size(old))))
            continue
        size = item_size(old) if action == "Delete" else max(item_size(old), item_size(new))
        indexes = index_write_units(schema, old, new) if schema is not None else 0
        consumed.append(Consumed(table, wru=factor * write_units(size), index_wru=indexes))
    return consumed


def read_capacity(call: DynamoRequest, lookup: Lookup, schemas: Callable[[str], TableSchema | None]) -> list[Consumed]:
    """Units of a read call (GetItem, BatchGetItem, TransactGetItems, Query, Scan)."""
    if not call.ok:
        return []
    request, operation = call.request, call.operation
    if operation == "GetItem":
        table = _table_name(request.get("TableName"))
        units = read_units(item_size(lookup(table, dict(request.get("Key") or {}))))
        return [Consumed(table, rru=units * (1.0 if request.get("ConsistentRead") else 0.5))]
    if operation == "BatchGetItem":
        consumed = []
        for table, wanted in (request.get("RequestItems") or {}).items():
            factor = 1.0 if wanted.get("ConsistentRead") else 0.5
            for key in wanted.get("Keys") or []:
                units = read_units(item_size(lookup(_table_name(table), dict(key))))
                consumed.append(Consumed(_table_name(table), rru=units * factor))
        return consumed
    if operation == "TransactGetItems":
        consumed = []
        for entry in request.get("TransactItems") or []:
            get = entry.get("Get") or {}
            table = _table_name(get.get("TableName"))
            consumed.append(Consumed(table, rru=2 * read_units(item_size(lookup(table, dict(get.get("Key") or {}))))))
        return consumed
    if operation in ("Query", "Scan"):
        table = _table_name(request.get("TableName"))
        schema = schemas(table)
        index = schema.index(request.get("IndexName")) if schema is not None else None
        sizes = []
        for returned in call.response.get("Items") or []:
            key = schema.key(returned) if schema is not None else None
            full = lookup(table, key) if key is not None else None
            if full is not None and schema is not None and index is not None:
                full = schema.entry(index, full) or full
            sizes.append(item_size(full if full is not None else returned))
        count = int(call.response.get("Count", len(sizes)) or 0)
        scanned = int(call.response.get("ScannedCount", count) or 0)
        total = sum(sizes) + (max(0, scanned - count) * (sum(sizes) / len(sizes)) if sizes else 0)
        consistent = bool(request.get("ConsistentRead")) and (index is None or not index.is_global)
        return [Consumed(table, rru=read_units(math.ceil(total)) * (1.0 if consistent else 0.5))]
    return []


# --- moto's tables, read in process ---------------------------------------------------------------


class MotoTables:
    """Schemas and items of moto's DynamoDB tables of one account and region."""

    def __init__(self, account_id: str, region: str) -> None:
        self.account_id = account_id
        self.region = region

    def _table(self, name: str) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[self.account_id][self.region].tables.get(name)

    def schema(self, name: str) -> TableSchema | None:
        table = self._table(name)
        if table is None:
            return None
        keys = tuple(k for k in (table.hash_key_attr, table.range_key_attr) if k)
        indexes = []
        local = [(i, False) for i in getattr(table, "indexes", [])]
        for index, is_global in [*((i, True) for i in getattr(table, "global_indexes", [])), *local]:
            projection = dict(index.projection or {})
            indexes.append(
                IndexSchema(
                    name=str(index.name),
                    keys=tuple(k["AttributeName"] for k in index.schema),
                    projection=str(projection.get("ProjectionType") or "ALL"),
                    non_key=tuple(projection.get("NonKeyAttributes") or ()),
                    is_global=is_global,
                )
            )
        return TableSchema(name, keys, tuple(indexes))

    def item(self, name: str, key: Key) -> Attributes | None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        table = self._table(name)
        if table is None or table.hash_key_attr not in key:
            return None
        try:
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
            found = table.get_item(hash_key, range_key)
        except Exception:  # a malformed key: moto answers the request with its own error
            return None
        if found is None:
            return None
        attributes: Attributes = found.to_json()["Attributes"]
        return attributes


# --- the counter ---------------------------------------------------------------------------------


def caller(environ: Mapping[str, Any]) -> str:
    """`function` for a Lambda worker's SDK, `localcloud` for anything else."""
    return FUNCTION if LAMBDA_USER_AGENT in str(environ.get("HTTP_USER_AGENT", "")) else LOCALCLOUD


def service_of(environ: Mapping[str, Any]) -> str:
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target.startswith("DynamoDBStreams_"):
        return "dynamodbstreams"
    found = _CREDENTIAL.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    if found:
        return found.group("service")
    return target.split("_")[0].split(".")[0].lower() if target else "unknown"


REST_OPERATIONS = (
    ("lambda", "POST", re.compile(r"/functions/[^/]+/invocations$"), "Invoke"),
    ("lambda", "GET", re.compile(r"/event-source-mappings/?$"), "ListEventSourceMappings"),
    ("ses", "POST", re.compile(r"^/v2/email/outbound-emails$"), "SendEmail"),
)


def operation_of(service: str, environ: Mapping[str, Any], form: Mapping[str, list[str]] | None) -> str:
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        return target.rpartition(".")[2]
    query = urllib.parse.parse_qs(str(environ.get("QUERY_STRING", "")))
    action = (form or {}).get("Action") or query.get("Action")
    if action:
        return action[0]
    method, path = str(environ.get("REQUEST_METHOD", "GET")), str(environ.get("PATH_INFO", "/"))
    for known_service, known_method, pattern, name in REST_OPERATIONS:
        if service == known_service and method == known_method and pattern.search(path):
            return name
    return f"{method} {'/'.join(path.split('/')[:3]) or '/'}"


@dataclass
class Window:
    """The counts of one window, from `since` on."""

    since: float = field(default_factory=time.time)
    log_seq: int = 0
    requests: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    units: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    receives: Counter[tuple[str, str]] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    emails: Counter[str] = field(default_factory=Counter)
    errors: int = 0


class Usage:
    """The counts, shared by the middleware (many threads) and the endpoint."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.window = Window()
        self.account_id = ""
        self.region = ""

    def reset(self) -> None:
        from shopstack.localcloud.telemetry import TELEMETRY

        with self.lock:
            self.window = Window(log_seq=int(getattr(TELEMETRY, "_seq", 0)))

    def middleware(self, app: WsgiApp, account_id: str, region: str) -> UsageMiddleware:
        self.account_id, self.region = account_id, region
        return UsageMiddleware(app, self, MotoTables(account_id, region))

    # --- recording (the middleware) ---

    def request(self, who: str, service: str, operation: str) -> None:
        with self.lock:
            self.window.requests[(who, service, operation)] += 1

    def consumed(self, who: str, consumed: Iterable[Consumed]) -> None:
        with self.lock:
            for c in consumed:
                entry = self.window.units.setdefault((who, c.table), [0.0, 0.0, 0.0])
                entry[0] += c.rru
                entry[1] += c.wru
                entry[2] += c.index_wru

    def received(self, who: str, messages: int) -> None:
        with self.lock:
            self.window.receives[(who, "nonEmpty" if messages else "empty")] += 1
            self.window.receives[(who, "messages")] += messages

    def published(self, who: str, entries: int) -> None:
        with self.lock:
            self.window.events[who] += entries

    def emailed(self, who: str, recipients: int) -> None:
        with self.lock:
            self.window.emails[who] += recipients

    # --- the document ---

    def describe(self) -> dict[str, Any]:
        with self.lock:
            w = self.window
            requests = [
                {"caller": c, "service": s, "operation": o, "count": n} for (c, s, o), n in sorted(w.requests.items())
            ]
            dynamodb: dict[str, Any] = {}
            for (who, table), (rru, wru, index_wru) in sorted(w.units.items()):
                mine = dynamodb.setdefault(who, {"rru": 0.0, "wru": 0.0, "indexWru": 0.0, "tables": {}})
                mine["rru"] += rru
                mine["wru"] += wru
                mine["indexWru"] += index_wru
                mine["tables"][table] = {"rru": rru, "wru": wru, "indexWru": index_wru}
            receives: dict[str, dict[str, int]] = {}
            for (who, kind), n in w.receives.items():
                receives.setdefault(who, {"empty": 0, "nonEmpty": 0, "messages": 0})[kind] = n
            document: dict[str, Any] = {
                "since": w.since,
                "seconds": round(time.time() - w.since, 3),
                "requests": requests,
                "dynamodb": dynamodb,
                "sqsReceives": receives,
                "eventbridge": {"putEventsEntries": dict(w.events)},
                "ses": {"recipients": dict(w.emails)},
                "counterErrors": w.errors,
            }
            since, log_seq = w.since, w.log_seq
        document["lambda"] = lambda_usage(since)
        document["apigateway"] = api_requests(since)
        document["apigatewayRoutes"] = api_routes(since)
        document["eventbridge"]["sqsDeliveries"] = sqs_deliveries(since, self.account_id, self.region)
        document["stepfunctions"] = executions(since, self.account_id, self.region)
        document["logs"] = log_bytes(log_seq)
        return document


class UsageMiddleware:
    """Counts each request moto serves, then hands it on unchanged."""

    def __init__(self, app: WsgiApp, usage: Usage, tables: MotoTables) -> None:
        self.app = app
        self.usage = usage
        self.tables = tables

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            who, service = caller(environ), service_of(environ)
            body = _body(environ) if _wants_body(service, environ) else None
            form = _form(environ, body)
            operation = operation_of(service, environ, form)
            self.usage.request(who, service, operation)
        except Exception:
            with self.usage.lock:
                self.usage.window.errors += 1
            return self.app(environ, start_response)
        if service == "dynamodb":
            return self._dynamodb(who, operation, body, environ, start_response)
        if service == "sqs" and operation == "ReceiveMessage":
            status, chunks = self._call(environ, start_response)
            self._guard(lambda: self.usage.received(who, _received(b"".join(chunks))) if status < 300 else None)
            return chunks
        if service == "events" and operation == "PutEvents":
            self._guard(lambda: self.usage.published(who, len(_json(body).get("Entries") or [])))
        if service in ("ses", "email") and operation in ("SendEmail", "SendRawEmail", "SendTemplatedEmail"):
            status, chunks = self._call(environ, start_response)
            if status < 300:
                self._guard(lambda: self.usage.emailed(who, _recipients(body, form)))
            return chunks
        return self.app(environ, start_response)

    def _guard(self, record: Callable[[], Any]) -> None:
        try:
            record()
        except Exception:  # counting never breaks a request
            with self.usage.lock:
                self.usage.window.errors += 1

    def _call(self, environ: dict[str, Any], start_response: StartResponse) -> tuple[int, list[bytes]]:
        seen: list[int] = []

        def recording(status: str, headers: Any, *rest: Any) -> Any:
            seen.append(int(status.split(" ", 1)[0]))
            return start_response(status, headers, *rest)

        chunks = list(self.app(environ, recording))
        return (seen[0] if seen else 500), chunks

    def _dynamodb(
        self, who: str, operation: str, body: bytes | None, environ: dict[str, Any], start_response: StartResponse
    ) -> list[bytes]:
        request = _json(body)
        call = DynamoRequest(operation, request, {}, ok=False)
        targets: list[tuple[str, str, Key]] = []
        before: list[Attributes | None] = []
        try:
            targets = write_targets(call, self.tables.schema)
            before = [self.tables.item(table, key) for _, table, key in targets]
        except Exception:  # counted as a counter error; the request goes on
            targets, before = [], []
            with self.usage.lock:
                self.usage.window.errors += 1
        status, chunks = self._call(environ, start_response)

        def record() -> None:
            call.ok = status < 300
            call.response = _json(b"".join(chunks))
            if targets:
                after = [self.tables.item(table, key) for _, table, key in targets]
                consumed = write_capacity(call, targets, before, after, self.tables.schema)
            else:
                consumed = read_capacity(call, self.tables.item, self.tables.schema)
            self.usage.consumed(who, consumed)

        self._guard(record)
        return chunks


def _wants_body(service: str, environ: Mapping[str, Any]) -> bool:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    if not 0 < length <= MAX_BODY:
        return False
    form = str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded")
    return form or service in ("dynamodb", "events", "ses", "email")


def _body(environ: dict[str, Any]) -> bytes:
    """The request body, put back for the app to read."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    data: bytes = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(data)
    return data


def _form(environ: Mapping[str, Any], body: bytes | None) -> dict[str, list[str]] | None:
    if body is None or not str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        return None
    return urllib.parse.parse_qs(body.decode("utf-8", "replace"))


def _json(data: bytes | None) -> dict[str, Any]:
    if not data:
        return {}
    try:
        document = json.loads(data)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _received(data: bytes) -> int:
    document = _json(data)
    if document:
        return len(document.get("Messages") or [])
    return data.count(b"<Message>")  # the query protocol's XML answer


def _recipients(body: bytes | None, form: Mapping[str, list[str]] | None) -> int:
    """Recipients of one send (SES bills each recipient as one email)."""
    if form is not None:
        return sum(1 for name in form if _SES_RECIPIENT.match(name)) or 1
    destination = _json(body).get("Destination") or {}
    found = sum(len(destination.get(k) or []) for k in ("ToAddresses", "CcAddresses", "BccAddresses"))
    return found or 1


# --- what the local cloud already keeps ----------------------------------------------------------


def lambda_usage(since: float) -> dict[str, dict[str, Any]]:
    """Per function: invocations, the sum of REPORT durations and the billed ms (each rounded up)."""
    from shopstack.localcloud.telemetry import TELEMETRY

    found: dict[str, dict[str, Any]] = {}
    for series in TELEMETRY.metrics("AWS/Lambda", "Duration", points=0):
        name = series["dimensions"].get("FunctionName")
        points = TELEMETRY.points("AWS/Lambda", "Duration", series["dimensions"], since)
        if not name or not points:
            continue
        durations = [value for _, value in points]
        found[str(name)] = {
            "invocations": len(durations),
            "durationMs": round(sum(durations), 3),
            "billedMs": sum(math.ceil(d) for d in durations),
        }
    return found


def api_requests(since: float) -> dict[str, int]:
    """Requests per API stage ("<api name>/<stage>") the gateway answered."""
    from shopstack.localcloud.telemetry import TELEMETRY

    found: dict[str, int] = {}
    for series in TELEMETRY.metrics("AWS/ApiGateway", "Count", points=0):
        dims = series["dimensions"]
        if set(dims) != {"ApiName", "Stage"}:
            continue
        count = len(TELEMETRY.points("AWS/ApiGateway", "Count", dims, since))
        if count:
            found[f"{dims['ApiName']}/{dims['Stage']}"] = count
    return found


def api_routes(since: float) -> dict[str, int]:
    """Requests per route ("<METHOD> <resource path>") the gateway answered."""
    from shopstack.localcloud.telemetry import TELEMETRY

    found: dict[str, int] = {}
    for series in TELEMETRY.metrics("AWS/ApiGateway", "Count", points=0):
        dims = series["dimensions"]
        if "Resource" not in dims:
            continue
        count = len(TELEMETRY.points("AWS/ApiGateway", "Count", dims, since))
        if count:
            route = f"{dims.get('Method', '?')} {dims['Resource']}"
            found[route] = found.get(route, 0) + count
    return found


def sqs_deliveries(since: float, account_id: str, region: str) -> int:
    """Messages EventBridge rules put on SQS queues (one per matched rule and SQS target)."""
    from moto.events.models import events_backends

    from shopstack.localcloud.telemetry import TELEMETRY

    backend = events_backends[account_id][region]
    targets: dict[str, int] = {}
    for bus in list(backend.event_buses.values()):
        for name, rule in list(bus.rules.items()):
            targets[name] = sum(1 for t in rule.targets if ":sqs:" in str(t.get("Arn", "")))
    return sum(
        targets.get(rule, 0) for event in TELEMETRY.events() if event["epoch"] >= since for rule in event["rules"]
    )


def executions(since: float, account_id: str, region: str) -> list[dict[str, Any]]:
    """Per state machine, its executions started in the window: how many, how many still run, the
    states they entered plus their retries (Standard's billed transitions), and their duration in
    100 ms steps (Express's billed duration; a running one up to now)."""
    from shopstack.localcloud import executions as held

    by_machine: dict[str, tuple[Any, list[tuple[Any, str]]]] = {}
    for machine, execution, status in held.each(account_id, region):
        if _epoch(execution.start_date) >= since:
            by_machine.setdefault(machine.arn, (machine, []))[1].append((execution, status))
    found = []
    now = time.time()
    for machine, started in by_machine.values():
        transitions = running = steps = 0
        duration_ms = 0.0
        for execution, status in started:
            running += status == held.RUNNING
            transitions += state_transitions(_history(execution))
            stop = _epoch(execution.stop_date) if execution.stop_date is not None else now
            ms = max(0.0, (stop - _epoch(execution.start_date)) * 1000)
            duration_ms += ms
            steps += max(1, math.ceil(ms / 100))
        found.append(
            {
                "stateMachine": str(machine.name),
                "arn": str(machine.arn),
                "type": held.machine_type(machine),
                "executions": len(started),
                "running": running,
                "transitions": transitions,
                "durationMs": round(duration_ms, 1),
                "billed100ms": steps,
            }
        )
    return found


def _history(execution: Any) -> list[Mapping[str, Any]]:
    try:
        events: list[Mapping[str, Any]] = list(execution.to_history_output().get("events") or [])
    except Exception:  # not started yet
        return []
    return events


def state_transitions(history: Iterable[Mapping[str, Any]]) -> int:
    """States entered, plus each retry of a task (a retry is a transition too)."""
    entered = scheduled = tasks = 0
    for event in history:
        raw = event.get("type", "")
        kind = str(getattr(raw, "value", raw))  # moto's history holds HistoryEventType members
        if kind.endswith("StateEntered"):
            entered += 1
            tasks += kind == "TaskStateEntered"
        elif kind.endswith("Scheduled") and not kind.startswith("Map"):
            scheduled += 1
    return entered + max(0, scheduled - tasks)


def _epoch(value: Any) -> float:
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def log_bytes(after_seq: int) -> dict[str, int]:
    """Lines and bytes of the functions' log lines kept since the window began (START, END, REPORT
    and EMF lines are not kept, so not counted)."""
    from shopstack.localcloud.telemetry import LOG_LINES, TELEMETRY

    lines = TELEMETRY.logs(after=after_seq, limit=LOG_LINES)
    size = sum(len(json.dumps(line["json"]) if "json" in line else str(line.get("text", ""))) + 1 for line in lines)
    return {"lines": len(lines), "bytes": size}


# --- the endpoint --------------------------------------------------------------------------------

USAGE = Usage()
"""The local cloud's one counter (moto's backends are process-wide; so is this)."""


def handle(method: str, usage: Usage = USAGE) -> tuple[int, Any]:
    """(status, JSON document) for GET or DELETE of /_localcloud/usage."""
    if method == "DELETE":
        usage.reset()
        return 200, usage.describe()
    if method != "GET":
        return 405, {"message": f"{method} not allowed on {USAGE_PATH}; use GET or DELETE"}
    return 200, usage.describe()
