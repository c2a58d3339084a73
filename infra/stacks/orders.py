"""ShopstackOrders: Orders table and stream, fulfilment queue, carrier secret, SES identity, the orders
functions, the OrderWorkflow, and customer emails from the order events (OrderNotifications)."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import names, references
from infra.components import OnDemandTable, QueueWithDeadLetter, ServiceFunction
from infra.components.alarms import GREATER, custom_metric, dead_letter_alarm, stage_alarm
from infra.components.workflow import EXECUTION_INPUT, effect_task, failure, logged_state_machine
from infra.settings import CREATE, STRIPE_WITHIN_API_TIMEOUT, Settings

API_TIMEOUT = Duration.seconds(10)
TASK_TIMEOUT = Duration.seconds(30)
WORKFLOW_TIMEOUT = Duration.minutes(5)
"""The order workflow is Express: an execution lives at most 5 minutes (Express's limit). One that
runs out (a dependency down past every retry) times out and alarms; the order stays PAID and the
reconciler starts it again once no execution of it can still be running."""
FULFILMENT_BATCH_SIZE = 10
STREAM_BATCH_SIZE = 100
STREAM_RETRY_ATTEMPTS = 5
CARRIER_SIGNING_KEY = "signingSecret"
CARRIER_SECRET_LENGTH = 48
COMPENSATION_ERROR_PATH = "$.compensationError"
NOTIFY_TIMEOUT = Duration.seconds(15)
RECONCILE_TIMEOUT = Duration.seconds(120)
NOTIFY_BATCH_SIZE = 10
NOTIFY_MAX_RECEIVES = 5
"""An order email is tried 5 times (the consumer backs off 2, 4, 8 and 16 s between tries),
then its event waits in the OrderNotifications dead-letter queue, which an alarm watches."""
ORDERS_SOURCE = "shopstack.orders"
MAIL_EVENTS = ["OrderConfirmed", "OrderCancelled", "OrderShipped", "OrderDelivered"]
"""Order events that warrant an email; ShipmentUpdated does too, for a shipment's SHIPPED event."""


def carrier_secret_name(stage: str) -> str:
    """`shopstack/<stage>/carrier`, the Secrets Manager name of the carrier webhook signing key."""
    return names.secret_name(stage, "carrier")


class OrdersStack(Stack):
    """Order workflow, orders API, fulfilment, tracking and order events."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        layer: lambda_.ILayerVersion,
        event_bus: events.IEventBus,
        products_table: dynamodb.ITable,
        idempotency_table: dynamodb.ITable,
        user_pool: cognito.IUserPool,
        user_pool_client: cognito.IUserPoolClient,
        stripe_secret_name: str,
        alarm_topic: sns.ITopic,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, description="shopstack: orders service", **kwargs)
        stage = settings.stage
        layer = references.layer(self, "SharedLayerRef", layer, stage=stage)
        self.event_bus = event_bus = references.event_bus(self, "EventBusRef", event_bus)
        self.products_table = products_table = references.table(self, "ProductsTableRef", products_table)
        self.idempotency_table = idempotency_table = references.table(self, "IdempotencyTableRef", idempotency_table)
        user_pool = references.user_pool(self, "UserPoolRef", user_pool, stage=stage)
        user_pool_client_id = references.user_pool_client_id(self, user_pool_client, stage=stage)
        self.stripe_secret = secretsmanager.Secret.from_secret_name_v2(self, "StripeSecretRef", stripe_secret_name)
        self.alarm_topic = references.topic(self, "AlarmTopicRef", alarm_topic)

        orders = OnDemandTable(
            self,
            "Orders",
            table_name=names.resource_name(stage, "orders"),
            partition_key="pk",
            sort_key="sk",
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            removal_policy=settings.removal_policy,
        )
        orders.add_index(index_name="byOwner", partition_key="owner", sort_key="createdAt")
        orders.add_index(index_name="byStatus", partition_key="status", sort_key="createdAt")
        orders.add_index(index_name="byShipment", partition_key="shipmentId")
        orders.add_index(index_name="byTracking", partition_key="trackingNumber")
        orders.add_index(index_name="byReturn", partition_key="returnId")
        self.orders_table = orders.table

        fulfilment = QueueWithDeadLetter(self, "Fulfilment", consumer_timeout=TASK_TIMEOUT)
        self.fulfilment_queue = fulfilment.queue
        self.fulfilment_dlq = fulfilment.dlq

        self.order_events_dlq = sqs.Queue(
            self,
            "OrderEventsDlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )

        self.carrier_secret_name = carrier_secret_name(settings.stage)
        self.carrier_secret = secretsmanager.Secret(
            self,
            "CarrierSecret",
            secret_name=self.carrier_secret_name,
            description="HMAC key carriers sign tracking webhooks with (JSON: signingSecret)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({}),
                generate_string_key=CARRIER_SIGNING_KEY,
                password_length=CARRIER_SECRET_LENGTH,
                exclude_punctuation=True,
            ),
            removal_policy=settings.removal_policy,
        )

        # One SES identity per address in an account and region: the stage that owns the address
        # creates it (context mailIdentity=create), any other stage sending from it uses it as is.
        self.email_identity: ses.IEmailIdentity = (
            ses.EmailIdentity(self, "SenderIdentity", identity=ses.Identity.email(settings.mail_from))
            if settings.mail_identity == CREATE
            else ses.EmailIdentity.from_email_identity_name(self, "SenderIdentity", settings.mail_from)
        )

        mail = {"MAIL_FROM": settings.mail_from, "SHOP_NAME": settings.shop_name}
        shop = {"SHOP_NAME": settings.shop_name, "SELLER_EMAIL": settings.mail_from}
        common = {
            "ORDERS_TABLE": self.orders_table.table_name,
            "PRODUCTS_TABLE": products_table.table_name,
            "STRIPE_SECRET_NAME": stripe_secret_name,
        }

        self.tasks_function = ServiceFunction(
            self,
            "OrderTasks",
            service="orders",
            handler="orders.entrypoints.tasks.handler",
            description="shopstack orders: Step Functions tasks of the order workflow",
            timeout=TASK_TIMEOUT,
            layers=[layer],
            log_retention=settings.log_retention,
            environment={**common, "FULFILMENT_QUEUE_URL": self.fulfilment_queue.queue_url, **shop},
        ).function

        self.api_function = ServiceFunction(
            self,
            "OrdersApi",
            service="orders",
            handler="orders.entrypoints.api.handler",
            description="shopstack orders: orders, invoices, shipments, tracking and the carrier webhook",
            timeout=API_TIMEOUT,
            layers=[layer],
            log_retention=settings.log_retention,
            environment={
                **common,
                "IDEMPOTENCY_TABLE": idempotency_table.table_name,
                **STRIPE_WITHIN_API_TIMEOUT,
                "CARRIER_SECRET_NAME": self.carrier_secret_name,
                "RETURN_WINDOW_DAYS": str(settings.return_window_days),
                **shop,
                "USER_POOL_ID": user_pool.user_pool_id,
                "USER_POOL_CLIENT_ID": user_pool_client_id,
            },
        ).function
        references.publish_function_arn(self, self.api_function, name="OrdersApi", stage=stage)

        self.fulfilment_consumer = ServiceFunction(
            self,
            "FulfilmentConsumer",
            service="orders",
            handler="orders.entrypoints.on_fulfilment.handler",
            description="shopstack orders: consumes fulfilment requests",
            timeout=TASK_TIMEOUT,
            layers=[layer],
            log_retention=settings.log_retention,
            environment={"ORDERS_TABLE": self.orders_table.table_name},
        ).function
        self.fulfilment_consumer.add_event_source(
            sources.SqsEventSource(
                self.fulfilment_queue, batch_size=FULFILMENT_BATCH_SIZE, report_batch_item_failures=True
            )
        )

        self.events_publisher = ServiceFunction(
            self,
            "OrderEventsPublisher",
            service="orders",
            handler="orders.entrypoints.on_change.handler",
            description="shopstack orders: publishes committed order changes from the table stream",
            timeout=TASK_TIMEOUT,
            layers=[layer],
            log_retention=settings.log_retention,
            environment={"EVENT_BUS_NAME": event_bus.event_bus_name},
        ).function
        self.events_publisher.add_event_source(
            sources.DynamoEventSource(
                self.orders_table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=STREAM_BATCH_SIZE,
                bisect_batch_on_error=True,
                retry_attempts=STREAM_RETRY_ATTEMPTS,
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(self.order_events_dlq),
            )
        )

        self._notifications(settings, event_bus=event_bus, layer=layer, mail=mail)

        self.workflow = self._workflow(settings)
        self._reconciler(settings, layer=layer, common=common)
        self._alarms(settings)

        CfnOutput(self, "OrdersTableName", value=self.orders_table.table_name)
        CfnOutput(self, "OrderWorkflowArn", value=self.workflow.state_machine_arn)
        CfnOutput(self, "FulfilmentQueueUrl", value=self.fulfilment_queue.queue_url)
        CfnOutput(self, "OrderEventsDlqUrl", value=self.order_events_dlq.queue_url)
        CfnOutput(self, "CarrierSecretName", value=self.carrier_secret_name)
        CfnOutput(self, "OrderNotificationsQueueUrl", value=self.notifications_queue.queue_url)
        CfnOutput(self, "OrderNotificationsDlqUrl", value=self.notifications_dlq.queue_url)

    def _notifications(
        self, settings: Settings, *, event_bus: events.IEventBus, layer: lambda_.ILayerVersion, mail: dict[str, str]
    ) -> None:
        """Customer emails off the workflow's critical path: the order events that warrant one are
        queued (EventBridge rules -> SQS with a DLQ) for OrderNotifications, the only function
        that may send email; failed sends are retried by the queue and dead-lettered after
        NOTIFY_MAX_RECEIVES receives, where an alarm fires."""
        notifications = QueueWithDeadLetter(
            self, "Notifications", consumer_timeout=NOTIFY_TIMEOUT, max_receive_count=NOTIFY_MAX_RECEIVES
        )
        self.notifications_queue = notifications.queue
        self.notifications_dlq = notifications.dlq
        target = targets.SqsQueue(self.notifications_queue, dead_letter_queue=self.notifications_dlq)
        self.notifications_rule = events.Rule(
            self,
            "OrderMailEvents",
            event_bus=event_bus,
            description="Order events that warrant a customer email, for OrderNotifications",
            event_pattern=events.EventPattern(source=[ORDERS_SOURCE], detail_type=MAIL_EVENTS),
            targets=[target],
        )
        self.shipment_mail_rule = events.Rule(
            self,
            "ShipmentMailEvents",
            event_bus=event_bus,
            description="A shipment's SHIPPED event (every shipment is emailed), for OrderNotifications",
            event_pattern=events.EventPattern(
                source=[ORDERS_SOURCE], detail_type=["ShipmentUpdated"], detail={"data": {"status": ["SHIPPED"]}}
            ),
            targets=[target],
        )
        self.notifications_function = ServiceFunction(
            self,
            "OrderNotifications",
            service="orders",
            handler="orders.entrypoints.on_notify.handler",
            description="shopstack orders: emails customers from the order events",
            timeout=NOTIFY_TIMEOUT,
            layers=[layer],
            log_retention=settings.log_retention,
            environment={
                "ORDERS_TABLE": self.orders_table.table_name,
                **mail,
                "NOTIFY_QUEUE_URL": self.notifications_queue.queue_url,
                "NOTIFY_MAX_RECEIVES": str(NOTIFY_MAX_RECEIVES),
            },
        ).function
        self.notifications_function.add_event_source(
            sources.SqsEventSource(
                self.notifications_queue, batch_size=NOTIFY_BATCH_SIZE, report_batch_item_failures=True
            )
        )

    def _alarms(self, settings: Settings) -> None:
        """The orders service's alarms: a message in any of its three dead-letter queues, a failed or
        timed-out order workflow, and a compensation that failed (the order needs an operator)."""
        topic = self.alarm_topic
        self.notifications_alarm = dead_letter_alarm(
            self,
            "OrderNotificationsDlqAlarm",
            self.notifications_dlq,
            settings=settings,
            topic=topic,
            name="order-notifications-dlq",
            description=(
                "Order emails failed every retry and wait in the OrderNotifications dead-letter queue: "
                "check SES (sandbox, unverified sender, quota) and the OrderNotifications logs, then redrive "
                "the queue (aws sqs start-message-move-task) to send them"
            ),
        )
        self.fulfilment_dlq_alarm = dead_letter_alarm(
            self,
            "FulfilmentDlqAlarm",
            self.fulfilment_dlq,
            settings=settings,
            topic=topic,
            name="fulfilment-dlq",
            description=(
                "Fulfilment requests of confirmed orders failed 5 times and wait in the Fulfilment "
                "dead-letter queue: those orders are not being shipped. Read the FulfilmentConsumer logs, "
                "fix the cause, then redrive the queue (aws sqs start-message-move-task)"
            ),
        )
        self.order_events_dlq_alarm = dead_letter_alarm(
            self,
            "OrderEventsDlqAlarm",
            self.order_events_dlq,
            settings=settings,
            topic=topic,
            name="order-events-dlq",
            description=(
                "Orders table changes that OrderEventsPublisher could not publish after bisecting and 5 "
                "retries wait in the OrderEvents dead-letter queue (each message names the stream batch): "
                "their order events never reached the bus, so emails, analytics and webhooks missed them. "
                "Read the OrderEventsPublisher logs and fix the cause, then, within the stream's 24 hours, "
                "read the named records from the stream and republish their events by hand"
            ),
        )
        workflow_failure = (
            "Open the failed executions in the Step Functions console. One ending in CompensationFailed "
            "needs an operator (see the compensations-failed alarm); one ending in Failed was compensated "
            "(its stock released, its payment voided or refunded) after a capture Stripe refused, a "
            "cancellation or a failed step: read its error and the OrderTasks logs, and fix a recurring cause"
        )
        self.workflow_failed_alarm = stage_alarm(
            self,
            "OrderWorkflowFailedAlarm",
            settings=settings,
            topic=topic,
            name="order-workflow-failed",
            rule="workflowFailures",
            metric=self.workflow.metric_failed(statistic=cloudwatch.Stats.SUM),
            comparison=GREATER,
            description=f"Order workflows of paid orders ended FAILED. {workflow_failure}",
        )
        self.workflow_timed_out_alarm = stage_alarm(
            self,
            "OrderWorkflowTimedOutAlarm",
            settings=settings,
            topic=topic,
            name="order-workflow-timed-out",
            rule="workflowFailures",
            metric=self.workflow.metric_timed_out(statistic=cloudwatch.Stats.SUM),
            comparison=GREATER,
            description=(
                "An order workflow ran past its hour and timed out, leaving its order in flight: "
                "OrderReconciler drives stuck orders on; check the execution's last step and the OrderTasks "
                "logs, and that the order reached CONFIRMED or CANCELLED"
            ),
        )
        self.compensations_failed_alarm = stage_alarm(
            self,
            "CompensationsFailedAlarm",
            settings=settings,
            topic=topic,
            name="compensations-failed",
            rule="compensationFailures",
            metric=custom_metric("orders", "CompensationsFailed"),
            comparison=GREATER,
            description=(
                "A compensation (stock release, payment void or refund) failed after its retries: the "
                "order may hold stock or money it should not. Find the execution ending CompensationFailed, "
                "read its error, settle the order in Stripe and the admin API, and tell the customer"
            ),
        )

    def _reconciler(self, settings: Settings, *, layer: lambda_.ILayerVersion, common: dict[str, str]) -> None:
        """OrderReconciler, every `reconcileIntervalMinutes`: drives in-flight orders stuck longer
        than `reconcileStuckAfterSeconds` (or past their reservation) to their next state."""
        self.reconciler_function = ServiceFunction(
            self,
            "OrderReconciler",
            service="orders",
            handler="orders.entrypoints.reconcile.handler",
            description="shopstack orders: drives orders stuck in flight to their next state",
            timeout=RECONCILE_TIMEOUT,
            layers=[layer],
            log_retention=settings.log_retention,
            environment={
                **common,
                "ORDER_WORKFLOW_ARN": self.workflow.state_machine_arn,
                "RESERVATION_TTL_SECONDS": str(settings.reservation_ttl_seconds),
                "RECONCILE_STUCK_AFTER_SECONDS": str(settings.reconcile_stuck_after_seconds),
                "ORDER_WORKFLOW_TIMEOUT_SECONDS": str(int(WORKFLOW_TIMEOUT.to_seconds())),
            },
        ).function
        self.reconciler_rule = events.Rule(
            self,
            "OrderReconcilerSchedule",
            rule_name=names.resource_name(settings.stage, "order-reconciler"),
            description="Runs OrderReconciler on a schedule",
            schedule=events.Schedule.rate(Duration.minutes(settings.reconcile_interval_minutes)),
            targets=[targets.LambdaFunction(self.reconciler_function, retry_attempts=0)],
        )

    def _task(
        self,
        state_id: str,
        task: str,
        *,
        on_error: sfn.IChainable,
        error_path: str = "$.error",
        **fields: Any,
    ) -> sfn.TaskStateBase:
        """An OrderTasks invocation `{"task", "orderId", **fields}` run for its effect."""
        return effect_task(
            self,
            state_id,
            function=self.tasks_function,
            payload={
                "task": task,
                "orderId": sfn.JsonPath.string_at("$.orderId"),
                "execution": EXECUTION_INPUT,
                **fields,
            },
            timeout=TASK_TIMEOUT,
            on_error=on_error,
            error_path=error_path,
        )

    def _workflow(self, settings: Settings) -> sfn.StateMachine:
        """`{"orderId"}`: carry a paid order to CONFIRMED, or compensate in reverse and end it."""
        compensation_failed = failure(
            self,
            "CompensationFailed",
            error_path=COMPENSATION_ERROR_PATH,
            comment="A compensation failed after its retries; the order needs an operator",
        )

        def compensation(state_id: str, task: str, **fields: Any) -> sfn.TaskStateBase:
            return self._task(
                state_id, task, on_error=compensation_failed, error_path=COMPENSATION_ERROR_PATH, **fields
            )

        # One task: the order CANCELLING with its stock back (one write), its money voided or
        # refunded, then ended as $.outcome; the reconciler finishes it if this task cannot.
        release_stock = compensation(
            "Compensate",
            "compensate",
            outcome=sfn.JsonPath.string_at("$.outcome"),
            error=sfn.JsonPath.object_at("$.error"),
        )
        release_stock.next(failure(self, "Failed"))

        payment_failed = sfn.Pass(
            self,
            "PaymentFailedOutcome",
            comment="The payment could not be captured",
            result=sfn.Result.from_string("PAYMENT_FAILED"),
            result_path="$.outcome",
        ).next(release_stock)
        cancelled = sfn.Pass(
            self,
            "CancelledOutcome",
            comment="The order was cancelled or a step after the capture failed",
            result=sfn.Result.from_string("CANCELLED"),
            result_path="$.outcome",
        ).next(release_stock)

        definition = (
            sfn.Chain.start(self._task("CapturePayment", "capture_payment", on_error=payment_failed))
            .next(self._task("CommitStock", "commit_stock", on_error=cancelled))
            .next(self._task("IssueInvoice", "issue_invoice", on_error=cancelled))
            .next(self._task("RequestFulfilment", "request_fulfilment", on_error=cancelled))
            .next(self._task("ConfirmOrder", "confirm_order", on_error=cancelled))
            .next(sfn.Succeed(self, "Done"))
        )
        return logged_state_machine(
            self,
            "OrderWorkflow",
            stage=settings.stage,
            definition=definition,
            timeout=WORKFLOW_TIMEOUT,
            log_retention=settings.log_retention,
            express=True,
        )
