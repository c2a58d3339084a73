"""ShopstackCustomers: the Customers table and the CustomersApi function."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import names, references
from infra.components import OnDemandTable, ServiceFunction
from infra.settings import Settings


class CustomersStack(Stack):
    """Profiles, the staff CRM, data export and erasure."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        layer: lambda_.ILayerVersion,
        event_bus: events.IEventBus,
        orders_table: dynamodb.ITable,
        carts_table: dynamodb.ITable,
        user_pool: cognito.IUserPool,
        user_pool_client: cognito.IUserPoolClient,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, description="shopstack: customers service", **kwargs)
        stage = settings.stage
        layer = references.layer(self, "SharedLayerRef", layer, stage=stage)
        self.event_bus = event_bus = references.event_bus(self, "EventBusRef", event_bus)
        self.orders_table = orders_table = references.table(self, "OrdersTableRef", orders_table)
        self.carts_table = carts_table = references.table(self, "CartsTableRef", carts_table)
        user_pool_client_id = references.user_pool_client_id(self, user_pool_client, stage=stage)
        self.user_pool = user_pool = references.user_pool(self, "UserPoolRef", user_pool, stage=stage)

        customers = OnDemandTable(
            self,
            "Customers",
            table_name=names.resource_name(stage, "customers"),
            partition_key="pk",
            sort_key="sk",
            removal_policy=settings.removal_policy,
        )
        customers.add_index(index_name="byEmail", partition_key="email")
        self.customers_table = customers.table

        self.api_function = ServiceFunction(
            self,
            "CustomersApi",
            service="customers",
            handler="customers.entrypoints.api.handler",
            description="shopstack customers: profiles, export and erasure, and the staff CRM",
            timeout=Duration.seconds(10),
            layers=[layer],
            log_retention=settings.log_retention,
            environment={
                "CUSTOMERS_TABLE": self.customers_table.table_name,
                "ORDERS_TABLE": orders_table.table_name,
                "CARTS_TABLE": carts_table.table_name,
                "EVENT_BUS_NAME": event_bus.event_bus_name,
                "USER_POOL_ID": user_pool.user_pool_id,
                "USER_POOL_CLIENT_ID": user_pool_client_id,
            },
        ).function
        references.publish_function_arn(self, self.api_function, name="CustomersApi", stage=stage)

        CfnOutput(self, "CustomersTableName", value=self.customers_table.table_name)
