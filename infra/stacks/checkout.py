"""ShopstackCheckout: Carts table, CheckoutApi and CheckoutTasks, the ReservationExpiry queue."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import names, references
from infra.components import OnDemandTable, QueueWithDeadLetter, ServiceFunction
from infra.components.alarms import dead_letter_alarm
from infra.settings import STRIPE_WITHIN_API_TIMEOUT, Settings

API_TIMEOUT = Duration.seconds(10)
TASK_TIMEOUT = Duration.seconds(30)
EXPIRY_BATCH_SIZE = 10


class CheckoutStack(Stack):
    """Carts, checkout, payments and the Stripe webhook."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        layer: lambda_.ILayerVersion,
        event_bus: events.IEventBus,
        idempotency_table: dynamodb.ITable,
        products_table: dynamodb.ITable,
        orders_table: dynamodb.ITable,
        order_workflow: sfn.IStateMachine,
        user_pool: cognito.IUserPool,
        user_pool_client: cognito.IUserPoolClient,
        stripe_secret_name: str,
        alarm_topic: sns.ITopic,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, description="shopstack: checkout service", **kwargs)
        stage = settings.stage
        layer = references.layer(self, "SharedLayerRef", layer, stage=stage)
        self.event_bus = event_bus = references.event_bus(self, "EventBusRef", event_bus)
        self.idempotency_table = idempotency_table = references.table(self, "IdempotencyTableRef", idempotency_table)
        self.products_table = products_table = references.table(self, "ProductsTableRef", products_table)
        self.orders_table = orders_table = references.table(self, "OrdersTableRef", orders_table)
        self.order_workflow = order_workflow = references.state_machine(self, "OrderWorkflowRef", order_workflow)
        user_pool = references.user_pool(self, "UserPoolRef", user_pool, stage=stage)
        user_pool_client_id = references.user_pool_client_id(self, user_pool_client, stage=stage)
        self.alarm_topic = references.topic(self, "AlarmTopicRef", alarm_topic)

        self.carts_table = OnDemandTable(
            self,
            "Carts",
            table_name=names.resource_name(stage, "carts"),
            partition_key="pk",
            sort_key="sk",
            time_to_live_attribute="expiresAt",
            removal_policy=settings.removal_policy,
        ).table

        self.stripe_secret_name = stripe_secret_name
        self.stripe_secret = secretsmanager.Secret.from_secret_name_v2(self, "StripeSecretRef", stripe_secret_name)

        common = {
            "CARTS_TABLE": self.carts_table.table_name,
            "PRODUCTS_TABLE": products_table.table_name,
            "ORDERS_TABLE": orders_table.table_name,
            "EVENT_BUS_NAME": event_bus.event_bus_name,
            "STRIPE_SECRET_NAME": self.stripe_secret_name,
        }

        # One delayed message per unpaid order, delivered when its reservation runs out (SQS delays
        # a message up to 15 minutes; a longer reservation is re-delayed by the consumer).
        expiry = QueueWithDeadLetter(self, "ReservationExpiry", consumer_timeout=TASK_TIMEOUT)
        self.expiry_queue, self.expiry_dlq = expiry.queue, expiry.dlq

        self.tasks_function = ServiceFunction(
            self,
            "CheckoutTasks",
            service="checkout",
            handler="checkout.entrypoints.tasks.handler",
            description="shopstack checkout: reservation expiry (the ReservationExpiry queue's consumer)",
            timeout=TASK_TIMEOUT,
            layers=[layer],
            log_retention=settings.log_retention,
            # An order whose payment was authorized at the last moment is paid by its expiry,
            # which starts the order workflow.
            environment={
                **common,
                "ORDER_WORKFLOW_ARN": order_workflow.state_machine_arn,
                "RESERVATION_QUEUE_URL": self.expiry_queue.queue_url,
            },
        ).function
        self.tasks_function.add_event_source(
            sources.SqsEventSource(self.expiry_queue, batch_size=EXPIRY_BATCH_SIZE, report_batch_item_failures=True)
        )

        self.api_function = ServiceFunction(
            self,
            "CheckoutApi",
            service="checkout",
            handler="checkout.entrypoints.api.handler",
            description="shopstack checkout: carts, checkout and the Stripe webhook",
            timeout=API_TIMEOUT,
            layers=[layer],
            log_retention=settings.log_retention,
            environment={
                **common,
                "IDEMPOTENCY_TABLE": idempotency_table.table_name,
                **STRIPE_WITHIN_API_TIMEOUT,
                "ORDER_WORKFLOW_ARN": order_workflow.state_machine_arn,
                "RESERVATION_QUEUE_URL": self.expiry_queue.queue_url,
                "RESERVATION_TTL_SECONDS": str(settings.reservation_ttl_seconds),
                "USER_POOL_ID": user_pool.user_pool_id,
                "USER_POOL_CLIENT_ID": user_pool_client_id,
                **({"PRICING_RULES": settings.pricing_rules} if settings.pricing_rules else {}),
                **({"GUEST_HOLD_LIMITS": settings.guest_hold_limits} if settings.guest_hold_limits else {}),
            },
        ).function
        references.publish_function_arn(self, self.api_function, name="CheckoutApi", stage=stage)
        self._alarms(settings)

        CfnOutput(self, "CartsTableName", value=self.carts_table.table_name)
        CfnOutput(
            self,
            "StripeSecretName",
            value=self.stripe_secret_name,
            description="The Stripe secret checkout reads (owned by ShopstackShared)",
        )
        CfnOutput(self, "ReservationQueueUrl", value=self.expiry_queue.queue_url)

    def _alarms(self, settings: Settings) -> None:
        """An expiry message that failed its receives: an unpaid order may keep its stock held."""
        self.expiry_dlq_alarm = dead_letter_alarm(
            self,
            "ReservationExpiryDlqAlarm",
            self.expiry_dlq,
            settings=settings,
            topic=self.alarm_topic,
            name="reservation-expiry-dlq",
            description=(
                "A reservation expiry failed 5 times and sits in the ReservationExpiry dead-letter queue: the "
                "order it names may still hold its stock unpaid. Read the CheckoutTasks logs; OrderReconciler "
                "cancels unpaid orders past their reservation, so check that the order ended CANCELLED (or "
                "PAID) and its stock was released, then purge the message"
            ),
        )
