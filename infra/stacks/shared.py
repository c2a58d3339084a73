"""ShopstackShared: event bus, idempotency and erasures tables, shared layer, Cognito user pool, Stripe secret,
the alarm topic (with its KMS key) and the account-level Lambda throttles alarm."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import CfnOutput, Duration, SecretValue, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra import names, references
from infra.components import OnDemandTable, SharedLayer
from infra.components.alarms import GREATER, stage_alarm
from infra.settings import Settings

ADMIN_GROUP = "admin"
STRIPE_PLACEHOLDER = {"secretKey": "sk_test_replace_me", "webhookSecret": "whsec_replace_me"}
"""The Stripe secret's initial value; ops put the real keys in place after the first deployment."""
CLOUDWATCH = "cloudwatch.amazonaws.com"


def stripe_secret_name(stage: str) -> str:
    """`shopstack/<stage>/stripe`, the Secrets Manager name of the Stripe keys."""
    return names.secret_name(stage, "stripe")


class SharedStack(Stack):
    """Resources every service uses (the Stripe secret too: checkout and orders both read it)."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, description="shopstack: shared resources", **kwargs)

        self.event_bus = events.EventBus(self, "EventBus", event_bus_name=f"shopstack-{settings.stage}")
        # Every shopstack event the bus carried, for replay (`shopstack replay` locally,
        # `aws events start-replay` on AWS: docs/deploy.md); consumers deduplicate on the event id.
        self.event_archive = self.event_bus.archive(
            "EventArchive",
            archive_name=names.resource_name(settings.stage, "events"),
            description="Every shopstack event, for replay",
            event_pattern=events.EventPattern(source=events.Match.prefix("shopstack.")),
            retention=Duration.days(settings.event_archive_days),
        )
        # aws-cdk-lib writes `KmsKeyIdentifier: ""` when no key is given (aws/aws-cdk#37847), which
        # some regions refuse with GeneralServiceException: omit it (the AWS-owned key is used).
        archive_resource = self.event_archive.node.default_child
        assert isinstance(archive_resource, events.CfnArchive)
        archive_resource.add_property_deletion_override("KmsKeyIdentifier")

        self.idempotency = OnDemandTable(
            self,
            "Idempotency",
            table_name=names.resource_name(settings.stage, "idempotency"),
            partition_key="id",
            time_to_live_attribute="expiration",
            removal_policy=settings.removal_policy,
        )
        self.idempotency_table = self.idempotency.table

        # Erased accounts, by Cognito sub: a deleted user's ID token stays valid until it expires,
        # so every API function refuses a sub found here (commerce.erasures owns the items).
        self.erasures_table = OnDemandTable(
            self,
            "Erasures",
            table_name=names.resource_name(settings.stage, "erasures"),
            partition_key="customerId",
            removal_policy=settings.removal_policy,
        ).table

        self.layer = SharedLayer(
            self, "SharedLayer", description="shopstack commerce library and its dependencies"
        ).layer

        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=True,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            removal_policy=settings.removal_policy,
        )
        cognito.UserPoolGroup(
            self,
            "AdminGroup",
            user_pool=self.user_pool,
            group_name=ADMIN_GROUP,
            description="Staff allowed to call /admin routes",
        )
        self.user_pool_client = self.user_pool.add_client(
            "AppClient",
            auth_flows=cognito.AuthFlow(user_password=True, admin_user_password=True, user_srp=True),
            generate_secret=False,
            prevent_user_existence_errors=True,
            read_attributes=cognito.ClientAttributes().with_standard_attributes(
                email=True, email_verified=True, fullname=True, phone_number=True
            ),
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
        )

        self.stripe_secret_name = stripe_secret_name(settings.stage)
        self.stripe_secret = secretsmanager.Secret(
            self,
            "StripeSecret",
            secret_name=self.stripe_secret_name,
            description="Stripe API secret key and webhook signing secret (JSON: secretKey, webhookSecret)",
            secret_string_value=SecretValue.unsafe_plain_text(json.dumps(STRIPE_PLACEHOLDER)),
            removal_policy=settings.removal_policy,
        )

        references.publish(
            self,
            "SharedLayerArnParameter",
            name=names.layer_arn_parameter(settings.stage),
            value=self.layer.layer_version_arn,
            description="Current version ARN of the shared layer, read by every function stack at deploy",
        )
        references.publish(
            self,
            "UserPoolIdParameter",
            name=names.user_pool_id_parameter(settings.stage),
            value=self.user_pool.user_pool_id,
            description="Id of the shopstack Cognito user pool",
        )
        references.publish(
            self,
            "UserPoolClientIdParameter",
            name=names.user_pool_client_id_parameter(settings.stage),
            value=self.user_pool_client.user_pool_client_id,
            description="Id of the shopstack Cognito app client",
        )

        self.alarm_topic = self._alarm_topic(settings)
        # Throttles of every function in the account and region, one alarm metric: the functions have
        # no reserved concurrency, so they all draw on the account's one concurrency pool, and a throttle
        # anywhere in it is this stage's problem too. One alarm per function (or a metric-math SUM over
        # them, billed per metric it reads) would cost one alarm metric per function (17 today) for the same signal; the
        # dashboard breaks throttles down by function.
        self.throttles_alarm = stage_alarm(
            self,
            "LambdaThrottlesAlarm",
            settings=settings,
            topic=self.alarm_topic,
            name="lambda-throttles",
            rule="lambdaThrottles",
            metric=cloudwatch.Metric(namespace="AWS/Lambda", metric_name="Throttles", statistic=cloudwatch.Stats.SUM),
            comparison=GREATER,
            description=(
                "Lambda throttled invocations in this account and region (the functions share its "
                "concurrency pool): API callers got 500s and queue consumers were delayed. Find the function "
                "on the dashboard's throttles widget; if it is a traffic peak, raise the account's concurrency "
                "quota (Service Quotas, Lambda concurrent executions); if a runaway consumer, fix or pause it."
            ),
        )

        CfnOutput(self, "EventBusName", value=self.event_bus.event_bus_name)
        CfnOutput(self, "EventArchiveName", value=self.event_archive.archive_name)
        CfnOutput(self, "IdempotencyTableName", value=self.idempotency_table.table_name)
        CfnOutput(self, "ErasuresTableName", value=self.erasures_table.table_name)
        CfnOutput(self, "UserPoolId", value=self.user_pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=self.user_pool_client.user_pool_client_id)
        CfnOutput(self, "SharedLayerArn", value=self.layer.layer_version_arn)
        CfnOutput(self, "StripeSecretName", value=self.stripe_secret_name)
        CfnOutput(self, "AlarmTopicArn", value=self.alarm_topic.topic_arn)

    def _alarm_topic(self, settings: Settings) -> sns.Topic:
        """`shopstack-<stage>-alarms`: every alarm of the stage notifies it (ALARM and OK), and it emails
        cdk.json `alarmEmails` (operators on call; `staffAlertEmails` are the shop's staff, told of
        business events, and get no alarms).

        Encrypted with a customer managed key: CloudWatch cannot publish to a topic encrypted with the
        AWS managed key alias/aws/sns, whose key policy cannot be changed to let cloudwatch.amazonaws.com
        use it. This key's policy allows it kms:Decrypt and kms:GenerateDataKey* for this account's
        alarms only, and the topic policy lets it publish, for this account's alarms only."""
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description=f"shopstack {settings.stage}: encrypts the alarm topic; CloudWatch alarms use it to publish",
            enable_key_rotation=True,
            removal_policy=settings.removal_policy,
        )
        this_account = {"StringEquals": {"aws:SourceAccount": self.account}}
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublishToTheAlarmTopic",
                principals=[iam.ServicePrincipal(CLOUDWATCH)],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions=this_account,
            )
        )
        topic = sns.Topic(
            self,
            "AlarmTopic",
            topic_name=names.alarm_topic_name(settings.stage),
            display_name=f"shopstack {settings.stage} alarms",
            master_key=key,
            enforce_ssl=True,
        )
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal(CLOUDWATCH)],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions=this_account,
            )
        )
        for address in settings.alarm_emails:
            topic.add_subscription(subscriptions.EmailSubscription(address))
        return topic
