"""The usage counter: item sizes and capacity units as DynamoDB on-demand bills them, and the
counter inside moto's server, served at /_localcloud/usage (GET reads, DELETE starts a new window)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from shopstack.localcloud import observability, usage
from shopstack.localcloud.server import ACCOUNT_ID, REGION, MotoServer
from shopstack.localcloud.usage import (
    USAGE,
    Consumed,
    DynamoRequest,
    IndexSchema,
    TableSchema,
    index_write_units,
    item_size,
    number_size,
    read_capacity,
    write_capacity,
    write_targets,
)

KB = 1024
ORDERS = TableSchema(
    "orders",
    ("pk", "sk"),
    (
        IndexSchema("byStatus", ("status", "createdAt"), "ALL"),
        IndexSchema("byTracking", ("trackingNumber",), "KEYS_ONLY"),
    ),
)


def text(size: int) -> dict[str, str]:
    return {"S": "x" * size}


def item(payload: int, **extra: Any) -> dict[str, Any]:
    """An item of the orders schema whose `data` attribute holds `payload` bytes."""
    return {"pk": {"S": "ORDER#1"}, "sk": {"S": "ORDER"}, "data": text(payload), **extra}


# --- sizes ---------------------------------------------------------------------------------------


def test_sizes_follow_dynamodbs_rules() -> None:
    assert item_size({"name": {"S": "héllo"}}) == 4 + 6  # names and strings by their UTF-8 bytes
    assert number_size("12345") == 4  # 5 significant digits: 3 bytes, plus 1
    assert number_size("-0.00120") == 1 + 1 + 1  # "12": 1 byte, plus 1, plus 1 for the sign
    assert item_size({"b": {"B": "AAEC"}}) == 1 + 3  # a binary by its decoded bytes
    assert item_size({"f": {"BOOL": True}, "n": {"NULL": True}}) == 2 + 2
    assert item_size({"l": {"L": [{"S": "ab"}, {"S": "c"}]}}) == 1 + 3 + (1 + 2) + (1 + 1)
    assert item_size({"m": {"M": {"k": {"S": "ab"}}}}) == 1 + 3 + (1 + 1 + 2)
    assert item_size({"s": {"SS": ["ab", "c"]}}) == 1 + 3
    assert item_size(None) == 0


# --- writes --------------------------------------------------------------------------------------


def schemas(name: str) -> TableSchema | None:
    return ORDERS if name == "orders" else None


def write(operation: str, request: dict[str, Any], ok: bool = True, error: str = "") -> DynamoRequest:
    return DynamoRequest(operation, request, {"__type": error} if error else {}, ok)


def units(call: DynamoRequest, before: list[Any], after: list[Any]) -> list[Consumed]:
    targets = write_targets(call, schemas)
    return write_capacity(call, targets, before, after, schemas)


def test_a_write_takes_one_unit_per_started_kb_of_the_larger_item() -> None:
    small, large = item(100), item(2 * KB + 10)
    put = write("PutItem", {"TableName": "orders", "Item": large})
    assert units(put, [small], [large]) == [Consumed("orders", wru=3)]
    update = write("UpdateItem", {"TableName": "orders", "Key": {"pk": {"S": "ORDER#1"}, "sk": {"S": "ORDER"}}})
    assert units(update, [large], [small])[0].wru == 3  # shrinking an item is billed at its old size
    delete = write("DeleteItem", {"TableName": "orders", "Key": {"pk": {"S": "ORDER#1"}, "sk": {"S": "ORDER"}}})
    assert units(delete, [None], [None])[0].wru == 1  # deleting nothing still takes one unit


def test_a_failed_condition_is_billed_at_the_item_as_it_was_and_a_validation_error_is_not() -> None:
    put = write(
        "PutItem", {"TableName": "orders", "Item": item(10)}, ok=False, error="x#ConditionalCheckFailedException"
    )
    assert units(put, [item(1500)], [item(1500)]) == [Consumed("orders", wru=2)]
    invalid = write("PutItem", {"TableName": "orders", "Item": item(10)}, ok=False, error="x#ValidationException")
    assert units(invalid, [None], [None]) == []


def test_transactions_take_twice_the_units_and_a_condition_check_is_a_write() -> None:
    key = {"pk": {"S": "ORDER#1"}, "sk": {"S": "ORDER"}}
    call = write(
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Put": {"TableName": "orders", "Item": item(1500)}},
                {"ConditionCheck": {"TableName": "orders", "Key": {**key, "sk": {"S": "OTHER"}}}},
            ]
        },
    )
    consumed = units(call, [None, item(100)], [item(1500), item(100)])
    assert [c.wru for c in consumed] == [4, 2]


def test_index_writes_follow_the_items_entry() -> None:
    base = item(10, createdAt={"S": "2026-12-01"})
    paid = {**base, "status": {"S": "PAID"}}
    confirmed = {**base, "status": {"S": "CONFIRMED"}}
    assert index_write_units(ORDERS, None, base) == 0  # no status: not in the sparse index
    assert index_write_units(ORDERS, base, paid) == 1  # into byStatus
    assert index_write_units(ORDERS, paid, confirmed) == 2  # key changed: one entry out, one in
    assert index_write_units(ORDERS, paid, {**paid, "data": text(20)}) == 1  # ALL: any change
    tracked = {**paid, "trackingNumber": {"S": "T1"}}
    assert index_write_units(ORDERS, tracked, {**tracked, "data": text(30)}) == 1  # KEYS_ONLY unchanged
    assert index_write_units(ORDERS, paid, paid) == 0


# --- reads ---------------------------------------------------------------------------------------


def lookup_of(items: dict[str, Any]) -> Callable[[str, dict[str, Any]], Any]:
    return lambda table, key: items.get(key.get("sk", {}).get("S", ""))


def test_reads_take_one_unit_per_4_kb_and_half_when_eventually_consistent() -> None:
    lookup = lookup_of({"ORDER": item(5 * KB)})
    key = {"pk": {"S": "ORDER#1"}, "sk": {"S": "ORDER"}}
    strong = DynamoRequest("GetItem", {"TableName": "orders", "Key": key, "ConsistentRead": True}, {}, True)
    assert read_capacity(strong, lookup, schemas)[0].rru == 2
    eventual = DynamoRequest("GetItem", {"TableName": "orders", "Key": key}, {}, True)
    assert read_capacity(eventual, lookup, schemas)[0].rru == 1.0
    absent = DynamoRequest("GetItem", {"TableName": "orders", "Key": {**key, "sk": {"S": "NONE"}}}, {}, True)
    assert read_capacity(absent, lookup, schemas)[0].rru == 0.5
    transact = DynamoRequest(
        "TransactGetItems", {"TransactItems": [{"Get": {"TableName": "orders", "Key": key}}]}, {}, True
    )
    assert read_capacity(transact, lookup, schemas)[0].rru == 4


def test_a_query_is_billed_by_the_total_size_read_and_filtered_items_count() -> None:
    stored = {f"L{i}": {"pk": {"S": "ORDER#1"}, "sk": {"S": f"L{i}"}, "data": text(1500)} for i in range(4)}
    returned = [{"pk": v["pk"], "sk": v["sk"]} for v in stored.values()]  # projected: the keys only
    request = {"TableName": "orders", "ConsistentRead": True}
    query = DynamoRequest("Query", request, {"Items": returned, "Count": 4, "ScannedCount": 4}, True)
    assert read_capacity(query, lookup_of(stored), schemas)[0].rru == 2  # 4 x ~1.5 KB: 2 x 4 KB
    filtered = DynamoRequest("Query", request, {"Items": returned[:2], "Count": 2, "ScannedCount": 4}, True)
    assert read_capacity(filtered, lookup_of(stored), schemas)[0].rru == 2
    on_index = DynamoRequest("Query", {**request, "IndexName": "byStatus"}, {"Items": [], "Count": 0}, True)
    assert read_capacity(on_index, lookup_of(stored), schemas)[0].rru == 0.5  # a GSI is never consistent


# --- the counter inside moto's server ------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_server() -> Iterator[MotoServer]:
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
    server = MotoServer().start()
    try:
        yield server
    finally:
        server.stop()
        moto_api_backend.reset()


def client(server: MotoServer, service: str, *, from_function: bool) -> Any:
    extra = "exec-env/AWS_Lambda_python3.14" if from_function else None
    return boto3.client(
        service,
        endpoint_url=server.url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(user_agent_extra=extra),
    )


def handle(method: str) -> tuple[int, Any]:
    """The gateway's answer to `method` on /_localcloud/usage."""
    return observability.handle(
        method, usage.USAGE_PATH, {}, clients=lambda service: None, account_id=ACCOUNT_ID, region=REGION
    )


