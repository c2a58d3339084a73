"""The local cloud's state files: written atomically when something changed, and read back."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shopstack.localcloud import durable
from shopstack.localcloud.server import ACCOUNT_ID, REGION
from shopstack.localcloud.up import LocalCloud
from shopstack.stripe_emulator import StripeEmulator
from shopstack.waiting import eventually

Aws = Callable[[str], Any]


def snapshotter(cloud: LocalCloud, directory: Path, stripe: Any = None) -> durable.Snapshotter:
    snapshots: durable.Snapshotter = cloud.snapshotter(directory, stripe)
    return snapshots


def test_items_and_messages_round_trip(cloud: LocalCloud, aws: Aws, outputs: dict[str, str], tmp_path: Path) -> None:
    name, key = outputs["OrdersTableName"], f"durable-{uuid.uuid4().hex[:8]}"
    item = {
        "pk": {"S": key},
        "sk": {"S": "other"},
        "n": {"N": "12.5"},
        "blob": {"B": b"\x00\x01binary"},
        "tags": {"SS": ["a", "b"]},
        "nested": {"M": {"list": {"L": [{"BOOL": True}, {"NULL": True}]}}},
    }
    aws("dynamodb").put_item(TableName=name, Item=item)
    queue = outputs["DlqUrl"]  # no consumer takes the message before the snapshot
    body = f"message-{key}"
    aws("sqs").send_message(
        QueueUrl=queue, MessageBody=body, MessageAttributes={"kind": {"DataType": "String", "StringValue": "x"}}
    )
    snapshots = snapshotter(cloud, tmp_path)
    assert snapshots.save() >= 2
    first = {path.name: path.read_bytes() for path in tmp_path.iterdir()}  # what a kill now would leave
    # The fixture's consumers answer the put and the message with writes of their own; once they
    # are done, an idle cloud writes nothing.
    eventually(lambda: snapshots.save() == 0 or None)
    assert snapshots.save() == 0, "nothing changed: nothing written"
    for file_name, data in first.items():
        (tmp_path / file_name).write_bytes(data)
    assert not list(tmp_path.glob(".*.tmp"))
    saved = json.loads((tmp_path / durable.DYNAMODB_FILE).read_text())
    assert saved["format"] == durable.FORMAT

    aws("dynamodb").delete_item(TableName=name, Key={"pk": {"S": key}, "sk": {"S": "other"}})
    assert durable.restore_dynamodb(tmp_path / durable.DYNAMODB_FILE, cloud.tables(), ACCOUNT_ID, REGION)
    back = aws("dynamodb").get_item(TableName=name, Key={"pk": {"S": key}, "sk": {"S": "other"}})["Item"]
    assert back == item

    from moto.sqs.models import sqs_backends

    queue_name = queue.rsplit("/", 1)[-1]
    sqs_backends[ACCOUNT_ID][REGION].queues[queue_name]._messages.clear()
    assert durable.restore_sqs(tmp_path / durable.SQS_FILE, cloud.queues(), ACCOUNT_ID, REGION) >= 1
    bodies = [m.body for m in sqs_backends[ACCOUNT_ID][REGION].queues[queue_name]._messages]
    assert body in bodies
    sqs_backends[ACCOUNT_ID][REGION].queues[queue_name]._messages.clear()  # the DLQ as other tests expect it


def test_stripe_objects_and_idempotency_round_trip(cloud: LocalCloud, tmp_path: Path) -> None:
    from werkzeug.test import Client

    first = StripeEmulator()
    client = Client(first)
    headers = {"Authorization": "Bearer sk_test_local", "Idempotency-Key": "durable-1"}
    form = {"amount": "1500", "currency": "usd", "payment_method": "pm_card_visa", "confirm": "true"}
    created = client.post("/v1/payment_intents", data=form, headers=headers)
    assert created.status_code == 200, created.text
    intent = created.json["id"]
    first.add_webhook_endpoint("http://127.0.0.1:9/webhooks/stripe")
    first.add_webhook_endpoint("http://127.0.0.1:9/elsewhere")

    snapshotter(cloud, tmp_path, first).save()
    second = StripeEmulator()
    assert durable.restore_stripe(tmp_path / durable.STRIPE_FILE, second) == 1
    again = Client(second)
    fetched = again.get(f"/v1/payment_intents/{intent}", headers={"Authorization": "Bearer sk_test_local"})
    assert fetched.status_code == 200 and fetched.json["status"] == created.json["status"]
    replay = again.post("/v1/payment_intents", data=form, headers=headers)
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json["id"] == intent
    urls = [e["url"] for e in second.state.webhook_endpoints.values()]
    assert urls == ["http://127.0.0.1:9/elsewhere"], "the local cloud registers its own endpoint again"


def test_a_write_replaces_the_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    durable.write_atomically(path, b"old")
    durable.write_atomically(path, lambda handle: handle.write(b"new"))
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
