"""ShopstackAnalytics: every `shopstack.*` event queued for the AnalyticsConsumer, which keeps the
report aggregates; the abandoned-cart sweep on a schedule; the reports' API function."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra import names, references
from infra.components import OnDemandTable, QueueWithDeadLetter, ServiceFunction, every_event
from infra.components.alarms import AT_LEAST, custom_metric, dead_letter_alarm, stage_alarm
from infra.settings import Settings

CONSUMER_TIMEOUT = Duration.seconds(30)
BATCH_SIZE = 10


class AnalyticsStack(Stack):
    """Event aggregation for reports."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        layer: lambda_.ILayerVersion,
        event_bus: events.IEventBus,
        alarm_topic: sns.ITopic,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, description="shopstack: analytics service", **kwargs)
        layer = references.layer(self, "SharedLayerRef", layer, stage=settings.stage)
        self.event_bus = event_bus = references.event_bus(self, "EventBusRef", event_bus)
        self.alarm_topic = references.topic(self, "AlarmTopicRef", alarm_topic)

        analytics = OnDemandTable(
            self,
            "Analytics",
            table_name=names.resource_name(settings.stage, "analytics"),
            partition_key="pk",
            sort_key="sk",
            time_to_live_attribute="expiresAt",
            removal_policy=settings.removal_policy,
        )
        # Carts that may yet be abandoned (sparse: only while they hold items unchecked-out), and
        # carts counted abandoned, by month and day (analytics.adapters.dynamodb).
        analytics.add_keys_only_index(index_name="byPending", partition_key="pending", sort_key="pendingAt")
        analytics.add_index(index_name="byAbandoned", partition_key="abandonedMonth", sort_key="abandonedKey")
        self.analytics_table = analytics.table

        events_queue = QueueWithDeadLetter(self, "AnalyticsEvents", consumer_timeout=CONSUMER_TIMEOUT)
        self.queue = events_queue.queue
        self.dlq = events_queue.dlq

        self.rule = every_event(
            self,
            "AllShopstackEvents",
            events_queue,
            event_bus=event_bus,
            description="Every shopstack integration event, for analytics",
        )

        self.consumer = ServiceFunction(
            self,
            "AnalyticsConsumer",
            service="analytics",
            handler="analytics.entrypoints.on_event.handler",
            description="shopstack analytics: aggregates integration events",
            timeout=CONSUMER_TIMEOUT,
            layers=[layer],
            log_retention=settings.log_retention,
            environment={"ANALYTICS_TABLE": self.analytics_table.table_name},
        ).function
        self.consumer.add_event_source(
            sources.SqsEventSource(self.queue, batch_size=BATCH_SIZE, report_batch_item_failures=True)
        )

        # Abandoned carts: counted by a schedule, never by a scan on every report.
        self.sweep_function = ServiceFunction(
            self,
            "AbandonedCartSweep",
            service="analytics",
            handler="analytics.entrypoints.sweep.handler",
            description="shopstack analytics: counts carts left with items as abandoned",
            timeout=Duration.seconds(60),
            layers=[layer],
            log_retention=settings.log_retention,
            environment={
                "ANALYTICS_TABLE": self.analytics_table.table_name,
                "ABANDONED_CART_MINUTES": str(settings.abandoned_cart_minutes),
            },
        ).function
        self.sweep_rule = events.Rule(
            self,
            "AbandonedCartSweepSchedule",
            rule_name=names.resource_name(settings.stage, "abandoned-cart-sweep"),
            description="Counts carts left with items for abandonedCartMinutes as abandoned",
            schedule=events.Schedule.rate(Duration.minutes(settings.abandoned_cart_sweep_minutes)),
            targets=[targets.LambdaFunction(self.sweep_function, retry_attempts=2)],
        )

        self.api_function = ServiceFunction(
            self,
            "AnalyticsApi",
            service="analytics",
            handler="analytics.entrypoints.api.handler",
            description="shopstack analytics: the staff's sales, product and funnel reports",
            timeout=Duration.seconds(10),
            layers=[layer],
            log_retention=settings.log_retention,
            environment={"ANALYTICS_TABLE": self.analytics_table.table_name},
        ).function

        references.publish_function_arn(self, self.api_function, name="AnalyticsApi", stage=settings.stage)

        self.dlq_alarm = dead_letter_alarm(
            self,
            "AnalyticsEventsDlqAlarm",
            self.dlq,
            settings=settings,
            topic=self.alarm_topic,
            name="analytics-events-dlq",
            description=(
                "Events AnalyticsConsumer failed 5 times (or EventBridge could not queue) wait in the "
                "AnalyticsEvents dead-letter queue: the reports are missing them. Read the AnalyticsConsumer "
                "logs, fix the cause, then redrive the queue (aws sqs start-message-move-task); the consumer "
                "counts each event once"
            ),
        )
        # The consumer counts declines (PaymentDeclines, service=analytics) from the PaymentFailed events.
        self.declines_alarm = stage_alarm(
            self,
            "PaymentDeclinesAlarm",
            settings=settings,
            topic=self.alarm_topic,
            name="payment-declines",
            rule="paymentDeclines",
            metric=custom_metric("analytics", "PaymentDeclines"),
            comparison=AT_LEAST,
            description=(
                "Declined payments spiked: card testing (many small attempts from few addresses) or a "
                "Stripe or checkout fault. Compare PaymentDeclinesByCode on the dashboard and the Stripe "
                "dashboard's radar; for card testing lower cdk.json checkoutRateLimitPerIp or block the "
                "addresses in the web ACL"
            ),
        )

        CfnOutput(self, "AnalyticsTableName", value=self.analytics_table.table_name)
        CfnOutput(self, "AnalyticsQueueUrl", value=self.queue.queue_url)
