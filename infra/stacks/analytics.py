"""ShopstackAnalytics: every `shopstack.*` event queued for the AnalyticsConsumer."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from infra import names, references
from infra.components import OnDemandTable, QueueWithDeadLetter, ServiceFunction
from infra.settings import Settings

CONSUMER_TIMEOUT = Duration.seconds(30)
BATCH_SIZE = 10
EVENT_SOURCE_PREFIX = "shopstack."


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
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, description="shopstack: analytics service", **kwargs)
        layer = references.layer(self, "SharedLayerRef", layer, stage=settings.stage)
        self.event_bus = event_bus = references.event_bus(self, "EventBusRef", event_bus)

        self.analytics_table = OnDemandTable(
            self,
            "Analytics",
            table_name=names.resource_name(settings.stage, "analytics"),
            partition_key="pk",
            sort_key="sk",
            removal_policy=settings.removal_policy,
        ).table

        events_queue = QueueWithDeadLetter(self, "AnalyticsEvents", consumer_timeout=CONSUMER_TIMEOUT)
        self.queue = events_queue.queue
        self.dlq = events_queue.dlq

        self.rule = events.Rule(
            self,
            "AllShopstackEvents",
            event_bus=event_bus,
            description="Every shopstack integration event, for analytics",
            event_pattern=events.EventPattern(source=events.Match.prefix(EVENT_SOURCE_PREFIX)),
            targets=[targets.SqsQueue(self.queue, dead_letter_queue=self.dlq)],
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

        CfnOutput(self, "AnalyticsTableName", value=self.analytics_table.table_name)
        CfnOutput(self, "AnalyticsQueueUrl", value=self.queue.queue_url)
