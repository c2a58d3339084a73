"""SQS event source mappings run as Lambda runs them: a poller per mapping, outside SendMessage.

Each poller receives up to the mapping's batch size with the queue's visibility timeout, invokes
the function with an SQS event, deletes what succeeded and leaves the rest to become visible
again, so the queue's redrive policy moves repeated failures to its dead-letter queue.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
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


def sqs_mappings(lambda_client: Any, sqs_client: Any) -> list[SqsMapping]:
    """Every enabled event source mapping from an SQS queue."""
    mappings: list[SqsMapping] = []
    for page in lambda_client.get_paginator("list_event_source_mappings").paginate():
        for esm in page["EventSourceMappings"]:
            arn = esm["EventSourceArn"]
            if arn.split(":")[2] != "sqs" or esm.get("State", "Enabled") not in ("Enabled", "Enabling"):
                continue
            account, name = arn.split(":")[4], arn.split(":")[5]
            url = sqs_client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            mappings.append(
                SqsMapping(
                    uuid=esm["UUID"],
                    function_arn=esm["FunctionArn"],
                    queue_arn=arn,
                    queue_url=url,
                    batch_size=int(esm.get("BatchSize") or 10),
                    report_batch_item_failures="ReportBatchItemFailures" in esm.get("FunctionResponseTypes", []),
                )
            )
    return mappings


class Pollers:
    """The pollers of every SQS event source mapping deployed."""

    def __init__(self, *, lambda_client: Any, sqs_client: Any, invoke: InvokeRaw, region: str) -> None:
        self.lambda_client = lambda_client
        self.sqs_client = sqs_client
        self.invoke = invoke
        self.region = region
        self.pollers: dict[str, SqsPoller] = {}

    def start(self) -> list[SqsMapping]:
        """Start a poller for each mapping that has none yet."""
        started = []
        for mapping in sqs_mappings(self.lambda_client, self.sqs_client):
            if mapping.uuid not in self.pollers:
                self.pollers[mapping.uuid] = SqsPoller(mapping, self.sqs_client, self.invoke, self.region).start()
                started.append(mapping)
        return started

    def stop(self, timeout: float = 3.0) -> None:
        for poller in self.pollers.values():
            poller.stop()
        for poller in self.pollers.values():
            poller.join(timeout)
        self.pollers.clear()
