"""ShopstackIntegrations: outbound webhooks. Every `shopstack.*` event is queued for the fan-out,
which queues one delivery per subscription that wants it; each delivery attempt is one message
of the delivery queue (retries are delayed messages, never a sleeping function), and a delivery
whose schedule is spent is sent to that queue's dead-letter queue for staff to redeliver."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra import names, references
from infra.components import OnDemandTable, QueueWithDeadLetter, ServiceFunction, every_event
from infra.components.alarms import dead_letter_alarm
from infra.settings import Settings

FANOUT_TIMEOUT = Duration.seconds(30)
DELIVERY_TIMEOUT = Duration.seconds(30)
"""A batch's attempts run at once, each bounded by the sender's 5 s timeout."""
DELIVERY_BATCH_SIZE = 10


class IntegrationsStack(Stack):
    """Webhook subscriptions, their deliveries and the functions that make them."""

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
        super().__init__(scope, construct_id, description="shopstack: integrations service (webhooks)", **kwargs)
        layer = references.layer(self, "SharedLayerRef", layer, stage=settings.stage)
        self.event_bus = event_bus = references.event_bus(self, "EventBusRef", event_bus)
        self.alarm_topic = references.topic(self, "AlarmTopicRef", alarm_topic)

        webhooks = OnDemandTable(
            self,
            "Webhooks",
            table_name=names.resource_name(settings.stage, "webhooks"),
            partition_key="pk",
            sort_key="sk",
            time_to_live_attribute="expiresAt",
            removal_policy=settings.removal_policy,
        )
        webhooks.add_index(index_name="byWebhook", partition_key="webhookId", sort_key="createdAt")
        self.webhooks_table = webhooks.table

        events_queue = QueueWithDeadLetter(self, "WebhookEvents", consumer_timeout=FANOUT_TIMEOUT)
        self.events_queue, self.events_dlq = events_queue.queue, events_queue.dlq
        deliveries = QueueWithDeadLetter(self, "WebhookDeliveries", consumer_timeout=DELIVERY_TIMEOUT)
        self.delivery_queue, self.delivery_dlq = deliveries.queue, deliveries.dlq

        self.rule = every_event(
            self,
            "AllShopstackEventsForWebhooks",
            events_queue,
            event_bus=event_bus,
            description="Every shopstack event, for webhook subscribers",
        )

        common = {
            "WEBHOOKS_TABLE": self.webhooks_table.table_name,
            "DELIVERY_QUEUE_URL": self.delivery_queue.queue_url,
            "DELIVERY_DLQ_URL": self.delivery_dlq.queue_url,
            "EVENT_BUS_NAME": event_bus.event_bus_name,
        }
        self.fanout_function = ServiceFunction(
            self,
            "WebhookFanout",
            service="integrations",
            handler="integrations.entrypoints.fanout.handler",
            description="shopstack integrations: one webhook delivery per subscription of each event",
            timeout=FANOUT_TIMEOUT,
            layers=[layer],
            log_retention=settings.log_retention,
            environment=common,
        ).function
        self.fanout_function.add_event_source(
            sources.SqsEventSource(self.events_queue, batch_size=10, report_batch_item_failures=True)
        )
        self.delivery_function = ServiceFunction(
            self,
            "WebhookDelivery",
            service="integrations",
            handler="integrations.entrypoints.deliver.handler",
            description="shopstack integrations: makes webhook delivery attempts",
            timeout=DELIVERY_TIMEOUT,
            layers=[layer],
            log_retention=settings.log_retention,
            environment=common,
        ).function
        self.delivery_function.add_event_source(
            sources.SqsEventSource(self.delivery_queue, batch_size=DELIVERY_BATCH_SIZE, report_batch_item_failures=True)
        )
        self.api_function = ServiceFunction(
            self,
            "IntegrationsApi",
            service="integrations",
            handler="integrations.entrypoints.api.handler",
            description="shopstack integrations: staff manage webhook subscriptions and deliveries",
            timeout=Duration.seconds(10),
            layers=[layer],
            log_retention=settings.log_retention,
            environment=common,
        ).function

        references.publish_function_arn(self, self.api_function, name="IntegrationsApi", stage=settings.stage)

        # Staff are told when a subscription is disabled: the event goes to this topic, which emails
        # cdk.json `staffAlertEmails` (each address confirms its subscription once).
        self.staff_alerts = sns.Topic(
            self,
            "StaffAlerts",
            topic_name=names.resource_name(settings.stage, "staff-alerts"),
            display_name=f"shopstack {settings.stage} staff alerts",
            enforce_ssl=True,
        )
        for address in settings.staff_alert_emails:
            self.staff_alerts.add_subscription(subscriptions.EmailSubscription(address))
        self.disabled_rule = events.Rule(
            self,
            "WebhookDisabledAlert",
            event_bus=event_bus,
            description="Tells staff that a webhook subscription failing for a day was disabled",
            event_pattern=events.EventPattern(source=["shopstack.integrations"], detail_type=["WebhookDisabled"]),
            targets=[targets.SnsTopic(self.staff_alerts)],
        )

        self.events_dlq_alarm = dead_letter_alarm(
            self,
            "WebhookEventsDlqAlarm",
            self.events_dlq,
            settings=settings,
            topic=self.alarm_topic,
            name="webhook-events-dlq",
            description=(
                "Events WebhookFanout failed 5 times (or EventBridge could not queue) wait in the "
                "WebhookEvents dead-letter queue: no subscriber got them. Read the WebhookFanout logs, fix "
                "the cause, then redrive the queue (aws sqs start-message-move-task)"
            ),
        )
        self.deliveries_dlq_alarm = dead_letter_alarm(
            self,
            "WebhookDeliveriesDlqAlarm",
            self.delivery_dlq,
            settings=settings,
            topic=self.alarm_topic,
            name="webhook-deliveries-dlq",
            description=(
                "Webhook deliveries wait in the WebhookDeliveries dead-letter queue: a receiver failed every "
                "attempt for more than a day (EXHAUSTED), or WebhookDelivery itself failed 5 times. Find them "
                "with GET /admin/webhooks/{webhookId}/deliveries, have the receiver fixed (or fix "
                "WebhookDelivery), redeliver them with POST .../deliveries/{deliveryId}/redeliver, then purge "
                "the queue (aws sqs purge-queue) so that the next one alarms again"
            ),
        )

        CfnOutput(self, "WebhooksTableName", value=self.webhooks_table.table_name)
        CfnOutput(self, "WebhookDeliveryQueueUrl", value=self.delivery_queue.queue_url)
        CfnOutput(self, "WebhookDeliveryDeadLetterQueueUrl", value=self.delivery_dlq.queue_url)
        CfnOutput(self, "StaffAlertsTopicArn", value=self.staff_alerts.topic_arn)
