"""The stage's alarms: each named `shopstack-<stage>-<name>`, its rule from cdk.json `alarms`, and
both its ALARM and OK transitions sent to the stage's alarm topic (`shopstack-<stage>-alarms`).

Every alarm watches one metric (namespace, name, dimensions, one statistic, one period), never metric
math: the local cloud's alarm evaluator evaluates single-metric alarms. Missing data is not breaching
for all of them: every metric watched is emitted only when something happens (a message, a request,
an execution, a throttle, a decline), so no data means nothing happened.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import names
from infra.settings import Settings

NAMESPACE = "Shopstack"
"""Namespace of the functions' own metrics (Powertools EMF; POWERTOOLS_METRICS_NAMESPACE)."""

GREATER = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
AT_LEAST = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD


def custom_metric(
    service: str, metric_name: str, *, statistic: str = cloudwatch.Stats.SUM, **dimensions: str
) -> cloudwatch.Metric:
    """A metric the functions emit: namespace `Shopstack`, dimension `service` (POWERTOOLS_SERVICE_NAME)."""
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=metric_name,
        dimensions_map={"service": service, **dimensions},
        statistic=statistic,
    )


def stage_alarm(
    scope: Construct,
    construct_id: str,
    *,
    settings: Settings,
    topic: sns.ITopic,
    name: str,
    rule: str,
    metric: cloudwatch.Metric,
    comparison: cloudwatch.ComparisonOperator,
    description: str,
) -> cloudwatch.Alarm:
    """Alarm `shopstack-<stage>-<name>` on `metric`, with the threshold, period and evaluation periods
    of cdk.json `alarms.<rule>`, notifying `topic` when it fires and when it recovers."""
    threshold = settings.alarm(rule)
    alarm = cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_name=names.resource_name(settings.stage, name),
        alarm_description=description,
        metric=metric.with_(period=Duration.seconds(threshold.period_seconds)),
        threshold=threshold.threshold,
        evaluation_periods=threshold.evaluation_periods,
        comparison_operator=comparison,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    action = actions.SnsAction(topic)
    alarm.add_alarm_action(action)
    alarm.add_ok_action(action)
    return alarm


def dead_letter_alarm(
    scope: Construct,
    construct_id: str,
    dlq: sqs.IQueue,
    *,
    settings: Settings,
    topic: sns.ITopic,
    name: str,
    description: str,
) -> cloudwatch.Alarm:
    """Alarm `shopstack-<stage>-<name>` when `dlq` holds a message (Maximum of
    ApproximateNumberOfMessagesVisible above cdk.json `alarms.deadLetterMessages`, 0 by default)."""
    return stage_alarm(
        scope,
        construct_id,
        settings=settings,
        topic=topic,
        name=name,
        rule="deadLetterMessages",
        metric=dlq.metric_approximate_number_of_messages_visible(statistic=cloudwatch.Stats.MAXIMUM),
        comparison=GREATER,
        description=description,
    )
