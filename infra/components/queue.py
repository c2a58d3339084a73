"""An SQS queue with a dead-letter queue, both encrypted and TLS-only."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

MAX_RECEIVE_COUNT = 5
CONSUMER_TIMEOUT_FACTOR = 6
EVENT_SOURCE_PREFIX = "shopstack."


class QueueWithDeadLetter(Construct):
    """A work queue whose messages move to `dlq` after `max_receive_count` failed receives.

    The visibility timeout is `CONSUMER_TIMEOUT_FACTOR` times the consumer's timeout, as Lambda's
    SQS event source requires.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        consumer_timeout: Duration,
        max_receive_count: int = MAX_RECEIVE_COUNT,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dlq = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(consumer_timeout.to_seconds() * CONSUMER_TIMEOUT_FACTOR),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dlq, max_receive_count=max_receive_count),
        )


def every_event(
    scope: Construct, rule_id: str, queue: QueueWithDeadLetter, *, event_bus: events.IEventBus, description: str
) -> events.Rule:
    """A rule sending every shopstack event (`source` `shopstack.*`) on `event_bus` to `queue`, and
    what it cannot deliver to the queue's DLQ."""
    return events.Rule(
        scope,
        rule_id,
        event_bus=event_bus,
        description=description,
        event_pattern=events.EventPattern(source=events.Match.prefix(EVENT_SOURCE_PREFIX)),
        targets=[targets.SqsQueue(queue.queue, dead_letter_queue=queue.dlq)],
    )
