"""ShopstackInventory: the Products table and the InventoryApi function."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import names, references
from infra.components import OnDemandTable, ServiceFunction
from infra.settings import Settings


class InventoryStack(Stack):
    """Catalog, stock, reservations and admin adjustments."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        layer: lambda_.ILayerVersion,
        event_bus: events.IEventBus,
        idempotency_table: dynamodb.ITable,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, description="shopstack: inventory service", **kwargs)
        layer = references.layer(self, "SharedLayerRef", layer, stage=settings.stage)
        self.event_bus = event_bus = references.event_bus(self, "EventBusRef", event_bus)
        self.idempotency_table = idempotency_table = references.table(self, "IdempotencyTableRef", idempotency_table)

        products = OnDemandTable(
            self,
            "Products",
            table_name=names.resource_name(settings.stage, "products"),
            partition_key="sku",
            removal_policy=settings.removal_policy,
        )
        products.add_keys_only_index(index_name="byCategory", partition_key="category", sort_key="sku")
        self.products_table = products.table

        self.api_function = ServiceFunction(
            self,
            "InventoryApi",
            service="inventory",
            handler="inventory.entrypoints.api.handler",
            description="shopstack inventory: catalog and admin inventory routes",
            timeout=Duration.seconds(10),
            layers=[layer],
            log_retention=settings.log_retention,
            environment={
                "PRODUCTS_TABLE": self.products_table.table_name,
                "IDEMPOTENCY_TABLE": idempotency_table.table_name,
                "EVENT_BUS_NAME": event_bus.event_bus_name,
                "CATALOG_CURRENCY": settings.catalog_currency,
                "LOG_LEVEL": "INFO",
            },
        ).function
        references.publish_function_arn(self, self.api_function, name="InventoryApi", stage=settings.stage)

        CfnOutput(self, "ProductsTableName", value=self.products_table.table_name)
