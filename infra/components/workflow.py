"""Step Functions building blocks shared by the service workflows: Lambda tasks and logged machines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
"""Transient Lambda service errors, retried with backoff; the function's own errors are not."""


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

    Lambda service errors are retried (2 s, doubling, 6 attempts); any other error is caught into
    `$.error` and handed to `on_error`.
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
    step.add_retry(errors=LAMBDA_SERVICE_ERRORS, interval=Duration.seconds(2), max_attempts=6, backoff_rate=2)
    step.add_catch(on_error, errors=[sfn.Errors.ALL], result_path="$.error")
    return step


def failure(scope: Construct, state_id: str) -> sfn.Fail:
    """A Fail state that ends the execution with the caught error and cause (`$.error`)."""
    return sfn.Fail(
        scope,
        state_id,
        comment="Ends the execution with the failing task's own error and cause",
        error_path="$.error.Error",
        cause_path="$.error.Cause",
    )


def logged_state_machine(
    scope: Construct,
    construct_id: str,
    *,
    stage: str,
    definition: sfn.IChainable,
    timeout: Duration,
    log_retention: logs.RetentionDays,
) -> sfn.StateMachine:
    """A Standard state machine with X-Ray tracing and ALL-level logs (no execution data).

    Its log group is `/aws/vendedlogs/states/shopstack-<stage>-<construct_id>`.
    """
    log_group = logs.LogGroup(
        scope,
        f"{construct_id}Logs",
        log_group_name=f"/aws/vendedlogs/states/shopstack-{stage}-{construct_id}",
        retention=log_retention,
        removal_policy=RemovalPolicy.DESTROY,
    )
    return sfn.StateMachine(
        scope,
        construct_id,
        state_machine_type=sfn.StateMachineType.STANDARD,
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        timeout=timeout,
        tracing_enabled=True,
        logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
    )
