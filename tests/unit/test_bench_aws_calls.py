"""The pure parts of bench.aws_calls and its call recorder: the workflow walked from its
definition, each task's payload built as Step Functions builds it, Stripe paths without ids, the
report's entries, and AWS calls counted (and stubbed) with botocore's own event hooks."""

from __future__ import annotations

import json
from typing import Any

import boto3

from bench.aws_calls import (
    Counted,
    Started,
    Workflow,
    build_parameters,
    happy_path,
    report_entry,
    resolve_path,
    set_path,
    stripe_call,
    task_target,
    workflow_entry,
)
from bench.inprocess import AwsCallRecorder, CallLog

TASKS_ARN = "arn:aws:lambda:us-east-1:123456789012:function:tasks"
RETRY = [{"ErrorEquals": ["TransientError"], "MaxAttempts": 4}]


def direct_task(task: str, following: str | None) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": TASKS_ARN,
        "Parameters": {"task": task, "orderId.$": "$.orderId", "execution.$": "$$.Execution.Input"},
        "ResultPath": None,
        "Retry": RETRY,
    }
    return {**state, "Next": following} if following else {**state, "End": True}


DEFINITION: dict[str, Any] = {
    "StartAt": "Capture",
    "States": {
        "Capture": {
            **direct_task("capture_payment", "Invoice"),
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
        },
        "Invoice": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": TASKS_ARN, "Payload": {"task": "issue_invoice", "orderId.$": "$.orderId"}},
            "ResultPath": "$.invoice",
            "Next": "Paid?",
        },
        "Paid?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.paid", "BooleanEquals": False, "Next": "Failed"}],
            "Default": "Confirm",
        },
        "Confirm": direct_task("confirm_order", "Done"),
        "Done": {"Type": "Succeed"},
        "Failed": {"Type": "Fail"},
    },
}


def test_the_happy_path_follows_next_and_a_choice_default_to_the_end() -> None:
    assert [name for name, _ in happy_path(DEFINITION)] == ["Capture", "Invoice", "Paid?", "Confirm", "Done"]


def test_parallel_branches_are_walked_in_turn() -> None:
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "A", "States": {"A": direct_task("commit_stock", None)}},
                    {"StartAt": "B", "States": {"B": direct_task("request_fulfilment", None)}},
                ],
                "End": True,
            }
        },
    }
    assert [name for name, _ in happy_path(definition)] == ["A", "B"]


def test_paths_read_the_state_input_and_the_execution_input() -> None:
    data = {"orderId": "o-1", "nested": {"x": 2}}
    execution = {"orderId": "o-1", "correlationId": "c-1"}
    assert resolve_path("$.orderId", data, execution) == "o-1"
    assert resolve_path("$.nested.x", data, execution) == 2
    assert resolve_path("$", data, execution) == data
    assert resolve_path("$$.Execution.Input", data, execution) == execution
    assert resolve_path("$$.Execution.Input.correlationId", data, execution) == "c-1"
    assert resolve_path("$.missing", data, execution) is None


def test_parameters_fill_their_dollar_keys_and_keep_the_rest() -> None:
    template = {"task": "capture_payment", "orderId.$": "$.orderId", "inner": [{"exec.$": "$$.Execution.Input"}]}
    built = build_parameters(template, {"orderId": "o-1"}, {"orderId": "o-1"})
    assert built == {"task": "capture_payment", "orderId": "o-1", "inner": [{"exec": {"orderId": "o-1"}}]}


def test_a_task_invokes_its_resource_or_the_function_of_lambda_invoke() -> None:
    assert task_target(DEFINITION["States"]["Capture"])[0] == TASKS_ARN
    arn, payload = task_target(DEFINITION["States"]["Invoice"])
    assert arn == TASKS_ARN
    assert payload == {"task": "issue_invoice", "orderId.$": "$.orderId"}


def test_result_paths_keep_replace_or_nest() -> None:
    assert set_path({"a": 1}, None, {"r": 2}) == {"a": 1}
    assert set_path({"a": 1}, "$", {"r": 2}) == {"r": 2}
    assert set_path({"a": 1}, "$.out.x", 5) == {"a": 1, "out": {"x": 5}}


def test_the_workflow_invokes_each_task_in_order_with_its_payload() -> None:
    seen: list[tuple[str, Any]] = []

    def invoke(arn: str, payload: Any) -> Any:
        seen.append((arn, payload))
        return {"ok": True}

    steps = list(Workflow("arn:wf", DEFINITION).run({"orderId": "o-1"}, invoke))
    assert [name for name, _, _ in steps] == ["Capture", "Invoice", "Confirm"]
    assert [payload["task"] for _, payload in seen] == ["capture_payment", "issue_invoice", "confirm_order"]
    assert seen[0] == (
        TASKS_ARN,
        {"task": "capture_payment", "orderId": "o-1", "execution": {"orderId": "o-1"}},
    )


def test_stripe_requests_are_named_without_their_ids() -> None:
    assert stripe_call("post", "http://127.0.0.1:1/v1/payment_intents") == "POST payment_intents"
    assert (
        stripe_call("post", "http://127.0.0.1:1/v1/payment_intents/pi_3AbC123/capture?expand=x")
        == "POST payment_intents/{id}/capture"
    )


def test_an_entry_counts_calls_by_operation() -> None:
    entry = report_entry(
        [("dynamodb", "GetItem"), ("dynamodb", "GetItem"), ("sqs", "SendMessage")], ["POST x"], 2, "why"
    )
    assert entry["measured"] == 3
    assert entry["minimum"] == 2
    assert entry["calls"] == {"dynamodb.GetItem": 2, "sqs.SendMessage": 1}
    assert entry["stripe_calls"] == 1


def test_the_workflow_entry_sums_its_tasks_and_their_minimums() -> None:
    capture = Counted(CallLog(calls=[("dynamodb", "GetItem"), ("dynamodb", "TransactWriteItems")]), ["POST c"])
    confirm = Counted(CallLog(calls=[("dynamodb", "GetItem")] * 2 + [("dynamodb", "TransactWriteItems")]))
    entry = workflow_entry(
        [("Capture", {"task": "capture_payment"}, capture), ("Confirm", {"task": "confirm_order"}, confirm)]
    )
    assert entry["measured"] == 5
    assert entry["minimum"] == 4
    assert entry["stripe_calls"] == 1
    assert entry["tasks"]["Confirm"]["measured"] == 3
    assert entry["tasks"]["Confirm"]["minimum"] == 2
    assert "read again after the change" in entry["tasks"]["Confirm"]["why"]
    assert "Above it" not in entry["tasks"]["Capture"]["why"]


def _client() -> Any:
    return boto3.client(
        "stepfunctions",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="unit",
        aws_secret_access_key="unit",
    )


def test_calls_are_counted_and_a_stubbed_start_never_leaves_the_process() -> None:
    recorder = AwsCallRecorder()
    started = Started()
    recorder.stubs = {"StartExecution": started}
    client = _client()
    recorder.attach(client)
    with recorder.recording() as log:
        answer = client.start_execution(
            stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:Orders",
            name="o-1",
            input=json.dumps({"orderId": "o-1"}),
        )
    assert log.calls == [("stepfunctions", "StartExecution")]
    assert log.sends == 0
    assert answer["executionArn"].endswith(":execution:Orders:o-1")
    assert json.loads(started.starts[0]["input"]) == {"orderId": "o-1"}
