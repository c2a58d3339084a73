"""The order workflow's ASL, as synthesized into the template (the only state machine: the
reservation expiry is a delayed SQS message, see tests/infra/test_checkout.py)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.infra.conftest import Synthesized

LAMBDA_SERVICE_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
FORWARD_TASKS = ["CapturePayment", "CommitStock", "IssueInvoice", "RequestFulfilment", "ConfirmOrder"]
COMPENSATION_TASKS = ["Compensate"]


def _render(value: Any) -> str:
    """DefinitionString with its Fn::Join / intrinsic parts replaced by placeholders."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_render(part) for part in parts)
    return "ARN_PLACEHOLDER"


def _definition(synthesized: Synthesized, stack: str) -> dict[str, Any]:
    (machine,) = synthesized.resources(stack, "AWS::StepFunctions::StateMachine").values()
    definition: dict[str, Any] = json.loads(_render(machine["Properties"]["DefinitionString"]))
    return definition


@pytest.fixture(scope="module")
def asl(synthesized: Synthesized) -> dict[str, Any]:
    return _definition(synthesized, "ShopstackOrders")


@pytest.fixture(scope="module")
def order_workflow(synthesized: Synthesized) -> dict[str, Any]:
    return _definition(synthesized, "ShopstackOrders")


def _follow(states: dict[str, Any], start: str) -> list[str]:
    """State names from `start` along `Next` until a state without one."""
    path = [start]
    while "Next" in states[path[-1]]:
        path.append(states[path[-1]]["Next"])
    return path


def _catch_target(task: dict[str, Any]) -> tuple[str, str]:
    (catcher,) = task["Catch"]
    assert catcher["ErrorEquals"] == ["States.ALL"]
    return catcher["Next"], catcher["ResultPath"]


def _assert_invokes(synthesized: Synthesized, stack: str, handler: str) -> None:
    (machine,) = synthesized.resources(stack, "AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    targets = [part["Fn::GetAtt"][0] for part in parts if isinstance(part, dict) and "Fn::GetAtt" in part]
    functions = synthesized.resources(stack, "AWS::Lambda::Function")
    assert targets and all(functions[target]["Properties"]["Handler"] == handler for target in targets)


def test_asl_is_json_with_start_at(asl: dict[str, Any]) -> None:
    assert asl["StartAt"] in asl["States"]
    for state in asl["States"].values():
        target = state.get("Next")
        assert target is None or target in asl["States"]
        for catcher in state.get("Catch", []):
            assert catcher["Next"] in asl["States"]


def test_every_task_retries_lambda_errors_and_catches_all(asl: dict[str, Any]) -> None:
    tasks = [state for state in asl["States"].values() if state["Type"] == "Task"]
    assert tasks
    for task in tasks:
        retried = {error for retry in task.get("Retry", []) for error in retry["ErrorEquals"]}
        assert retried >= LAMBDA_SERVICE_ERRORS
        assert all(retry.get("BackoffRate", 1) > 1 for retry in task["Retry"])
        assert any("States.ALL" in catcher["ErrorEquals"] for catcher in task.get("Catch", []))


def test_every_fail_state_reports_the_caught_error(asl: dict[str, Any]) -> None:
    fails = [state for state in asl["States"].values() if state["Type"] == "Fail"]
    assert fails
    for state in fails:
        source = state["ErrorPath"].removesuffix(".Error")
        assert source in {"$.error", "$.compensationError"}
        assert state["CausePath"] == f"{source}.Cause"


def test_order_workflow_happy_path(order_workflow: dict[str, Any]) -> None:
    states = order_workflow["States"]
    assert _follow(states, order_workflow["StartAt"]) == [*FORWARD_TASKS, "Done"]
    assert states["Done"]["Type"] == "Succeed"
    assert order_workflow["TimeoutSeconds"] == 300, "Express: at most 5 minutes"


def test_order_workflow_task_payloads(order_workflow: dict[str, Any]) -> None:
    tasks = {name: state for name, state in order_workflow["States"].items() if state["Type"] == "Task"}
    assert set(tasks) == {*FORWARD_TASKS, *COMPENSATION_TASKS}
    for name, task in tasks.items():
        expected = {
            "task": re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower(),
            "orderId.$": "$.orderId",
            "execution.$": "$$.Execution.Input",  # the execution input: its correlationId, when it has one
        }
        if name == "Compensate":
            expected |= {"outcome.$": "$.outcome", "error.$": "$.error"}
        assert task["Parameters"] == expected, name
        assert task["ResultPath"] is None, name
        assert "OutputPath" not in task and "ResultSelector" not in task, name
        assert task["Resource"] == "ARN_PLACEHOLDER", "the function itself: its response is not wrapped"
        assert task["TimeoutSeconds"] == 30


def test_order_workflow_tasks_retry_service_and_transient_errors(order_workflow: dict[str, Any]) -> None:
    for name, task in order_workflow["States"].items():
        if task["Type"] != "Task":
            continue
        service, transient = task["Retry"]
        assert set(service["ErrorEquals"]) == LAMBDA_SERVICE_ERRORS, name
        assert service["IntervalSeconds"] == 2 and service["BackoffRate"] == 2
        assert transient == {
            "ErrorEquals": ["TransientError"],
            "IntervalSeconds": 2,
            "MaxAttempts": 4,
            "BackoffRate": 2,
        }


def test_order_workflow_catches_into_outcomes_then_compensates(order_workflow: dict[str, Any]) -> None:
    states = order_workflow["States"]
    assert _catch_target(states["CapturePayment"]) == ("PaymentFailedOutcome", "$.error")
    for name in FORWARD_TASKS[1:]:
        assert _catch_target(states[name]) == ("CancelledOutcome", "$.error"), name
    for name, outcome in (("PaymentFailedOutcome", "PAYMENT_FAILED"), ("CancelledOutcome", "CANCELLED")):
        state = states[name]
        assert state["Type"] == "Pass"
        assert state["Result"] == outcome and state["ResultPath"] == "$.outcome"
        assert _follow(states, name) == [name, "Compensate", "Failed"]
    failed = states["Failed"]
    assert (failed["Type"], failed["ErrorPath"], failed["CausePath"]) == ("Fail", "$.error.Error", "$.error.Cause")


def test_order_workflow_compensations_fail_into_compensation_failed(order_workflow: dict[str, Any]) -> None:
    states = order_workflow["States"]
    for name in COMPENSATION_TASKS:
        assert _catch_target(states[name]) == ("CompensationFailed", "$.compensationError"), name
    failed = states["CompensationFailed"]
    assert failed["Type"] == "Fail"
    assert (failed["ErrorPath"], failed["CausePath"]) == ("$.compensationError.Error", "$.compensationError.Cause")
    terminal = {name for name, state in states.items() if state["Type"] in {"Succeed", "Fail"}}
    assert terminal == {"Done", "Failed", "CompensationFailed"}


def test_order_workflow_invokes_order_tasks(synthesized: Synthesized) -> None:
    _assert_invokes(synthesized, "ShopstackOrders", "orders.entrypoints.tasks.handler")
