"""The local cloud's state on disk, kept as a database keeps it: written atomically every few
seconds when it changed, and on stop, and read back on start.

Three files in the state directory, each replaced atomically (written to a temporary file,
fsynced, renamed over the old one, the directory fsynced), so a kill at any moment leaves either
the previous or the next complete file:

- `dynamodb.json`: every item of every deployed table, keyed by "<stack>/<logical id>" (physical
  names change with each deploy). Items are taken from moto's tables under the DynamoDB lock,
  only after a DynamoDB write since the last snapshot, and serialized outside the lock.
- `sqs.json`: the messages of every deployed queue, waiting, delayed or in flight (in flight
  ones come back visible, as after their visibility timeout; receive counts start again).
- `stripe.json`: the Stripe emulator's objects, events, idempotency records and webhook
  endpoints (the local cloud registers its own endpoint again at each start).
- `executions.json`: the name and input of every Step Functions execution still running. On AWS
  an execution outlives a crash of whatever started it; here it dies with the process, so a start
  runs each again (from its first state: every task is idempotent).

A SIGKILL loses at most the last SNAPSHOT_SECONDS of work. Restored items are written into moto
directly: their stream records are not changes to publish (pollers start after them).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shopstack.localcloud import memory

SNAPSHOT_SECONDS = 2.0
DYNAMODB_FILE = "dynamodb.json"
SQS_FILE = "sqs.json"
STRIPE_FILE = "stripe.json"
EXECUTIONS_FILE = "executions.json"
FORMAT = 2
LOCAL_WEBHOOK_PATH = "/webhooks/stripe"


# --- files -----------------------------------------------------------------------------------------


def write_atomically(path: Path, data: bytes | Callable[[Any], None]) -> None:
    """Replace `path` with `data` (bytes, or a function writing to a binary file) so that a crash
    leaves the old or the new content, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(scratch, "wb") as handle:
        if callable(data):
            data(handle)
        else:
            handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(scratch, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def read_json(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        print(f"ignoring unreadable state file {path}: {exc}", file=sys.stderr, flush=True)
        return None


def encode_value(value: Any) -> Any:
    """DynamoDB and SQS values as JSON-safe data (binary as {"__b64__": ...}); `decode_value` undoes it."""
    if isinstance(value, dict):
        return {k: encode_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_value(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return {"__b64__": base64.b64encode(bytes(value)).decode()}
    return value


def decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__b64__"}:
            return base64.b64decode(value["__b64__"])
        return {k: decode_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    return value


def _dump_stream(handle: Any, items: dict[str, list[Any]]) -> None:
    """DynamoDB JSON as moto holds it (binary as {"__b64__": ...}) written in chunks, without
    building the whole document in memory."""
    writer = io.TextIOWrapper(handle, encoding="utf-8", write_through=True)
    json.dump({"format": FORMAT, "tables": items}, writer, separators=(",", ":"), default=_b64)
    writer.flush()
    writer.detach()


def _b64(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {"__b64__": base64.b64encode(bytes(value)).decode()}
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _dumps(data: Any) -> bytes:
    return json.dumps(encode_value(data), separators=(",", ":"), default=str).encode()


# --- DynamoDB ----------------------------------------------------------------------------------------


def _dynamodb_backend(account_id: str, region: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[account_id][region]


def dynamodb_items(tables: dict[str, str], account_id: str, region: str) -> dict[str, list[Any]]:
    """Every item of each table as DynamoDB JSON; the caller holds the DynamoDB lock."""
    backend = _dynamodb_backend(account_id, region)
    found: dict[str, list[Any]] = {}
    for key, name in tables.items():
        table = backend.tables.get(name)
        if table is not None:
            found[key] = [item.to_json()["Attributes"] for item in table.all_items()]
    return found


def restore_dynamodb(path: Path, tables: dict[str, str], account_id: str, region: str) -> int | None:
    """Put the saved items back into moto's tables; None when the file is not in this format."""
    saved = read_json(path)
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        return None
    backend = _dynamodb_backend(account_id, region)
    restored = 0
    for key, items in saved.get("tables", {}).items():
        name = tables.get(key)
        if name is None or name not in backend.tables:
            continue
        for item in decode_value(items):
            backend.put_item(name, item)
            restored += 1
    return restored


# --- SQS ---------------------------------------------------------------------------------------------


def _sqs_backend(account_id: str, region: str) -> Any:
    from moto.sqs.models import sqs_backends

    return sqs_backends[account_id][region]


def sqs_messages(queues: dict[str, str], account_id: str, region: str) -> dict[str, list[dict[str, Any]]]:
    backend = _sqs_backend(account_id, region)
    now = time.time()
    found: dict[str, list[dict[str, Any]]] = {}
    for key, name in queues.items():
        queue = backend.queues.get(name)
        if queue is None:
            continue
        found[key] = [
            {
                "body": message.body,
                "attributes": message.message_attributes,
                "group": message.group_id,
                "dedup": message.deduplication_id,
                "delay": max(0, min(900, int(float(message.delayed_until or 0) - now + 0.999))),
            }
            for message in list(queue._messages)
        ]
    return found


def restore_sqs(path: Path, queues: dict[str, str], account_id: str, region: str) -> int:
    saved = read_json(path)
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        return 0
    backend = _sqs_backend(account_id, region)
    restored = 0
    for key, messages in saved.get("queues", {}).items():
        name = queues.get(key)
        if name is None or name not in backend.queues:
            continue
        for message in decode_value(messages):
            backend.send_message(
                name,
                message["body"],
                message_attributes=message.get("attributes") or None,
                delay_seconds=int(message.get("delay") or 0),
                deduplication_id=message.get("dedup"),
                group_id=message.get("group"),
            )
            restored += 1
    return restored


# --- Step Functions ----------------------------------------------------------------------------------


def running_executions(machines: dict[str, str], account_id: str, region: str) -> dict[str, list[dict[str, str]]]:
    """Each deployed state machine's running executions ("<stack>/<logical id>" -> name and input)."""
    from shopstack.localcloud import executions

    by_arn = {arn: key for key, arn in machines.items()}
    found: dict[str, list[dict[str, str]]] = {}
    for machine, execution, status in executions.each(account_id, region):
        key = by_arn.get(machine.arn)
        if key is not None and status == executions.RUNNING:
            found.setdefault(key, []).append({"name": execution.name, "input": json.dumps(execution.input_data)})
    return found


def restore_executions(path: Path, machines: dict[str, str], account_id: str, region: str) -> int:
    """Start again every execution that was running when the last process died; returns how many."""
    from shopstack.localcloud import executions

    saved = read_json(path)
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        return 0
    backend = executions.backend(account_id, region)
    restarted = 0
    for key, saved_executions in saved.get("executions", {}).items():
        arn = machines.get(key)
        if arn is None:
            continue
        for execution in saved_executions:
            try:
                backend.start_execution(arn, execution["name"], execution["input"])
            except Exception as exc:  # one execution that cannot start must not stop the others
                print(f"could not resume execution {execution.get('name')}: {exc!r}", file=sys.stderr, flush=True)
                continue
            restarted += 1
    return restarted


# --- the Stripe emulator -----------------------------------------------------------------------------


def stripe_state(emulator: Any) -> dict[str, Any]:
    """A copy of the emulator's objects, taken under its lock."""
    with emulator.lock:
        state = emulator.state
        return copy.deepcopy(
            {
                "payment_intents": state.payment_intents,
                "charges": state.charges,
                "refunds": state.refunds,
                "payment_methods": state.payment_methods,
                "events": state.events,
                "webhook_endpoints": state.webhook_endpoints,
                "cards": {pm: card.number for pm, card in state.cards.items()},
                "idempotency": [
                    {
                        "api_key": api_key,
                        "key": key,
                        "endpoint": stored.endpoint,
                        "fingerprint": stored.fingerprint,
                        "status": stored.status,
                        "body": stored.body,
                        "headers": stored.headers,
                        "created": stored.created,
                    }
                    for (api_key, key), stored in emulator.idempotency._records.items()
                ],
            }
        )


def restore_stripe(path: Path, emulator: Any) -> int:
    """Load saved objects into the emulator; the local cloud's own webhook endpoints are left out
    (it registers the current one, with a new secret, at each start). Returns the intents loaded."""
    from shopstack.stripe_emulator.cards import card_for
    from shopstack.stripe_emulator.idempotency import StoredResponse

    saved = read_json(path)
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        return 0
    data = decode_value(saved.get("stripe", {}))
    with emulator.lock:
        state = emulator.state
        state.payment_intents.update(data.get("payment_intents", {}))
        state.charges.update(data.get("charges", {}))
        state.refunds.update(data.get("refunds", {}))
        state.payment_methods.update(data.get("payment_methods", {}))
        state.events.update(data.get("events", {}))
        for endpoint_id, endpoint in data.get("webhook_endpoints", {}).items():
            if not str(endpoint.get("url", "")).endswith(LOCAL_WEBHOOK_PATH):
                state.webhook_endpoints[endpoint_id] = endpoint
        for pm, number in data.get("cards", {}).items():
            state.cards[pm] = card_for(number)
        for record in data.get("idempotency", []):
            emulator.idempotency.save(
                record["api_key"],
                record["key"],
                StoredResponse(
                    endpoint=record["endpoint"],
                    fingerprint=record["fingerprint"],
                    status=int(record["status"]),
                    body=record["body"] if isinstance(record["body"], bytes) else str(record["body"]).encode(),
                    headers=dict(record.get("headers") or {}),
                    created=float(record.get("created") or 0.0),
                ),
            )
        return len(data.get("payment_intents", {}))


# --- the writer --------------------------------------------------------------------------------------


class Snapshotter:
    """Writes the state files every `interval` seconds when they changed, and once more on stop.

    DynamoDB is read under its lock only after a write (`dynamodb_writes` counts them); the queue
    and emulator states are compared by digest, so an idle cloud writes nothing."""

    def __init__(
        self,
        directory: Path,
        *,
        account_id: str,
        region: str,
        dynamodb_lock: Any,
        dynamodb_writes: Callable[[], int],
        tables: dict[str, str],
        queues: dict[str, str],
        stripe: Any = None,
        machines: dict[str, str] | None = None,
        interval: float = SNAPSHOT_SECONDS,
    ) -> None:
        self.directory = directory
        self.account_id = account_id
        self.region = region
        self.dynamodb_lock = dynamodb_lock
        self.dynamodb_writes = dynamodb_writes
        self.tables = tables
        self.queues = queues
        self.stripe = stripe
        self.machines = machines or {}
        self.interval = interval
        self._saved_writes: int | None = None
        self._digests: dict[str, str] = {}
        self._guard = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="state-snapshots", daemon=True)
        self.snapshots = 0

    def start(self) -> Snapshotter:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self.save()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                self.save()
            except Exception as exc:
                print(f"could not save local cloud state: {exc!r}", file=sys.stderr, flush=True)

    def save(self) -> int:
        """Write what changed since the last save; returns how many files were written."""
        with self._guard:
            written = 0
            writes = self.dynamodb_writes()
            if writes != self._saved_writes:
                with self.dynamodb_lock:
                    writes = self.dynamodb_writes()
                    items = dynamodb_items(self.tables, self.account_id, self.region)
                write_atomically(self.directory / DYNAMODB_FILE, lambda handle: _dump_stream(handle, items))
                written += 1
                self._saved_writes = writes
            messages = sqs_messages(self.queues, self.account_id, self.region)
            written += self._write(SQS_FILE, {"format": FORMAT, "queues": messages})
            if self.stripe is not None:
                written += self._write(STRIPE_FILE, {"format": FORMAT, "stripe": stripe_state(self.stripe)})
            if self.machines:
                running = running_executions(self.machines, self.account_id, self.region)
                written += self._write(EXECUTIONS_FILE, {"format": FORMAT, "executions": running})
            self.snapshots += bool(written)
            if written:
                memory.trim()  # the copies just written are garbage now; give their pages back
            return written

    def _write(self, name: str, data: dict[str, Any]) -> int:
        body = _dumps(data)
        digest = hashlib.sha256(body).hexdigest()
        if self._digests.get(name) == digest:
            return 0
        write_atomically(self.directory / name, body)
        self._digests[name] = digest
        return 1
