"""ShopstackOrders: Orders table, fulfilment queue, OrderTasks function, OrderWorkflow."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.components import OnDemandTable, QueueWithDeadLetter, ServiceFunction
from infra.settings import Settings

TASK_TIMEOUT = Duration.seconds(30)
LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]


class OrdersStack(Stack):
    """Order workflow, tasks and fulfilment."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        layer: lambda_.ILayerVersion,
        event_bus: events.IEventBus,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, description="shopstack: orders service", **kwargs)

        self.orders_table = OnDemandTable(
            self, "Orders", partition_key="pk", sort_key="sk", removal_policy=settings.removal_policy
        ).table

        fulfilment = QueueWithDeadLetter(self, "Fulfilment", consumer_timeout=TASK_TIMEOUT)
        self.fulfilment_queue = fulfilment.queue
        self.fulfilment_dlq = fulfilment.dlq

        self.tasks_function = ServiceFunction(
            self,
            "OrderTasks",
            service="orders",
            handler="orders.entrypoints.tasks.handler",
            description="shopstack orders: Step Functions tasks of the order workflow",
            timeout=TASK_TIMEOUT,
            layers=[layer],
            log_retention=settings.log_retention,
            environment={
                "ORDERS_TABLE": self.orders_table.table_name,
                "EVENT_BUS_NAME": event_bus.event_bus_name,
            },
        ).function

        self.workflow = self._workflow(settings)

        CfnOutput(self, "OrdersTableName", value=self.orders_table.table_name)
        CfnOutput(self, "OrderWorkflowArn", value=self.workflow.state_machine_arn)
        CfnOutput(self, "FulfilmentQueueUrl", value=self.fulfilment_queue.queue_url)

    def _task(self, state_id: str, task: str, *, on_error: sfn.IChainable) -> tasks.LambdaInvoke:
        """A call of OrderTasks with `{"task": task, "orderId": $.orderId}`, retried and caught."""
        step = tasks.LambdaInvoke(
            self,
            state_id,
            lambda_function=self.tasks_function,
            payload=sfn.TaskInput.from_object({"task": task, "orderId": sfn.JsonPath.string_at("$.orderId")}),
            retry_on_service_exceptions=False,
            output_path="$.Payload",
            task_timeout=sfn.Timeout.duration(TASK_TIMEOUT),
        )
        step.add_retry(
            errors=LAMBDA_SERVICE_ERRORS,
            interval=Duration.seconds(2),
            max_attempts=6,
            backoff_rate=2,
        )
        step.add_catch(on_error, errors=[sfn.Errors.ALL], result_path="$.error")
        return step

    def _workflow(self, settings: Settings) -> sfn.StateMachine:
        failed = sfn.Fail(
            self,
            "OrderFailed",
            comment="Ends the execution with the failing task's own error and cause",
            error_path="$.error.Error",
            cause_path="$.error.Cause",
        )
        load_order = self._task("LoadOrder", "load_order", on_error=failed)
        definition = load_order.next(sfn.Succeed(self, "Done"))

        log_group = logs.LogGroup(
            self,
            "OrderWorkflowLogs",
            log_group_name=f"/aws/vendedlogs/states/shopstack-{settings.stage}-OrderWorkflow",
            retention=settings.log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        return sfn.StateMachine(
            self,
            "OrderWorkflow",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=Duration.days(1),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