def document() -> dict[str, Any]:
    status, found = handle("GET")
    assert status == 200
    return dict(found)


def requests_of(found: dict[str, Any]) -> dict[tuple[str, str, str], int]:
    return {(r["caller"], r["service"], r["operation"]): r["count"] for r in found["requests"]}


def test_the_counter_sees_every_request_by_caller_and_bills_dynamodb_units(moto_server: MotoServer) -> None:
    tooling = client(moto_server, "dynamodb", from_function=False)
    tooling.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "byStatus",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    status, _ = observability.handle(
        "DELETE", usage.USAGE_PATH, {}, clients=lambda s: None, account_id=ACCOUNT_ID, region=REGION
    )
    assert status == 200
    dynamodb = client(moto_server, "dynamodb", from_function=True)
    key = {"pk": {"S": "ORDER#1"}, "sk": {"S": "ORDER"}}
    dynamodb.put_item(TableName="orders", Item={**key, "status": {"S": "PAID"}, "data": text(1500)})
    dynamodb.update_item(
        TableName="orders",
        Key=key,
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "CONFIRMED"}},
    )
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        dynamodb.put_item(TableName="orders", Item=key, ConditionExpression="attribute_not_exists(pk)")
    dynamodb.get_item(TableName="orders", Key=key, ConsistentRead=True)
    dynamodb.query(
        TableName="orders",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "ORDER#1"}},
    )

    found = document()
    seen = requests_of(found)
    assert seen[("function", "dynamodb", "PutItem")] == 2
    assert seen[("function", "dynamodb", "UpdateItem")] == 1
    assert ("localcloud", "dynamodb", "CreateTable") not in seen  # before the window
    units_seen = found["dynamodb"]["function"]["tables"]["orders"]
    # put 2 (1.5 KB) + update 2 + failed put 2 (the item as it was); the index (ALL, 1.5 KB entries):
    # the put adds an entry (2), the update moves it to another key (out 2, in 2)
    assert units_seen["wru"] == 6
    assert units_seen["indexWru"] == 2 + 2 + 2
    assert units_seen["rru"] == 1 + 0.5  # a consistent GetItem, an eventually consistent Query
    assert found["counterErrors"] == 0


