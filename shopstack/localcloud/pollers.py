"""Event source mappings run as Lambda runs them: a poller per mapping, outside any request.

An SQS poller receives up to the mapping's batch size with the queue's visibility timeout,
invokes the function with an SQS event, deletes what succeeded and leaves the rest to become
visible again, so the queue's redrive policy moves repeated failures to its dead-letter queue.

A DynamoDB stream poller reads the table's stream through the DynamoDB Streams API, shard by
shard in order, and invokes the function with a stream event: it retries a failed batch
(MaximumRetryAttempts, -1 for until the record expires), resumes from the first record a
ReportBatchItemFailures response names, splits a failing batch in two when
BisectBatchOnFunctionError is set, and sends an on-failure record for what it gives up on to the
mapping's OnFailure SQS queue before moving on.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SQS_RECEIVE_MAX = 10
POLL_WAIT_SECONDS = 1
ERROR_BACKOFF_SECONDS = 1.0

InvokeRaw = Callable[[str, Any], tuple[str, bool, str]]


@dataclass(frozen=True)
class SqsMapping:
    uuid: str
    function_arn: str
    queue_arn: str
    queue_url: str
    batch_size: int
    report_batch_item_failures: bool


def lambda_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """SQS MessageAttributes as Lambda's SQS event spells them."""
    return {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value.get("DataType"),
        }
        for name, value in attributes.items()
    }


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": lambda_attributes(message.get("MessageAttributes", {})),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def failed_message_ids(result: Any, records: list[dict[str, Any]], report_failures: bool) -> set[str]:
    """Which messages to keep, per Lambda's ReportBatchItemFailures rules."""
    every = {r["messageId"] for r in records}
    if not report_failures or result is None:
        return set()
    if not isinstance(result, dict):
        return set()
    failures = result.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return every
    ids: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in every:
            return every
        ids.add(identifier)
    return ids


