"""The deployed state machine executes its ASL; its Lambda tasks run in the worker pool."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from shopstack.waiting import eventually

Aws = Callable[[str], Any]


def test_a_named_execution_runs_lambda_tasks_through_the_pool(
    aws: Aws, outputs: dict[str, str], records_table: str
) -> None:
    sfn = aws("stepfunctions")
    key = f"order-{uuid.uuid4()}"
    started = sfn.start_execution(
        stateMachineArn=outputs["WorkflowArn"], name=key, input=json.dumps({"value": 41, "id": key})
    )
    assert started["executionArn"].endswith(f":{key}")

    def finished() -> dict[str, Any] | None:
        execution: dict[str, Any] = sfn.describe_execution(executionArn=started["executionArn"])
        return None if execution["status"] == "RUNNING" else execution

    execution = eventually(finished)
    assert execution["status"] == "SUCCEEDED", execution
    item = aws("dynamodb").get_item(TableName=records_table, Key={"pk": {"S": key}})["Item"]
    assert json.loads(item["event"]["S"]) == {"value": 42, "id": key}
