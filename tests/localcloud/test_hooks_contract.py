"""A contract test for each moto hook: the internal it patches is still there with the parameters
the hook was written against, and the behaviour we rely on holds through boto3.

When a moto upgrade breaks one, the failure names the hook (see shopstack/localcloud/hooks.py).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from shopstack.localcloud import hooks
from shopstack.localcloud.server import ACCOUNT_ID, REGION
from shopstack.localcloud.up import LocalCloud
from shopstack.waiting import eventually

Aws = Callable[[str], Any]


@pytest.mark.parametrize("point", hooks.PATCH_POINTS, ids=lambda p: f"{p.hook}:{p.owner}.{p.attribute}")
def test_moto_still_has_what_the_hook_patches(cloud: LocalCloud, point: hooks.PatchPoint) -> None:
    try:
        hooks.check_patch_point(point)
    except hooks.HookContractError as exc:
        pytest.fail(f"moto changed under hook {point.hook!r}: {exc}")


def test_every_hook_is_installed_and_has_a_patch_point(cloud: LocalCloud) -> None:
    assert set(hooks.HOOKS) == {p.hook for p in hooks.PATCH_POINTS}
    for point in hooks.PATCH_POINTS:
        assert hooks._ORIGINALS.get((point.module, point.owner, point.attribute), "?") != "?", point.hook


def test_a_changed_signature_fails_loudly_naming_the_hook() -> None:
    point = hooks.PatchPoint("lambda_invoke", "moto.awslambda.models", "LambdaFunction", "invoke", ("self", "x"))
    with pytest.raises(hooks.HookContractError, match=r"hook lambda_invoke: .*LambdaFunction.invoke changed"):
        hooks.check_patch_point(point)
    gone = hooks.PatchPoint("lambda_invoke", "moto.awslambda.models", "NoSuchClass", "invoke", ("self",))
    with pytest.raises(hooks.HookContractError, match=r"hook lambda_invoke: .* is gone"):
        hooks.check_patch_point(gone)


# --- untracked_models ----------------------------------------------------------------------------


def test_items_written_and_overwritten_are_not_kept_by_moto(aws: Aws, records_table: str) -> None:
    from moto.dynamodb.models.dynamo_type import Item
    from moto.s3.models import FakeKey

    before = len(Item.instances_tracked)  # type: ignore[attr-defined]
    for version in range(20):
        aws("dynamodb").put_item(TableName=records_table, Item={"pk": {"S": "tracked"}, "v": {"N": str(version)}})
    assert len(Item.instances_tracked) == before, "20 item versions would stay in memory for good"  # type: ignore[attr-defined]
    keys = len(FakeKey.instances_tracked)  # type: ignore[attr-defined]
    aws("s3").create_bucket(Bucket="tracked-keys")
    aws("s3").put_object(Bucket="tracked-keys", Key="k", Body=b"x")
    assert len(FakeKey.instances_tracked) == keys + 1, "S3 keys stay tracked for moto's reset"  # type: ignore[attr-defined]


# --- lambda_invoke -------------------------------------------------------------------------------


def test_lambda_invoke_runs_in_the_worker_pool(aws: Aws, outputs: dict[str, str]) -> None:
    response = aws("lambda").invoke(FunctionName=outputs["EchoName"], Payload=json.dumps({"hello": "world"}))
    payload = json.loads(response["Payload"].read())
    assert "FunctionError" not in response
    assert payload["event"] == {"hello": "world"}
    assert payload["function_name"] == outputs["EchoName"]
    assert isinstance(payload["pid"], int)


# --- sfn_cfn_parser_backend, sfn_execution_name -------------------------------------------------


def test_cloudformation_state_machines_execute_and_unnamed_executions_get_a_uuid(
    aws: Aws, outputs: dict[str, str]
) -> None:
    sfn = aws("stepfunctions")
    started = sfn.start_execution(stateMachineArn=outputs["WorkflowArn"], input=json.dumps({"value": 1}))
    name = started["executionArn"].rsplit(":", 1)[-1]
    assert str(uuid.UUID(name)) == name
    done = eventually(lambda: _finished(sfn, started["executionArn"]))
    assert done["status"] == "SUCCEEDED", done


def _finished(sfn: Any, arn: str) -> dict[str, Any] | None:
    execution: dict[str, Any] = sfn.describe_execution(executionArn=arn)
    return None if execution["status"] == "RUNNING" else execution


def test_finished_executions_are_bounded_and_their_names_stay_taken(
    aws: Aws, outputs: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """sfn_bounded_history: a start keeps the newest finished executions; a dropped name is
    still ExecutionAlreadyExists."""
    from shopstack.localcloud import retention

    monkeypatch.setattr(retention, "MAX_FINISHED_EXECUTIONS", 1)
    sfn, arn = aws("stepfunctions"), outputs["WorkflowArn"]
    names = [f"bounded-{uuid.uuid4().hex[:8]}-{n}" for n in range(3)]
    for name in names:
        started = sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps({"value": 1}))
        eventually(lambda started=started: _finished(sfn, started["executionArn"]))
    listed = sfn.list_executions(stateMachineArn=arn, statusFilter="SUCCEEDED")["executions"]
    assert names[-1] in {e["name"] for e in listed}
    assert len(listed) <= 2
    with pytest.raises(sfn.exceptions.ExecutionAlreadyExists):
        sfn.start_execution(stateMachineArn=arn, name=names[0], input=json.dumps({"value": 1}))


# --- sqs_mapping_detach --------------------------------------------------------------------------


def test_send_message_no_longer_invokes_lambda_inline(cloud: LocalCloud, aws: Aws, outputs: dict[str, str]) -> None:
    from moto.sqs.models import sqs_backends

    queues = sqs_backends[ACCOUNT_ID][REGION].queues.values()
    work = next(q for q in queues if q.name == outputs["QueueUrl"].rsplit("/", 1)[-1])
    assert work.lambda_event_source_mappings == {}
    mappings = aws("lambda").list_event_source_mappings()["EventSourceMappings"]
    assert any(m["EventSourceArn"] == work.queue_arn for m in mappings)


# --- events_lambda_sfn_targets -------------------------------------------------------------------


def put_event(aws: Aws, source: str, detail: dict[str, Any]) -> None:
    response = aws("events").put_events(
        Entries=[
            {
                "EventBusName": "fixture-bus",
                "Source": source,
                "DetailType": "Test",
                "Detail": json.dumps(detail),
            }
        ]
    )
    assert response["FailedEntryCount"] == 0


def test_eventbridge_lambda_target_receives_the_event(aws: Aws, records_table: str) -> None:
    key = str(uuid.uuid4())
    put_event(aws, "fixture.lambda", {"id": key})
    item = eventually(lambda: aws("dynamodb").get_item(TableName=records_table, Key={"pk": {"S": key}}).get("Item"))
    event = json.loads(item["event"]["S"])
    assert event["source"] == "fixture.lambda"
    assert event["detail-type"] == "Test"
    assert event["detail"] == {"id": key}


def test_eventbridge_step_functions_target_starts_an_execution(
    aws: Aws, outputs: dict[str, str], records_table: str
) -> None:
    key = str(uuid.uuid4())
    put_event(aws, "fixture.sfn", {"id": key})
    item = eventually(lambda: aws("dynamodb").get_item(TableName=records_table, Key={"pk": {"S": key}}).get("Item"))
    assert json.loads(item["event"]["S"])["source"] == "fixture.sfn"


def test_eventbridge_sqs_target_still_works(aws: Aws, outputs: dict[str, str]) -> None:
    key = str(uuid.uuid4())
    put_event(aws, "fixture.sqs", {"id": key})
    sqs = aws("sqs")

    def received() -> bool:
        messages = sqs.receive_message(QueueUrl=outputs["DlqUrl"], MaxNumberOfMessages=10).get("Messages", [])
        return any(key in m["Body"] for m in messages)

    eventually(received)


# --- cfn_physical_ids ----------------------------------------------------------------------------


def test_refs_to_event_bus_deployment_and_layer_are_ids(aws: Aws, outputs: dict[str, str]) -> None:
    function = aws("lambda").get_function(FunctionName=outputs["EchoName"])["Configuration"]
    assert function["Environment"]["Variables"]["EVENT_BUS_NAME"] == "fixture-bus"
    layers = aws("lambda").list_layers()["Layers"]
    assert layers and layers[0]["LatestMatchingVersion"]["LayerVersionArn"].startswith("arn:aws:lambda:")
    api = aws("apigateway").get_rest_apis()["items"][0]
    stage = aws("apigateway").get_stage(restApiId=api["id"], stageName="v1")
    deployments = {d["id"] for d in aws("apigateway").get_deployments(restApiId=api["id"])["items"]}
    assert stage["deploymentId"] in deployments


# --- cfn_resource_types --------------------------------------------------------------------------


def test_cognito_secrets_stage_and_authorizer_resources_exist(aws: Aws, outputs: dict[str, str]) -> None:
    cognito = aws("cognito-idp")
    pool_id = outputs["PoolId"]
    assert cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Id"] == pool_id
    assert [g["GroupName"] for g in cognito.list_groups(UserPoolId=pool_id)["Groups"]] == ["admin"]
    assert cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=10)["UserPoolClients"]
    secret = aws("secretsmanager").get_secret_value(SecretId="fixture/secret")
    assert len(secret["SecretString"]) >= 20
    apigateway = aws("apigateway")
    api = apigateway.get_rest_apis()["items"][0]
    stage = apigateway.get_stage(restApiId=api["id"], stageName="v1")
    assert stage["methodSettings"]["*/*"]["throttlingRateLimit"] == 10.0
    assert stage["methodSettings"]["*/*"]["throttlingBurstLimit"] == 20
    [authorizer] = apigateway.get_authorizers(restApiId=api["id"])["items"]
    assert authorizer["type"] == "COGNITO_USER_POOLS"
    assert authorizer["providerARNs"][0].endswith(pool_id)


def test_unsupported_resource_types_deploy_as_no_ops(cloud: LocalCloud, aws: Aws) -> None:
    template = {
        "Resources": {
            "Meta": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2:deflate64:x"}},
            "Queue": {"Type": "AWS::SQS::Queue"},
            "Policy": {
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {"Queues": [{"Ref": "Queue"}], "PolicyDocument": {"Statement": []}},
            },
            "Account": {"Type": "AWS::ApiGateway::Account", "Properties": {"CloudWatchRoleArn": "arn:x"}},
            "Custom": {"Type": "Custom::Thing", "Properties": {"ServiceToken": "arn:aws:lambda:x"}},
        },
        "Outputs": {
            "PolicyRef": {"Value": {"Ref": "Policy"}},
            "CustomAtt": {"Value": {"Fn::GetAtt": ["Custom", "X"]}},
        },
    }
    from shopstack.localcloud.deploy import Deployer

    outputs = Deployer(cloud.moto_url, REGION, ACCOUNT_ID).create_stack("NoOps", template)
    assert set(outputs) == {"PolicyRef", "CustomAtt"}


# --- cfn_apigateway_method -----------------------------------------------------------------------


def test_methods_keep_their_authorizer(aws: Aws) -> None:
    apigateway = aws("apigateway")
    api = apigateway.get_rest_apis()["items"][0]
    resources = {r["path"]: r for r in apigateway.get_resources(restApiId=api["id"], embed=["methods"])["items"]}
    [authorizer] = apigateway.get_authorizers(restApiId=api["id"])["items"]
    admin = resources["/admin"]["resourceMethods"]["GET"]
    assert admin["authorizationType"] == "COGNITO_USER_POOLS"
    assert admin["authorizerId"] == authorizer["id"]
    echo = resources["/echo"]["resourceMethods"]["GET"]
    assert echo["methodIntegration"]["type"] == "AWS_PROXY"
    assert ":function:" in echo["methodIntegration"]["uri"]


# --- ddb_stream_dispatch_detach, ddb_stream_live_shard --------------------------------------------


def _orders_table(outputs: dict[str, str]) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[ACCOUNT_ID][REGION].tables[outputs["OrdersTableName"]]


def test_a_write_records_its_stream_record_and_invokes_nothing_inline(aws: Aws, outputs: dict[str, str]) -> None:
    table = _orders_table(outputs)
    assert table.lambda_event_source_mappings, "moto no longer registers stream mappings on the table"
    before = len(table.stream_shard.items)
    aws("dynamodb").put_item(
        TableName=outputs["OrdersTableName"], Item={"pk": {"S": f"contract-{uuid.uuid4()}"}, "sk": {"S": "other"}}
    )
    shard = _orders_table(outputs).stream_shard
    assert len(shard.items) == before + 1
    last = shard.items[-1].to_json()
    assert last["eventName"] == "INSERT"
    assert int(last["dynamodb"]["SequenceNumber"]) == shard.starting_sequence_number + before


def _shard_iterator(aws: Aws, outputs: dict[str, str], kind: str = "LATEST") -> str:
    streams = aws("dynamodbstreams")
    shard_id = streams.describe_stream(StreamArn=outputs["OrdersStreamArn"])["StreamDescription"]["Shards"][0][
        "ShardId"
    ]
    iterator: str = streams.get_shard_iterator(
        StreamArn=outputs["OrdersStreamArn"], ShardId=shard_id, ShardIteratorType=kind
    )["ShardIterator"]
    return iterator


def _item(aws: Aws, name: str, pk: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (
        aws("dynamodb")
        .get_item(TableName=name, Key={"pk": {"S": pk}, "sk": {"S": "other"}}, ConsistentRead=True)
        .get("Item")
    )
    return found


def test_a_failed_transaction_leaves_its_items_and_stream_as_they_were(aws: Aws, outputs: dict[str, str]) -> None:
    """ddb_transaction_item_undo: the third of three actions fails its condition; the first two
    (an update of an existing item, a new item) are undone, the table object is the same one, and
    no stream record of the failed transaction is ever read."""
    streams, dynamodb, name = aws("dynamodbstreams"), aws("dynamodb"), outputs["OrdersTableName"]
    existing, new, guard = (f"tx-{uuid.uuid4().hex[:8]}-{n}" for n in ("existing", "new", "guard"))
    dynamodb.put_item(TableName=name, Item={"pk": {"S": existing}, "sk": {"S": "other"}, "n": {"N": "1"}})
    iterator = _shard_iterator(aws, outputs)
    table = _orders_table(outputs)
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException) as failed:
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": name,
                        "Key": {"pk": {"S": existing}, "sk": {"S": "other"}},
                        "UpdateExpression": "SET n = n + :one, extra = :x",
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":x": {"S": "x"}},
                    }
                },
                {"Put": {"TableName": name, "Item": {"pk": {"S": new}, "sk": {"S": "other"}}}},
                {
                    "Put": {
                        "TableName": name,
                        "Item": {"pk": {"S": guard}, "sk": {"S": "other"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    reasons = [r["Code"] for r in failed.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "ConditionalCheckFailed"]
    assert _orders_table(outputs) is table
    assert _item(aws, name, existing) == {"pk": {"S": existing}, "sk": {"S": "other"}, "n": {"N": "1"}}
    assert _item(aws, name, new) is None and _item(aws, name, guard) is None
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "c-real"}, "sk": {"S": "other"}})
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert _ours(records) == ["c-real"]


def test_a_successful_transaction_applies_every_action_once(aws: Aws, outputs: dict[str, str]) -> None:
    dynamodb, name = aws("dynamodb"), outputs["OrdersTableName"]
    first, second = (f"tx-{uuid.uuid4().hex[:8]}-{n}" for n in ("a", "b"))
    iterator = _shard_iterator(aws, outputs)
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": name, "Item": {"pk": {"S": first}, "sk": {"S": "other"}}}},
            {
                "Update": {
                    "TableName": name,
                    "Key": {"pk": {"S": second}, "sk": {"S": "other"}},
                    "UpdateExpression": "SET n = :n",
                    "ExpressionAttributeValues": {":n": {"N": "5"}},
                }
            },
        ]
    )
    assert _item(aws, name, first) is not None and _item(aws, name, second)["n"] == {"N": "5"}  # type: ignore[index]
    records = aws("dynamodbstreams").get_records(ShardIterator=iterator)["Records"]
    assert set(_ours(records)) == {first, second}


def _ours(records: list[dict[str, Any]]) -> list[str]:
    """The keys of the records the test wrote: the fixture's stream consumer, fired by the same
    records, writes a `batches` item per invocation to the table too, and may do so before the read."""
    return [key for r in records if (key := r["dynamodb"]["Keys"]["pk"]["S"]) != "batches"]


def test_a_transaction_naming_one_item_twice_changes_nothing(aws: Aws, outputs: dict[str, str]) -> None:
    dynamodb, name = aws("dynamodb"), outputs["OrdersTableName"]
    key = f"tx-{uuid.uuid4().hex[:8]}"
    with pytest.raises(dynamodb.exceptions.ClientError, match="ValidationException"):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": {"pk": {"S": key}, "sk": {"S": "other"}}}},
                {"Delete": {"TableName": name, "Key": {"pk": {"S": key}, "sk": {"S": "other"}}}},
            ]
        )
    assert _item(aws, name, key) is None


def test_a_transaction_copies_no_table(aws: Aws, outputs: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """moto deep-copied each table a transaction touched (its items, its stream records and the
    mapped functions' code); the hook copies only the touched items."""
    import copy

    from moto.dynamodb.models.table import Table

    copied: list[str] = []
    real = copy.deepcopy

    def watching(value: Any, memo: Any = None) -> Any:
        copied.append(type(value).__name__)
        return real(value, memo)

    monkeypatch.setattr(copy, "deepcopy", watching)
    name = outputs["OrdersTableName"]
    with pytest.raises(aws("dynamodb").exceptions.TransactionCanceledException):
        aws("dynamodb").transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": {"pk": {"S": f"tx-{uuid.uuid4()}"}, "sk": {"S": "other"}}}},
                {
                    "ConditionCheck": {
                        "TableName": name,
                        "Key": {"pk": {"S": "tx-absent"}, "sk": {"S": "other"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    assert Table.__name__ not in copied


def test_stream_records_are_trimmed_once_read_and_never_before(
    aws: Aws, outputs: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the per-shard bound, records every live iterator has read go; an unread one stays."""
    from shopstack.localcloud import dynamodb_hooks

    monkeypatch.setattr(dynamodb_hooks, "MAX_STREAM_RECORDS", 5)
    monkeypatch.setattr(dynamodb_hooks, "TRIM_SLACK", 0)
    streams, dynamodb, name = aws("dynamodbstreams"), aws("dynamodb"), outputs["OrdersTableName"]
    reader = _shard_iterator(aws, outputs)
    keys = [f"trim-{uuid.uuid4().hex[:8]}-{n}" for n in range(12)]
    for key in keys:
        dynamodb.put_item(TableName=name, Item={"pk": {"S": key}, "sk": {"S": "other"}})
    shard = _orders_table(outputs).stream_shard
    assert len(shard.items) >= 12, "a record the reader has not read was trimmed"
    read = streams.get_records(ShardIterator=reader, Limit=100)
    assert [k for r in read["Records"] if (k := r["dynamodb"]["Keys"]["pk"]["S"]) in keys] == keys
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    for iterator in list(dynamodbstreams_backends[ACCOUNT_ID][REGION].shard_iterators.values()):
        if iterator.stream_shard is shard and iterator.sequence_number < shard.starting_sequence_number + len(
            shard.items
        ):
            setattr(iterator, dynamodb_hooks.SUPERSEDED, True)  # other readers of this test module
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "trim-last"}, "sk": {"S": "other"}})
    assert len(shard.items) <= 5
    after = streams.get_records(ShardIterator=read["NextShardIterator"])["Records"]
    assert "trim-last" in [r["dynamodb"]["Keys"]["pk"]["S"] for r in after]


def test_old_shard_iterators_expire(aws: Aws, outputs: dict[str, str]) -> None:
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    streams = aws("dynamodbstreams")
    shard_id = streams.describe_stream(StreamArn=outputs["OrdersStreamArn"])["StreamDescription"]["Shards"][0][
        "ShardId"
    ]
    iterator = streams.get_shard_iterator(
        StreamArn=outputs["OrdersStreamArn"], ShardId=shard_id, ShardIteratorType="LATEST"
    )["ShardIterator"]
    streams.get_records(ShardIterator=iterator)
    assert len(dynamodbstreams_backends[ACCOUNT_ID][REGION].shard_iterators) <= hooks.MAX_SHARD_ITERATORS


# --- ses_capture_bodies --------------------------------------------------------------------------


def test_ses_keeps_both_bodies_where_moto_keeps_one(aws: Aws) -> None:
    from moto.ses.models import ses_backends

    sent = aws("ses").send_email(
        Source="orders@shop.example",
        Destination={"ToAddresses": ["contract@example.com"]},
        Message={
            "Subject": {"Data": "Both"},
            "Body": {"Text": {"Data": "plain"}, "Html": {"Data": "<p>rich</p>"}},
        },
    )
    [message] = [m for m in ses_backends[ACCOUNT_ID][REGION].sent_messages if m.id == sent["MessageId"]]
    assert message.body == "<p>rich</p>"
    assert (message.local_text, message.local_html) == ("plain", "<p>rich</p>")
    assert message.local_sent_at.endswith("Z")


# --- events_replay -------------------------------------------------------------------------------


def test_a_replay_sends_only_the_range_to_the_rules_asked_and_never_back_into_the_archive(
    aws: Aws, records_table: str
) -> None:
    from datetime import UTC, datetime, timedelta

    events = aws("events")
    bus = events.describe_event_bus(Name="fixture-bus")
    archive = f"fixture-{uuid.uuid4().hex[:8]}"
    arn = events.create_archive(ArchiveName=archive, EventSourceArn=bus["Arn"])["ArchiveArn"]
    now = datetime.now(UTC)
    keys = {when: str(uuid.uuid4()) for when in ("before", "inside", "after")}
    times = {"before": now - timedelta(hours=3), "inside": now - timedelta(hours=2), "after": now - timedelta(hours=1)}
    for when, key in keys.items():
        entry = {"EventBusName": "fixture-bus", "Source": "fixture.lambda", "DetailType": "Test"}
        events.put_events(Entries=[{**entry, "Detail": json.dumps({"id": key}), "Time": times[when]}])
    records = aws("dynamodb")

    def event_of(key: str) -> dict[str, Any] | None:
        item = records.get_item(TableName=records_table, Key={"pk": {"S": key}}).get("Item")
        return json.loads(item["event"]["S"]) if item else None

    for key in keys.values():
        eventually(lambda key=key: event_of(key))
    archived = events.describe_archive(ArchiveName=archive)["EventCount"]
    assert archived == 3
    lambda_rule = next(
        r["Arn"] for r in events.list_rules(EventBusName="fixture-bus")["Rules"] if "ToLambda" in r["Name"]
    )
    events.start_replay(
        ReplayName=f"r-{archive}",
        EventSourceArn=arn,
        EventStartTime=times["inside"] - timedelta(minutes=1),
        EventEndTime=times["after"] - timedelta(minutes=1),
        Destination={"Arn": bus["Arn"], "FilterArns": [lambda_rule]},
    )
    eventually(lambda: (event_of(keys["inside"]) or {}).get("replay-name") == f"r-{archive}")
    assert "replay-name" not in (event_of(keys["before"]) or {}) and "replay-name" not in (
        event_of(keys["after"]) or {}
    )
    assert events.describe_archive(ArchiveName=archive)["EventCount"] == archived, "replays are not archived again"