class SqsPoller:
    """The poller of one mapping, on its own thread."""

    def __init__(self, mapping: SqsMapping, sqs: Any, invoke: InvokeRaw, region: str) -> None:
        self.mapping = mapping
        self.sqs = sqs
        self.invoke = invoke
        self.region = region
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"sqs-poller-{mapping.uuid[:8]}")

    def start(self) -> SqsPoller:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.poll_once()
            except Exception:
                if self.stopped.wait(ERROR_BACKOFF_SECONDS):
                    return

    def receive_batch(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        wait = POLL_WAIT_SECONDS
        while len(messages) < self.mapping.batch_size and not self.stopped.is_set():
            response = self.sqs.receive_message(
                QueueUrl=self.mapping.queue_url,
                MaxNumberOfMessages=min(SQS_RECEIVE_MAX, self.mapping.batch_size - len(messages)),
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            received = response.get("Messages", [])
            if not received:
                break
            messages.extend(received)
            wait = 0
        return messages

    def poll_once(self) -> int:
        """Receive one batch and process it; returns how many messages were deleted."""
        messages = self.receive_batch()
        if not messages:
            return 0
        records = [sqs_record(m, self.mapping.queue_arn, self.region) for m in messages]
        payload, errored, _ = self.invoke(self.mapping.function_arn, {"Records": records})
        if errored:
            return 0
        result = json.loads(payload) if payload else None
        keep = failed_message_ids(result, records, self.mapping.report_batch_item_failures)
        done = [r for r in records if r["messageId"] not in keep]
        self._delete(done)
        return len(done)

    def _delete(self, records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), SQS_RECEIVE_MAX):
            chunk = records[start : start + SQS_RECEIVE_MAX]
            entries = [{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)]
            self.sqs.delete_message_batch(QueueUrl=self.mapping.queue_url, Entries=entries)


def enabled_mappings(lambda_client: Any, service: str) -> Iterator[dict[str, Any]]:
    """Every enabled event source mapping whose source ARN belongs to `service`."""
    for page in lambda_client.get_paginator("list_event_source_mappings").paginate():
        for esm in page["EventSourceMappings"]:
            arn = esm["EventSourceArn"]
            if arn.split(":")[2] == service and esm.get("State", "Enabled") in ("Enabled", "Enabling"):
                yield esm


def queue_url(sqs_client: Any, queue_arn: str) -> str:
    account, name = queue_arn.split(":")[4], queue_arn.split(":")[5]
    url: str = sqs_client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
    return url


def sqs_mappings(lambda_client: Any, sqs_client: Any) -> list[SqsMapping]:
    """Every enabled event source mapping from an SQS queue."""
    return [
        SqsMapping(
            uuid=esm["UUID"],
            function_arn=esm["FunctionArn"],
            queue_arn=esm["EventSourceArn"],
            queue_url=queue_url(sqs_client, esm["EventSourceArn"]),
            batch_size=int(esm.get("BatchSize") or 10),
            report_batch_item_failures="ReportBatchItemFailures" in esm.get("FunctionResponseTypes", []),
        )
        for esm in enabled_mappings(lambda_client, "sqs")
    ]


# --- DynamoDB streams ----------------------------------------------------------------------------

STREAM_POLL_SECONDS = 0.15
STREAM_RETRY_BACKOFF_SECONDS = 0.2
STREAM_RETRY_BACKOFF_MAX_SECONDS = 5.0
STREAM_BATCH_MAX = 1000


@dataclass(frozen=True)
class StreamMapping:
    uuid: str
    function_arn: str
    stream_arn: str
    batch_size: int
    starting_position: str
    report_batch_item_failures: bool
    maximum_retry_attempts: int
    maximum_record_age_seconds: int
    bisect_on_error: bool
    on_failure_arn: str | None


def _int_setting(value: Any, default: int) -> int:
    return default if value is None else int(value)


def stream_mappings(lambda_client: Any) -> list[StreamMapping]:
    """Every enabled event source mapping from a DynamoDB stream."""
    return [
        StreamMapping(
            uuid=esm["UUID"],
            function_arn=esm["FunctionArn"],
            stream_arn=esm["EventSourceArn"],
            batch_size=min(_int_setting(esm.get("BatchSize"), 100), STREAM_BATCH_MAX),
            starting_position=esm.get("StartingPosition") or "TRIM_HORIZON",
            report_batch_item_failures="ReportBatchItemFailures" in (esm.get("FunctionResponseTypes") or []),
            maximum_retry_attempts=_int_setting(esm.get("MaximumRetryAttempts"), -1),
            maximum_record_age_seconds=_int_setting(esm.get("MaximumRecordAgeInSeconds"), -1),
            bisect_on_error=bool(esm.get("BisectBatchOnFunctionError")),
            on_failure_arn=((esm.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination"),
        )
        for esm in enabled_mappings(lambda_client, "dynamodb")
    ]


def wire_value(value: Any) -> Any:
    """An attribute value as it travels in JSON: binary as base64 text."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {k: wire_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [wire_value(v) for v in value]
    return value


def stream_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A GetRecords record as Lambda's DynamoDB stream event spells it."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = float(int(created.timestamp()))
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": wire_value(dynamodb),
        "eventSourceARN": stream_arn,
    }


def sequence_number(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def first_failed_index(result: Any, records: list[dict[str, Any]], report_failures: bool) -> int | None:
    """Where to resume a batch the function answered, per ReportBatchItemFailures; None: all done."""
    if not report_failures or not isinstance(result, dict):
        return None
    failures = result.get("batchItemFailures")
    if not failures:
        return None
    if not isinstance(failures, list):
        return 0
    positions = {sequence_number(r): i for i, r in enumerate(records)}
    found: list[int] = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if identifier is None or str(identifier) not in positions:
            return 0
        found.append(positions[str(identifier)])
    return min(found)


@dataclass
class Outcome:
    """What one invocation left to do: resume at `failed_at` (None: nothing), and why."""

    failed_at: int | None
    function_error: bool = False


@dataclass
class ShardReader:
    """Where a poller is in one shard: its iterator, the last record read, and what is unprocessed."""

    shard_id: str
    iterator: str | None = None
    last_read: str | None = None
    pending: list[dict[str, Any]] = field(default_factory=list)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def failure_record(
    mapping: StreamMapping,
    shard_id: str,
    batch: list[dict[str, Any]],
    *,
    condition: str,
    attempts: int,
    function_error: bool,
) -> dict[str, Any]:
    """Lambda's on-failure record for a stream batch it gave up on."""
    created = [float(r["dynamodb"].get("ApproximateCreationDateTime") or time.time()) for r in batch]
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if function_error:
        response["functionError"] = "Unhandled"
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": mapping.function_arn,
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": _iso(time.time()),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": sequence_number(batch[0]),
            "endSequenceNumber": sequence_number(batch[-1]),
            "approximateArrivalOfFirstRecord": _iso(created[0]),
            "approximateArrivalOfLastRecord": _iso(created[-1]),
            "batchSize": len(batch),
            "streamArn": mapping.stream_arn,
        },
    }


def retry_backoff(attempts: int) -> float:
    return float(min(STREAM_RETRY_BACKOFF_SECONDS * 2 ** max(0, attempts - 1), STREAM_RETRY_BACKOFF_MAX_SECONDS))


class StreamPoller:
    """The poller of one DynamoDB stream mapping, on its own thread; shards are read in order."""

    def __init__(
        self,
        mapping: StreamMapping,
        streams: Any,
        sqs: Any,
        invoke: InvokeRaw,
        region: str,
        *,
        from_latest: bool = False,
    ) -> None:
        self.mapping = mapping
        self.streams = streams
        self.sqs = sqs
        self.invoke = invoke
        self.region = region
        self.starting_position = "LATEST" if from_latest else mapping.starting_position
        self.readers: dict[str, ShardReader] = {}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"stream-poller-{mapping.uuid[:8]}")

    def start(self) -> StreamPoller:
        self.discover_shards()
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                handled = self.poll_once()
            except Exception as exc:
                print(f"stream poller {self.mapping.uuid}: {exc!r}", file=sys.stderr, flush=True)
                for reader in self.readers.values():
                    reader.iterator = None
                if self.stopped.wait(ERROR_BACKOFF_SECONDS):
                    return
                continue
            if not handled and self.stopped.wait(STREAM_POLL_SECONDS):
                return

    def discover_shards(self) -> None:
        """Readers for the stream's shards, each at the mapping's starting position."""
        description = self.streams.describe_stream(StreamArn=self.mapping.stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            if shard["ShardId"] not in self.readers:
                reader = ShardReader(shard["ShardId"])
                reader.iterator = self._iterator(reader)
                self.readers[shard["ShardId"]] = reader

    def _iterator(self, reader: ShardReader) -> str:
        position: dict[str, Any] = {"ShardIteratorType": self.starting_position}
        if reader.last_read is not None:
            position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": reader.last_read}
        response = self.streams.get_shard_iterator(
            StreamArn=self.mapping.stream_arn, ShardId=reader.shard_id, **position
        )
        iterator: str = response["ShardIterator"]
        return iterator

    def poll_once(self) -> int:
        """Read and deliver one batch per shard; returns how many records were dealt with."""
        if not self.readers:
            self.discover_shards()
        return sum(self._poll_shard(reader) for reader in list(self.readers.values()))

    def _poll_shard(self, reader: ShardReader) -> int:
        self._read(reader)
        batch = reader.pending[: self.mapping.batch_size]
        if not batch:
            return 0
        self.deliver(reader.shard_id, batch)
        reader.pending = reader.pending[len(batch) :]
        return len(batch)

    def _read(self, reader: ShardReader) -> None:
        wanted = self.mapping.batch_size - len(reader.pending)
        if wanted <= 0:
            return
        if reader.iterator is None:
            reader.iterator = self._iterator(reader)
        response = self.streams.get_records(ShardIterator=reader.iterator, Limit=wanted)
        reader.iterator = response.get("NextShardIterator")
        records = [stream_record(r, self.mapping.stream_arn, self.region) for r in response.get("Records", [])]
        if records:
            reader.last_read = sequence_number(records[-1])
            reader.pending.extend(records)

    def deliver(self, shard_id: str, batch: list[dict[str, Any]]) -> None:
        """Invoke until the batch succeeds, bisecting and retrying as configured; what is given up
        on goes to the on-failure destination."""
        attempts = 0
        while batch and not self.stopped.is_set():
            batch = self._drop_expired(shard_id, batch, attempts)
            if not batch:
                return
            outcome = self.invoke_batch(batch)
            if outcome.failed_at is None:
                return
            if outcome.function_error and self.mapping.bisect_on_error and len(batch) > 1:
                half = len(batch) // 2
                self.deliver(shard_id, batch[:half])
                self.deliver(shard_id, batch[half:])
                return
            batch = batch[outcome.failed_at :]
            attempts += 1
            if 0 <= self.mapping.maximum_retry_attempts < attempts:
                self.give_up(shard_id, batch, "RetryAttemptsExhausted", attempts, outcome.function_error)
                return
            self.stopped.wait(retry_backoff(attempts))

    def invoke_batch(self, batch: list[dict[str, Any]]) -> Outcome:
        try:
            payload, errored, _ = self.invoke(self.mapping.function_arn, {"Records": batch})
        except Exception as exc:
            print(f"stream poller {self.mapping.uuid}: invoke failed: {exc!r}", file=sys.stderr, flush=True)
            return Outcome(0, function_error=True)
        if errored:
            return Outcome(0, function_error=True)
        result = json.loads(payload) if payload else None
        return Outcome(first_failed_index(result, batch, self.mapping.report_batch_item_failures))

    def _drop_expired(self, shard_id: str, batch: list[dict[str, Any]], attempts: int) -> list[dict[str, Any]]:
        max_age = self.mapping.maximum_record_age_seconds
        if max_age < 0:
            return batch
        oldest_allowed = time.time() - max_age
        expired = [r for r in batch if float(r["dynamodb"].get("ApproximateCreationDateTime", 0)) < oldest_allowed]
        if expired:
            self.give_up(shard_id, expired, "RecordAgeExceeded", attempts, False)
        return [r for r in batch if r not in expired]

    def give_up(self, shard_id: str, batch: list[dict[str, Any]], condition: str, attempts: int, errored: bool) -> None:
        record = failure_record(
            self.mapping, shard_id, batch, condition=condition, attempts=attempts, function_error=errored
        )
        destination = self.mapping.on_failure_arn
        if destination and destination.split(":")[2] == "sqs":
            self.sqs.send_message(QueueUrl=queue_url(self.sqs, destination), MessageBody=json.dumps(record))
            return
        info = record["DDBStreamBatchInfo"]
        print(
            f"stream poller {self.mapping.uuid}: dropped records {info['startSequenceNumber']}.."
            f"{info['endSequenceNumber']} ({condition}); on-failure destination: {destination or 'none'}",
            file=sys.stderr,
            flush=True,
        )


# --- every mapping -------------------------------------------------------------------------------

Poller = SqsPoller | StreamPoller


class Pollers:
    """The pollers of every SQS and DynamoDB stream event source mapping deployed."""

    def __init__(
        self,
        *,
        lambda_client: Any,
        sqs_client: Any,
        invoke: InvokeRaw,
        region: str,
        streams_client: Any | None = None,
    ) -> None:
        self.lambda_client = lambda_client
        self.sqs_client = sqs_client
        self.streams_client = streams_client
        self.invoke = invoke
        self.region = region
        self.pollers: dict[str, Poller] = {}

    def start(self, *, streams_from_latest: bool = False) -> list[SqsMapping | StreamMapping]:
        """Start a poller for each mapping that has none yet. `streams_from_latest` starts new
        stream pollers at the end of their streams, skipping what is already there."""
        started: list[SqsMapping | StreamMapping] = []
        for mapping in sqs_mappings(self.lambda_client, self.sqs_client):
            if mapping.uuid not in self.pollers:
                self.pollers[mapping.uuid] = SqsPoller(mapping, self.sqs_client, self.invoke, self.region).start()
                started.append(mapping)
        if self.streams_client is None:
            return started
        for stream in stream_mappings(self.lambda_client):
            if stream.uuid not in self.pollers:
                poller = StreamPoller(
                    stream,
                    self.streams_client,
                    self.sqs_client,
                    self.invoke,
                    self.region,
                    from_latest=streams_from_latest,
                )
                self.pollers[stream.uuid] = poller.start()
                started.append(stream)
        return started

    def stop(self, timeout: float = 3.0) -> None:
        for poller in self.pollers.values():
            poller.stop()
        for poller in self.pollers.values():
            poller.join(timeout)
        self.pollers.clear()
