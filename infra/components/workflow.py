"""Step Functions building blocks shared by the service workflows: Lambda tasks and logged machines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra import names

LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
"""Transient Lambda service errors, retried with backoff; the function's own errors are not."""

TRANSIENT_ERROR = "TransientError"
"""The error name a task function raises for a failure worth retrying (throttling, timeouts)."""
EXECUTION_INPUT = sfn.JsonPath.object_at("$$.Execution.Input")
"""Every task gets its execution's input as `execution`: the order's correlation id rides there
(a missing key in it is no error, where a JSONPath to the key itself would fail the state)."""


def add_retries(step: sfn.TaskStateBase, *, transient_errors: Sequence[str] = ()) -> None:
    """Retry Lambda service errors (2 s, doubling, 6 attempts) and then `transient_errors` (2 s, doubling, 4)."""
    step.add_retry(errors=LAMBDA_SERVICE_ERRORS, interval=Duration.seconds(2), max_attempts=6, backoff_rate=2)
    if transient_errors:
        step.add_retry(errors=list(transient_errors), interval=Duration.seconds(2), max_attempts=4, backoff_rate=2)


def lambda_task(
    scope: Construct,
    state_id: str,
    *,
    function: lambda_.IFunction,
    payload: Mapping[str, Any],
    timeout: Duration,
    on_error: sfn.IChainable,
) -> tasks.LambdaInvoke:
    """A Lambda invocation whose result (`$.Payload`) is the state's output.

    Lambda service errors are retried (2 s, doubling, 6 attempts), then `TransientError` (a
    dependency still busy after the function's own retries: 2 s, doubling, 4); any other error is
    caught into `$.error` and handed to `on_error`.
    """
    step = tasks.LambdaInvoke(
        scope,
        state_id,
        lambda_function=function,
        payload=sfn.TaskInput.from_object(dict(payload)),
        retry_on_service_exceptions=False,
        output_path="$.Payload",
        task_timeout=sfn.Timeout.duration(timeout),
    )
    add_retries(step, transient_errors=[TRANSIENT_ERROR])
    step.add_catch(on_error, errors=[sfn.Errors.ALL], result_path="$.error")
    return step


def effect_task(
    scope: Construct,
    state_id: str,
    *,
    function: lambda_.IFunction,
    payload: Mapping[str, Any],
    timeout: Duration,
    on_error: sfn.IChainable,
    error_path: str = "$.error",
) -> tasks.LambdaInvoke:
    """A Lambda invocation run for its effect: the input passes through unchanged (`ResultPath: null`).

    The function is the state's resource (its response is not wrapped), Lambda service errors and
    `TransientError` are retried with backoff, and any other error is caught into `error_path` and
    handed to `on_error`.
    """
    step = tasks.LambdaInvoke(
        scope,
        state_id,
        lambda_function=function,
        payload=sfn.TaskInput.from_object(dict(payload)),
        payload_response_only=True,
        retry_on_service_exceptions=False,
        result_path=sfn.JsonPath.DISCARD,
        task_timeout=sfn.Timeout.duration(timeout),
    )
    add_retries(step, transient_errors=[TRANSIENT_ERROR])
    step.add_catch(on_error, errors=[sfn.Errors.ALL], result_path=error_path)
    return step


def failure(scope: Construct, state_id: str, *, error_path: str = "$.error", comment: str | None = None) -> sfn.Fail:
    """A Fail state that ends the execution with the caught error and cause (at `error_path`)."""
    return sfn.Fail(
        scope,
        state_id,
        comment=comment or "Ends the execution with the failing task's own error and cause",
        error_path=f"{error_path}.Error",
        cause_path=f"{error_path}.Cause",
    )


def logged_state_machine(
    scope: Construct,
    construct_id: str,
    *,
    stage: str,
    definition: sfn.IChainable,
    timeout: Duration,
    log_retention: logs.RetentionDays,
    express: bool = False,
) -> sfn.StateMachine:
    """A state machine with X-Ray tracing and ALL-level logs (no execution data): Standard, or
    Express when `express` (at-least-once, at most 5 minutes, billed per request and duration
    instead of per transition; its history exists only in these logs).

    It is named `shopstack-<stage>-<construct_id>` (other stacks find it by that name) and its log
    group is `/aws/vendedlogs/states/shopstack-<stage>-<construct_id>`.
    """
    name = names.resource_name(stage, construct_id)
    log_group = logs.LogGroup(
        scope,
        f"{construct_id}Logs",
        log_group_name=f"/aws/vendedlogs/states/{name}",
        retention=log_retention,
        removal_policy=RemovalPolicy.DESTROY,
    )
    return sfn.StateMachine(
        scope,
        construct_id,
        state_machine_name=name,
        state_machine_type=sfn.StateMachineType.EXPRESS if express else sfn.StateMachineType.STANDARD,
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        timeout=timeout,
        tracing_enabled=True,
        logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
    )
