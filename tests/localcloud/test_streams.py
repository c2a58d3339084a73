"""DynamoDB stream event source mappings: stream events, write-backs, partial failures, retries,
bisecting and the on-failure queue, through the FixtureOrders stack."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from shopstack.localcloud.pollers import (
    StreamMapping,
    failure_record,
    first_failed_index,
    stream_record,
)
from shopstack.waiting import eventually

Aws = Callable[[str], Any]
STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/2024-01-01T00:00:00"


def _record(sequence: str) -> dict[str, Any]:
    return {"dynamodb": {"SequenceNumber": sequence, "ApproximateCreationDateTime": 1700000000.0}}


RECORDS = [_record("11"), _record("12"), _record("13")]


def test_first_failed_index_follows_lambdas_rules() -> None:
    assert first_failed_index({"batchItemFailures": []}, RECORDS, True) is None
    assert first_failed_index(None, RECORDS, True) is None
    assert (
        first_failed_index({"batchItemFailures": [{"itemIdentifier": "13"}, {"itemIdentifier": "12"}]}, RECORDS, True)
        == 1
    )
    assert first_failed_index({"batchItemFailures": [{"itemIdentifier": "99"}]}, RECORDS, True) == 0
    assert first_failed_index({"batchItemFailures": [{}]}, RECORDS, True) == 0
    assert first_failed_index({"batchItemFailures": "x"}, RECORDS, True) == 0
    assert first_failed_index({"batchItemFailures": [{"itemIdentifier": "12"}]}, RECORDS, False) is None


def test_stream_records_are_spelled_as_lambda_delivers_them() -> None:
    created = datetime(2024, 1, 1, tzinfo=UTC)
    record = {
        "eventID": "e1",
        "eventName": "INSERT",
        "dynamodb": {
            "ApproximateCreationDateTime": created,
            "Keys": {"pk": {"S": "a"}},
            "NewImage": {"pk": {"S": "a"}, "blob": {"B": b"\x00\x01"}},
            "SequenceNumber": "11",
            "SizeBytes": 10,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }
    event = stream_record(record, STREAM, "eu-west-1")
    assert event["eventSource"] == "aws:dynamodb"
    assert event["awsRegion"] == "eu-west-1"
    assert event["eventSourceARN"] == STREAM
    assert event["dynamodb"]["ApproximateCreationDateTime"] == created.timestamp()
    assert event["dynamodb"]["NewImage"]["blob"] == {"B": "AAE="}
    json.dumps(event)


def test_failure_record_is_lambdas_on_failure_record() -> None:
    mapping = StreamMapping("u", "arn:fn", STREAM, 10, "TRIM_HORIZON", True, 1, -1, True, None)
    record = failure_record(
        mapping, "shard-1", RECORDS, condition="RetryAttemptsExhausted", attempts=2, function_error=True
    )
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responseContext"]["functionError"] == "Unhandled"
    info = record["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == ("11", "13", 3)
    assert info["shardId"] == "shard-1" and info["streamArn"] == STREAM


# --- through the deployed stack -------------------------------------------------------------------


@pytest.fixture(scope="module")
def table(outputs: dict[str, str]) -> str:
    return outputs["OrdersTableName"]


def _item(pk: str, **attributes: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "item"}, **{k: {"S": v} for k, v in attributes.items()}}


def _seen(aws: Aws, table: str, pk: str) -> list[dict[str, Any]]:
    items = aws("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :seen)",
        ExpressionAttributeValues={":pk": {"S": pk}, ":seen": {"S": "seen#"}},
        ConsistentRead=True,
    )["Items"]
    return [json.loads(i["record"]["S"]) for i in items]


def _batches(aws: Aws, table: str, pk: str) -> list[list[str]]:
    items = aws("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "batches"}},
        ConsistentRead=True,
    )["Items"]
    keys = [[k["S"] for k in i["keys"]["L"] if k["S"].endswith("/item")] for i in items]
    return [k for k in keys if any(key.startswith(pk) for key in k)]


def test_the_mapping_is_deployed_from_the_tables_stream(aws: Aws, outputs: dict[str, str]) -> None:
    mappings = aws("lambda").list_event_source_mappings()["EventSourceMappings"]
    [mapping] = [m for m in mappings if m["EventSourceArn"] == outputs["OrdersStreamArn"]]
    assert "/stream/" in outputs["OrdersStreamArn"]
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == 1
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"].startswith("arn:aws:sqs:")


def test_insert_modify_and_remove_arrive_with_images_and_the_handler_writes_back(aws: Aws, table: str) -> None:
    pk = f"order-{uuid.uuid4()}"
    dynamodb = aws("dynamodb")
    dynamodb.put_item(TableName=table, Item=_item(pk, status="PENDING"))
    dynamodb.put_item(TableName=table, Item=_item(pk, status="PAID"))
    dynamodb.delete_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": "item"}})

    records = eventually(lambda: (lambda seen: seen if len(seen) == 3 else None)(_seen(aws, table, pk)), timeout=5)
    insert, modify, remove = sorted(records, key=lambda r: int(r["dynamodb"]["SequenceNumber"]))
    assert [r["eventName"] for r in (insert, modify, remove)] == ["INSERT", "MODIFY", "REMOVE"]
    assert insert["dynamodb"]["NewImage"]["status"] == {"S": "PENDING"} and "OldImage" not in insert["dynamodb"]
    assert modify["dynamodb"]["OldImage"]["status"] == {"S": "PENDING"}
    assert modify["dynamodb"]["NewImage"]["status"] == {"S": "PAID"}
    assert remove["dynamodb"]["OldImage"]["status"] == {"S": "PAID"} and "NewImage" not in remove["dynamodb"]
    for record in (insert, modify, remove):
        assert record["eventSource"] == "aws:dynamodb"
        assert record["eventSourceARN"].startswith(f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}/stream/")
        assert record["dynamodb"]["Keys"] == {"pk": {"S": pk}, "sk": {"S": "item"}}
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert record["dynamodb"]["SizeBytes"] > 0


def test_a_reported_item_failure_resumes_the_batch_from_that_record(aws: Aws, table: str) -> None:
    run = str(uuid.uuid4())
    first, failing, last = f"{run}-a", f"{run}-b", f"{run}-c"
    items = [_item(first), _item(failing, fail="report-once"), _item(last)]
    aws("dynamodb").batch_write_item(RequestItems={table: [{"PutRequest": {"Item": i}} for i in items]})

    eventually(lambda: _seen(aws, table, last), timeout=5)
    for pk in (first, failing, last):
        assert len(_seen(aws, table, pk)) == 1, pk
    batches = _batches(aws, table, run)
    with_failing = [b for b in batches if f"{failing}/item" in b]
    assert with_failing[0][:3] == [f"{first}/item", f"{failing}/item", f"{last}/item"]
    assert with_failing[1][:2] == [f"{failing}/item", f"{last}/item"]


def test_exhausted_retries_go_to_the_on_failure_queue_and_the_stream_moves_on(
    aws: Aws, table: str, outputs: dict[str, str]
) -> None:
    broken, after = f"broken-{uuid.uuid4()}", f"after-{uuid.uuid4()}"
    dynamodb = aws("dynamodb")
    dynamodb.put_item(TableName=table, Item=_item(broken, fail="raise"))
    dynamodb.put_item(TableName=table, Item=_item(after))

    def failure() -> dict[str, Any] | None:
        messages = aws("sqs").receive_message(QueueUrl=outputs["StreamFailuresUrl"], MaxNumberOfMessages=10)
        for message in messages.get("Messages", []):
            aws("sqs").delete_message(QueueUrl=outputs["StreamFailuresUrl"], ReceiptHandle=message["ReceiptHandle"])
            return dict(json.loads(message["Body"]))
        return None

    record = eventually(failure, timeout=10)
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responseContext"]["functionError"] == "Unhandled"
    info = record["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert info["streamArn"] == outputs["OrdersStreamArn"]
    assert eventually(lambda: _seen(aws, table, after), timeout=5)
    assert _seen(aws, table, broken) == []


def test_a_failed_transaction_publishes_nothing_and_later_writes_still_flow(aws: Aws, table: str) -> None:
    pk = f"tx-{uuid.uuid4()}"
    dynamodb = aws("dynamodb")
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": _item(pk, status="PHANTOM")}},
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"pk": {"S": pk}, "sk": {"S": "guard"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    dynamodb.put_item(TableName=table, Item=_item(pk, status="REAL"))
    [record] = eventually(lambda: _seen(aws, table, pk), timeout=5)
    assert record["eventName"] == "INSERT"
    assert record["dynamodb"]["NewImage"]["status"] == {"S": "REAL"}
