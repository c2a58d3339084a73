"""SQS event source mappings: batches, ReportBatchItemFailures, retries and the DLQ."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from shopstack.localcloud.pollers import failed_message_ids
from shopstack.waiting import eventually

Aws = Callable[[str], Any]
RECORDS = [{"messageId": "a"}, {"messageId": "b"}]


def test_failed_message_ids_follow_lambdas_rules() -> None:
    assert failed_message_ids({"batchItemFailures": []}, RECORDS, True) == set()
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "b"}]}, RECORDS, True) == {"b"}
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "zz"}]}, RECORDS, True) == {"a", "b"}
    assert failed_message_ids({"batchItemFailures": [{}]}, RECORDS, True) == {"a", "b"}
    assert failed_message_ids({"batchItemFailures": [{"itemIdentifier": "b"}]}, RECORDS, False) == set()
    assert failed_message_ids(None, RECORDS, True) == set()


def test_successes_are_deleted_and_failures_retried_then_dead_lettered(aws: Aws, outputs: dict[str, str]) -> None:
    sqs = aws("sqs")
    for body in ("ok-1", "fail", "ok-2"):
        sqs.send_message(QueueUrl=outputs["QueueUrl"], MessageBody=body)

    def dead_lettered() -> list[dict[str, Any]]:
        messages = sqs.receive_message(
            QueueUrl=outputs["DlqUrl"], MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=0
        ).get("Messages", [])
        return [m for m in messages if m["Body"] == "fail"]

    [dead] = eventually(dead_lettered, timeout=20)
    assert int(dead["Attributes"]["ApproximateReceiveCount"]) >= 2
    remaining = sqs.get_queue_attributes(QueueUrl=outputs["QueueUrl"], AttributeNames=["All"])["Attributes"]
    assert remaining["ApproximateNumberOfMessages"] == "0"
    assert remaining["ApproximateNumberOfMessagesNotVisible"] == "0"
    assert not any(json.dumps(m).count("ok-") for m in dead_lettered())
