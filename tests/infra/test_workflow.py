"""The state machines' ASL (OrderWorkflow, ReservationExpiry), as synthesized into the templates."""

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


def _definition(synthesized: Synthesized, stack: str) -> dict[str, Any]:
    (machine,) = synthesized.resources(stack, "AWS::StepFunctions::StateMachine").values()
    definition: dict[str, Any] = json.loads(_render(machine["Properties"]["DefinitionString"]))
    return definition


@pytest.fixture(scope="module", params=["ShopstackOrders", "ShopstackCheckout"])
def asl(synthesized: Synthesized, request: pytest.FixtureRequest) -> dict[str, Any]:
    return _definition(synthesized, request.param)


@pytest.fixture(scope="module")
def reservation_expiry(synthesized: Synthesized) -> dict[str, Any]:
    return _definition(synthesized, "ShopstackCheckout")


def test_asl_is_json_with_start_at(asl: dict[str, Any]) -> None:
    assert asl["StartAt"] in asl["States"]
    for state in asl["States"].values():
        target = state.get("Next")
        assert target is None or target in asl["States"]


def test_load_order_task(synthesized: Synthesized) -> None:
    asl = _definition(synthesized, "ShopstackOrders")
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


def test_every_fail_state_reports_the_caught_error(asl: dict[str, Any]) -> None:
    fails = [state for state in asl["States"].values() if state["Type"] == "Fail"]
    assert fails
    for state in fails:
        assert state["ErrorPath"] == "$.error.Error"
        assert state["CausePath"] == "$.error.Cause"


def test_reservation_expiry_waits_then_expires(reservation_expiry: dict[str, Any]) -> None:
    states = reservation_expiry["States"]
    wait = states[reservation_expiry["StartAt"]]
    assert wait["Type"] == "Wait"
    assert wait["SecondsPath"] == "$.expiresInSeconds"
    assert wait["Next"] == "ExpireReservation"
    task = states["ExpireReservation"]
    assert task["Type"] == "Task"
    assert task["Resource"].endswith(":states:::lambda:invoke")
    assert task["Parameters"]["Payload"] == {"task": "expire_reservation", "orderId.$": "$.orderId"}
    assert {state["Type"] for state in states.values()} == {"Wait", "Task", "Succeed", "Fail"}
    assert states[task["Next"]]["Type"] == "Succeed"
    assert reservation_expiry["TimeoutSeconds"] > 900


def test_reservation_expiry_invokes_checkout_tasks(synthesized: Synthesized) -> None:
    (machine,) = synthesized.resources("ShopstackCheckout", "AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    targets = [part["Fn::GetAtt"][0] for part in parts if isinstance(part, dict) and "Fn::GetAtt" in part]
    functions = synthesized.resources("ShopstackCheckout", "AWS::Lambda::Function")
    assert targets and all(
        functions[target]["Properties"]["Handler"] == "checkout.entrypoints.tasks.handler" for target in targets
    )