def test_the_counter_tells_empty_receives_and_counts_events_and_resets(moto_server: MotoServer) -> None:
    handle("DELETE")
    poller = client(moto_server, "sqs", from_function=False)
    url = poller.create_queue(QueueName="usage-test")["QueueUrl"]
    poller.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    client(moto_server, "sqs", from_function=True).send_message(QueueUrl=url, MessageBody="{}")
    poller.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    events = client(moto_server, "events", from_function=True)
    entry = {"Source": "shopstack.test", "DetailType": "Tested", "Detail": "{}"}
    events.put_events(Entries=[entry, entry])

    found = document()
    assert found["sqsReceives"]["localcloud"] == {"empty": 1, "nonEmpty": 1, "messages": 1}
    assert requests_of(found)[("function", "sqs", "SendMessage")] == 1
    assert found["eventbridge"]["putEventsEntries"] == {"function": 2}

    USAGE.reset()
    assert document()["requests"] == []
    status, _ = observability.handle(
        "PUT", usage.USAGE_PATH, {}, clients=lambda s: None, account_id=ACCOUNT_ID, region=REGION
    )
    assert status == 405
    assert observability.serves(usage.USAGE_PATH)


def test_transitions_are_the_states_entered_plus_task_retries() -> None:
    from enum import Enum

    class Kind(Enum):  # moto's history holds enum members, not strings
        TASK_ENTERED = "TaskStateEntered"
        SCHEDULED = "TaskScheduled"
        SUCCEED_ENTERED = "SucceedStateEntered"

    once = [Kind.TASK_ENTERED, Kind.SCHEDULED, Kind.TASK_ENTERED, Kind.SCHEDULED, Kind.SUCCEED_ENTERED]
    assert usage.state_transitions({"type": kind} for kind in once) == 3
    retried = [Kind.TASK_ENTERED, Kind.SCHEDULED, Kind.SCHEDULED, Kind.SUCCEED_ENTERED]
    assert usage.state_transitions({"type": kind} for kind in retried) == 3


def test_api_requests_are_read_per_stage_and_per_route_from_the_window() -> None:
    import time

    from shopstack.localcloud.telemetry import TELEMETRY

    TELEMETRY.api_request("usage-api", "v1", "/carts", "POST", 201, 5.0)
    time.sleep(0.01)  # the window begins strictly after that request
    since = time.time()
    TELEMETRY.api_request("usage-api", "v1", "/carts", "POST", 201, 5.0)
    TELEMETRY.api_request("usage-api", "v1", "/webhooks/stripe", "POST", 200, 5.0)
    assert usage.api_requests(since)["usage-api/v1"] == 2
    routes = usage.api_routes(since)
    assert routes["POST /carts"] == 1 and routes["POST /webhooks/stripe"] == 1
