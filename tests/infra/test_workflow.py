"""The OrderWorkflow's ASL, as synthesized into the template."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.conftest import Synthesized

LAMBDA_SERVICE_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}


def _render(value: Any) -> str:
    """DefinitionString with its Fn::Join / intrinsic parts replaced by placeholders."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_render(part) for part in parts)
    return "ARN_PLACEHOLDER"


@pytest.fixture(scope="module")
def asl(synthesized: Synthesized) -> dict[str, Any]:
    machine = next(
        iter(synthesized.resources("ShopstackOrders", "AWS::StepFunctions::StateMachine").values())
    )
    definition: dict[str, Any] = json.loads(_render(machine["Properties"]["DefinitionString"]))
    return definition


def test_asl_is_json_with_start_at(asl: dict[str, Any]) -> None:
    assert asl["StartAt"] in asl["States"]
    for state in asl["States"].values():
        target = state.get("Next")
        assert target is None or target in asl["States"]


def test_load_order_task(asl: dict[str, Any]) -> None:
    assert asl["StartAt"] == "LoadOrder"
    task = asl["States"]["LoadOrder"]
    assert task["Type"] == "Task"
    assert task["Resource"].endswith(":states:::lambda:invoke")
    assert task["Parameters"]["Payload"] == {"task": "load_order", "orderId.$": "$.orderId"}
    assert asl["States"][task["Next"]]["Type"] == "Succeed"


def test_every_task_retries_lambda_errors_and_catches_all(asl: dict[str, Any]) -> None:
    tasks = [state for state in asl["States"].values() if state["Type"] == "Task"]
    assert tasks
    for task in tasks:
        retried = {error for retry in task.get("Retry", []) for error in retry["ErrorEquals"]}
        assert retried >= LAMBDA_SERVICE_ERRORS
        assert all(retry.get("BackoffRate", 1) > 1 for retry in task["Retry"])
        catchers = task.get("Catch", [])
        assert any("States.ALL" in c["ErrorEquals"] for c in catchers)
        for catcher in catchers:
            assert asl["States"][catcher["Next"]]["Type"] == "Fail"
