"""Events and the workflow through the real local services: EventBridge -> SQS -> Lambda, and
the Step Functions ASL that CDK synthesized, executing Lambda tasks."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from shopstack.harness import LocalCloud
from shopstack.waiting import eventually

pytestmark = pytest.mark.integration


def _physical(aws: Any, resource_type: str, logical_prefix: str) -> str:
    cfn = aws("cloudformation")
    for stack in cfn.describe_stacks()["Stacks"]:
        for res in cfn.list_stack_resources(StackName=stack["StackName"])["StackResourceSummaries"]:
            if res["ResourceType"] == resource_type and res["LogicalResourceId"].startswith(logical_prefix):
                return str(res["PhysicalResourceId"])
    raise AssertionError(f"no {resource_type} {logical_prefix}* deployed")


def _drained(aws: Any, queue_url: str) -> bool:
    """No message waiting or in flight on the queue."""
    attributes = aws("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return not any(int(v) for v in attributes.values())


def _counter(aws: Any, name: str) -> Any:
    table = _physical(aws, "AWS::DynamoDB::Table", "Analytics")
    key = {"pk": {"S": f"DAY#{datetime.now(UTC).date().isoformat()}"}, "sk": {"S": f"EVENT#{name}"}}

    def count() -> int:
        item = aws("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return int(item["count"]["N"]) if item else 0

    return count


def test_product_updates_reach_analytics(cloud: LocalCloud, admin_token: str, aws: Any) -> None:
    count = _counter(aws, "ProductUpdated")
    before = count()
    sku = "EV-" + uuid.uuid4().hex[:10].upper()
    body = {"name": "Evented", "category": "events", "price": {"amount": 500, "currency": "usd"}}
    assert cloud.request("PUT", f"/admin/products/{sku}", body=body, token=admin_token).status == 200
    eventually(lambda: count() > before, timeout=30, interval=0.25, what="ProductUpdated reaching analytics")


def test_a_redelivered_event_is_counted_once(aws: Any, outputs: dict[str, str]) -> None:
    name = "Probe" + uuid.uuid4().hex[:8]
    count = _counter(aws, name)
    detail = {
        "id": uuid.uuid4().hex,
        "occurredAt": datetime.now(UTC).isoformat(),
        "data": {},
        "metadata": {"correlationId": "test"},
    }
    entry = {
        "EventBusName": outputs["EventBusName"],
        "Source": "shopstack.tests",
        "DetailType": name,
        "Detail": json.dumps(detail),
    }
    for _ in range(3):
        assert aws("events").put_events(Entries=[entry])["FailedEntryCount"] == 0
    eventually(lambda: count() >= 1, timeout=30, interval=0.25)
    queue = outputs["AnalyticsQueueUrl"]  # put_events queued all three: once it is drained, all are handled
    eventually(lambda: _drained(aws, queue), timeout=30, interval=0.25)
    assert count() == 1


def test_the_workflow_fails_an_unknown_order_with_the_tasks_own_error(cloud: LocalCloud, aws: Any) -> None:
    sfn = aws("stepfunctions")
    machine = _physical(aws, "AWS::StepFunctions::StateMachine", "OrderWorkflow")
    name = f"no-such-order-{uuid.uuid4().hex[:8]}"
    missing = sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps({"orderId": "no-such-order"}))
    with pytest.raises(sfn.exceptions.StateMachineTypeNotSupported):  # Express: its history is in its logs
        sfn.describe_execution(executionArn=missing["executionArn"])

    def finished() -> Any:
        (execution,) = cloud.executions(name)
        return execution if execution["status"] != "RUNNING" else None

    failed = eventually(finished, timeout=30, interval=0.25)
    assert failed["status"] == "FAILED"
    assert "OrderNotFound" in json.dumps(failed, default=str)
