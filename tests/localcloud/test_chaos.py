"""DynamoDB fault injection in the local cloud's WSGI middleware: a share of writes fails before it
applies, with DynamoDB's own error shapes; reads never fail; the runtime switch and its counts."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from shopstack.localcloud import control
from shopstack.localcloud.chaos import CHAOS, Chaos, cancellation, parse_spec
from shopstack.localcloud.server import REGION, MotoServer

NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})


@pytest.fixture(scope="module")
def server() -> Iterator[MotoServer]:
    running = MotoServer().start()
    try:
        yield running
    finally:
        running.stop()
        CHAOS.set(dynamodb=0.0)


@pytest.fixture
def dynamodb(server: MotoServer) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=server.url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=NO_RETRIES,
    )


@pytest.fixture
def table(dynamodb: Any) -> Iterator[str]:
    name = f"chaos-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "existing"}, "n": {"N": "1"}})
    yield name
    CHAOS.set(dynamodb=0.0)


def _error(call: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    response: dict[str, Any] = caught.value.response
    return response


def test_at_rate_one_every_write_fails_and_nothing_applies(dynamodb: Any, table: str) -> None:
    CHAOS.set(dynamodb=1.0)
    key = {"pk": {"S": "existing"}}
    writes = [
        lambda: dynamodb.put_item(TableName=table, Item={"pk": {"S": "new"}}),
        lambda: dynamodb.update_item(
            TableName=table, Key=key, UpdateExpression="SET n = :two", ExpressionAttributeValues={":two": {"N": "2"}}
        ),
        lambda: dynamodb.delete_item(TableName=table, Key=key),
        lambda: dynamodb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {"pk": {"S": "batch"}}}}]}),
    ]
    for write in writes:
        code = _error(write)["Error"]["Code"]
        assert code in ("TransactionConflictException", "ProvisionedThroughputExceededException", "ThrottlingException")

    transaction = _error(
        lambda: dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "t1"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": key,
                        "UpdateExpression": "SET n = :three",
                        "ExpressionAttributeValues": {":three": {"N": "3"}},
                    }
                },
                {"Delete": {"TableName": table, "Key": {"pk": {"S": "t3"}}}},
            ]
        )
    )
    assert transaction["Error"]["Code"] == "TransactionCanceledException"
    reasons = transaction["CancellationReasons"]
    assert len(reasons) == 3
    assert [r["Code"] for r in reasons].count("TransactionConflict") == 1
    assert [r["Code"] for r in reasons].count("None") == 2
    conflict = next(r for r in reasons if r["Code"] == "TransactionConflict")
    assert conflict["Message"] == "Transaction is ongoing for the item"

    CHAOS.set(dynamodb=0.0)
    items = dynamodb.scan(TableName=table)["Items"]
    assert items == [{"pk": {"S": "existing"}, "n": {"N": "1"}}]
    assert CHAOS.describe()["injected"]["dynamodb"] >= 5


def test_reads_never_fail(dynamodb: Any, table: str) -> None:
    CHAOS.set(dynamodb=1.0)
    key = {"pk": {"S": "existing"}}
    for _ in range(20):
        assert dynamodb.get_item(TableName=table, Key=key)["Item"]["n"] == {"N": "1"}
    assert dynamodb.scan(TableName=table)["Count"] == 1
    assert (
        dynamodb.query(
            TableName=table, KeyConditionExpression="pk = :k", ExpressionAttributeValues={":k": {"S": "existing"}}
        )["Count"]
        == 1
    )
    assert dynamodb.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": key}}])["Responses"]


def test_at_rate_zero_every_write_passes(dynamodb: Any, table: str) -> None:
    CHAOS.set(dynamodb=0.0)
    before = CHAOS.describe()["injected"]["dynamodb"]
    for i in range(30):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": f"k{i}"}})
    assert dynamodb.scan(TableName=table)["Count"] == 31
    assert CHAOS.describe()["injected"]["dynamodb"] == before


def test_botocore_retries_throttles_itself_so_a_low_rate_mostly_succeeds(server: MotoServer, table: str) -> None:
    client = boto3.client(
        "dynamodb",
        endpoint_url=server.url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    CHAOS.set(dynamodb=0.2)
    failed = 0
    for i in range(40):
        try:
            client.put_item(TableName=table, Item={"pk": {"S": f"r{i}"}})
        except ClientError as exc:
            # a conflict is not retried by botocore; a throttle is, and fails only once every
            # retry drew a throttle too (about 1 run in 250 meets one among 40 writes)
            code = exc.response["Error"]["Code"]
            assert code == "TransactionConflictException" or (
                code == "ThrottlingException" and "reached max retries" in str(exc)
            ), exc
            failed += 1
    CHAOS.set(dynamodb=0.0)
    assert failed < 40


def test_a_share_of_writes_fails() -> None:
    chaos = Chaos(random.Random(7))
    chaos.set(dynamodb=0.25)
    faults = [chaos.dynamodb_fault("PutItem", lambda: b"{}") for _ in range(2000)]
    share = sum(f is not None for f in faults) / len(faults)
    assert 0.2 < share < 0.3
    assert all(chaos.dynamodb_fault("GetItem", lambda: b"{}") is None for _ in range(100))
    state = chaos.describe()
    assert state["dynamodb"] == 0.25
    assert state["writes"]["dynamodb"] == 2000
    assert state["injected"]["dynamodb"] == sum(f is not None for f in faults)
    status, body = next(f for f in faults if f is not None)
    document = json.loads(body)
    assert status == 400 and document["__type"].startswith("com.amazonaws.dynamodb.v20120810#")


def test_cancellation_names_one_conflicting_item() -> None:
    document = cancellation(4, random.Random(1))
    assert [r["Code"] for r in document["CancellationReasons"]].count("TransactionConflict") == 1
    assert "[" in document["message"] and "TransactionConflict" in document["message"]


def test_settings_are_checked() -> None:
    assert parse_spec(["dynamodb=0.05"]) == {"dynamodb": 0.05}
    with pytest.raises(ValueError):
        parse_spec(["dynamodb=2"])
    with pytest.raises(ValueError):
        parse_spec(["sqs=0.1"])
    with pytest.raises(ValueError):
        parse_spec(["dynamodb"])


def test_the_control_switch_sets_and_reports() -> None:
    try:
        status, state = control.handle("PUT", control.CHAOS_PATH, b'{"dynamodb": 0.5}')
        assert status == 200 and state["dynamodb"] == 0.5
        assert control.handle("GET", control.CHAOS_PATH, b"")[1]["dynamodb"] == 0.5
        assert control.handle("PUT", control.CHAOS_PATH, b'{"dynamodb": 5}')[0] == 400
        assert control.handle("DELETE", control.CHAOS_PATH, b"")[0] == 405
    finally:
        CHAOS.set(dynamodb=0.0)
