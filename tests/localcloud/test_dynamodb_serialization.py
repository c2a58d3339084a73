"""Conditional writes through the local cloud behave as DynamoDB's: no overselling."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from shopstack.localcloud.server import SerializedDynamoDB, is_dynamodb_request

Aws = Callable[[str], Any]


def test_only_dynamodb_requests_are_serialized() -> None:
    assert is_dynamodb_request({"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.UpdateItem"})
    assert not is_dynamodb_request({"HTTP_X_AMZ_TARGET": "AmazonSQS.SendMessage"})
    assert not is_dynamodb_request({})
    assert SerializedDynamoDB(lambda environ, start: [b"x"])({}, lambda *a: None) == [b"x"]


def test_thirty_concurrent_conditional_decrements_of_ten_succeed_ten_times(aws: Aws) -> None:
    dynamodb = aws("dynamodb")
    dynamodb.create_table(
        TableName="Counters",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="Counters", Item={"id": {"S": "stock"}, "left": {"N": "10"}})

    def decrement(_: int) -> bool:
        client = aws("dynamodb")
        try:
            client.update_item(
                TableName="Counters",
                Key={"id": {"S": "stock"}},
                UpdateExpression="SET #left = #left - :one",
                ConditionExpression="#left >= :one",
                ExpressionAttributeNames={"#left": "left"},
                ExpressionAttributeValues={":one": {"N": "1"}},
            )
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException"
            return False
        return True

    with ThreadPoolExecutor(max_workers=30) as executor:
        successes = sum(executor.map(decrement, range(30)))
    left = dynamodb.get_item(TableName="Counters", Key={"id": {"S": "stock"}})["Item"]["left"]["N"]
    assert (successes, left) == (10, "0")
