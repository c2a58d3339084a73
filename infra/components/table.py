"""An on-demand DynamoDB table with string keys and point-in-time recovery."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.settings import Settings


def _string(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class OnDemandTable(Construct):
    """A PAY_PER_REQUEST table, encrypted, with point-in-time recovery and an optional stream.

    `table_name` is stage-prefixed (`infra.names.resource_name`): other stacks find the table by it.
    A named table cannot be replaced in place, which is what a table of data should refuse anyway.
    With the stage's `deletionProtection` (cdk.json; on for prod) DynamoDB refuses to delete the
    table, whoever asks (CloudFormation, the console or the API), until the flag is turned off.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table_name: str,
        partition_key: str,
        sort_key: str | None = None,
        time_to_live_attribute: str | None = None,
        stream: dynamodb.StreamViewType | None = None,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            table_name=table_name,
            partition_key=_string(partition_key),
            sort_key=_string(sort_key) if sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            time_to_live_attribute=time_to_live_attribute,
            stream=stream,
            removal_policy=removal_policy,
            # unset (not false) elsewhere: the template of other stages stays as it was
            deletion_protection=True if Settings.from_node(self.node).deletion_protection else None,
        )

    def add_keys_only_index(self, *, index_name: str, partition_key: str, sort_key: str) -> None:
        """Add a global secondary index projecting only the keys."""
        self.table.add_global_secondary_index(
            index_name=index_name,
            partition_key=_string(partition_key),
            sort_key=_string(sort_key),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )

    def add_index(self, *, index_name: str, partition_key: str, sort_key: str | None = None) -> None:
        """Add a global secondary index projecting every attribute."""
        self.table.add_global_secondary_index(
            index_name=index_name,
            partition_key=_string(partition_key),
            sort_key=_string(sort_key) if sort_key else None,
            projection_type=dynamodb.ProjectionType.ALL,
        )
