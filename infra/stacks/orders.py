"""ShopstackOrders: Orders table, fulfilment queue, OrderTasks function, OrderWorkflow."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.components import OnDemandTable, QueueWithDeadLetter, ServiceFunction
from infra.components.workflow import failure, lambda_task, logged_state_machine
from infra.settings import Settings

TASK_TIMEOUT = Duration.seconds(30)


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

    def _workflow(self, settings: Settings) -> sfn.StateMachine:
        failed = failure(self, "OrderFailed")
        load_order = lambda_task(
            self,
            "LoadOrder",
            function=self.tasks_function,
            payload={"task": "load_order", "orderId": sfn.JsonPath.string_at("$.orderId")},
            timeout=TASK_TIMEOUT,
            on_error=failed,
        )
        return logged_state_machine(
            self,
            "OrderWorkflow",
            stage=settings.stage,
            definition=load_order.next(sfn.Succeed(self, "Done")),
            timeout=Duration.days(1),
            log_retention=settings.log_retention,
        )
