"""The shopstack CDK app: composes the stacks, grants access between them, runs cdk-nag.

`cdk synth` runs it through cdk.json; `python -m infra.app --outdir DIR [--local]` synthesizes
without the CLI (`--local` skips asset bundling, so the layer asset is its source folder).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks

from infra import names, references
from infra.components.dashboard import StageDashboard
from infra.nag import acknowledge_findings
from infra.settings import Settings, load_cdk_json_context
from infra.stacks import (
    AnalyticsStack,
    ApiStack,
    CheckoutStack,
    CustomersStack,
    IntegrationsStack,
    InventoryStack,
    OrdersStack,
    SharedStack,
    WebStack,
)
from infra.stacks.api import STAGE_NAME as API_STAGE_NAME

BUNDLING_STACKS = "aws:cdk:bundling-stacks"
STACK_IDS = (
    "ShopstackShared",
    "ShopstackInventory",
    "ShopstackOrders",
    "ShopstackAnalytics",
    "ShopstackCheckout",
    "ShopstackCustomers",
    "ShopstackIntegrations",
    "ShopstackApi",
    "ShopstackWeb",
)


IDEMPOTENCY_ACTIONS = ("GetItem", "PutItem", "UpdateItem", "DeleteItem")
"""What Powertools' DynamoDBPersistenceLayer does to its records (DeleteItem when the handler fails)."""


def _dynamodb(function: lambda_.IFunction, table: dynamodb.ITable, *actions: str, indexes: Sequence[str] = ()) -> None:
    """`dynamodb:<action>` on `table` for each of `actions`, and dynamodb:Query on each of its `indexes`
    (by name, not `index/*`)."""
    if actions:
        function.add_to_role_policy(
            iam.PolicyStatement(actions=[f"dynamodb:{action}" for action in actions], resources=[table.table_arn])
        )
    if indexes:
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"], resources=[f"{table.table_arn}/index/{index}" for index in indexes]
            )
        )


def build_app(
    *,
    outdir: str | None = None,
    local: bool = False,
    context: Mapping[str, Any] | None = None,
) -> cdk.App:
    """Build (not synthesize) the app with cdk.json's context, overridden by `context`.

    `local=True` skips asset bundling. Context set by the CDK CLI still takes precedence.
    """
    merged: dict[str, Any] = load_cdk_json_context()
    merged.update(context or {})
    if local:
        merged[BUNDLING_STACKS] = []
    app = cdk.App(outdir=outdir, context=merged)
    compose(app, env=None if local else environment())
    return app


def environment() -> cdk.Environment | None:
    """The account and region the CDK CLI resolved (`CDK_DEFAULT_ACCOUNT`/`CDK_DEFAULT_REGION`), or
    None (environment-agnostic templates) when it resolved neither, as in an offline synth."""
    account = os.environ.get("CDK_DEFAULT_ACCOUNT") or None
    region = os.environ.get("CDK_DEFAULT_REGION") or None
    if account is None and region is None:
        return None
    return cdk.Environment(account=account, region=region)


def _stack(settings: Settings, service: str, env: cdk.Environment | None) -> dict[str, Any]:
    """Stack props: the stage-aware stack name `shopstack-<stage>-<service>` and the environment."""
    return {"stack_name": names.stack_name(settings.stage, service), "env": env}


def _dashboard(
    settings: Settings,
    api: ApiStack,
    *,
    stacks: Sequence[cdk.Stack],
    workflows: Mapping[str, Any],
) -> StageDashboard:
    """The stage's dashboard, in the Api stack (deployed last), with every alarm of every stack by its
    name and the state machines by theirs (no reference to another stack's resource)."""
    alarms: list[cloudwatch.IAlarm] = []
    dead_letter_alarms: list[cloudwatch.IAlarm] = []
    for stack in stacks:
        for alarm in (c for c in stack.node.find_all() if isinstance(c, cloudwatch.Alarm)):
            if stack is api:
                seen: cloudwatch.IAlarm = alarm
            else:
                name = references.physical_name(alarm, "alarm_name")
                seen = cloudwatch.Alarm.from_alarm_name(api, f"{alarm.node.id}Ref", name)
            alarms.append(seen)
            resource = alarm.node.default_child
            if isinstance(resource, cloudwatch.CfnAlarm) and resource.namespace == "AWS/SQS":
                dead_letter_alarms.append(seen)
    return StageDashboard(
        api,
        "Dashboard",
        settings=settings,
        api_name=references.physical_name(api.rest_api, "name"),
        api_stage=API_STAGE_NAME,
        access_logs=api.access_logs,
        workflows={
            label: references.physical_name(machine, "state_machine_name") for label, machine in workflows.items()
        },
        alarms=alarms,
        dead_letter_alarms=dead_letter_alarms,
    )


def compose(app: cdk.App, *, env: cdk.Environment | None = None) -> None:
    """Create the stacks and wire them together.

    Stacks share nothing through CloudFormation exports (see infra.references): each stack makes
    its own references to what it uses, grants go to those references, and the deploy order is
    declared here with `add_stack_dependency`.
    """
    settings = Settings.from_node(app.node)

    shared = SharedStack(app, "ShopstackShared", settings=settings, **_stack(settings, "shared", env))
    inventory = InventoryStack(
        app,
        "ShopstackInventory",
        **_stack(settings, "inventory", env),
        settings=settings,
        layer=shared.layer,
        event_bus=shared.event_bus,
        idempotency_table=shared.idempotency_table,
    )
    orders = OrdersStack(
        app,
        "ShopstackOrders",
        **_stack(settings, "orders", env),
        settings=settings,
        layer=shared.layer,
        event_bus=shared.event_bus,
        products_table=inventory.products_table,
        idempotency_table=shared.idempotency_table,
        user_pool=shared.user_pool,
        user_pool_client=shared.user_pool_client,
        stripe_secret_name=shared.stripe_secret_name,
        alarm_topic=shared.alarm_topic,
    )
    analytics = AnalyticsStack(
        app,
        "ShopstackAnalytics",
        **_stack(settings, "analytics", env),
        settings=settings,
        layer=shared.layer,
        event_bus=shared.event_bus,
        alarm_topic=shared.alarm_topic,
    )
    checkout = CheckoutStack(
        app,
        "ShopstackCheckout",
        **_stack(settings, "checkout", env),
        settings=settings,
        layer=shared.layer,
        event_bus=shared.event_bus,
        idempotency_table=shared.idempotency_table,
        products_table=inventory.products_table,
        orders_table=orders.orders_table,
        order_workflow=orders.workflow,
        user_pool=shared.user_pool,
        user_pool_client=shared.user_pool_client,
        stripe_secret_name=shared.stripe_secret_name,
        alarm_topic=shared.alarm_topic,
    )
    customers = CustomersStack(
        app,
        "ShopstackCustomers",
        **_stack(settings, "customers", env),
        settings=settings,
        layer=shared.layer,
        event_bus=shared.event_bus,
        orders_table=orders.orders_table,
        carts_table=checkout.carts_table,
        user_pool=shared.user_pool,
        user_pool_client=shared.user_pool_client,
    )
    integrations = IntegrationsStack(
        app,
        "ShopstackIntegrations",
        **_stack(settings, "integrations", env),
        settings=settings,
        layer=shared.layer,
        event_bus=shared.event_bus,
        alarm_topic=shared.alarm_topic,
    )
    api = ApiStack(
        app,
        "ShopstackApi",
        **_stack(settings, "api", env),
        settings=settings,
        user_pool=shared.user_pool,
        layer=shared.layer,
        alarm_topic=shared.alarm_topic,
        functions={
            "InventoryApi": inventory.api_function,
            "CheckoutApi": checkout.api_function,
            "OrdersApi": orders.api_function,
            "CustomersApi": customers.api_function,
            "AnalyticsApi": analytics.api_function,
            "IntegrationsApi": integrations.api_function,
        },
    )

    web = WebStack(app, "ShopstackWeb", **_stack(settings, "web", env), settings=settings)

    # Deploy order: a stack reads the SSM parameters and names of the stacks it uses at deploy time.
    for consumer, producers in (
        (inventory, [shared]),
        (orders, [shared, inventory]),
        (analytics, [shared]),
        (checkout, [shared, inventory, orders]),
        (customers, [shared, orders, checkout]),
        (integrations, [shared]),
        (api, [shared, inventory, orders, analytics, checkout, customers, integrations]),
        (web, [shared, api]),
    ):
        for producer in producers:
            consumer.add_stack_dependency(producer)

    # Functions behind the API answer browsers from the configured origins only (cdk.json
    # corsAllowOrigins), as the gateway's preflight and problem responses do.
    for function in (
        inventory.api_function,
        orders.api_function,
        checkout.api_function,
        customers.api_function,
        analytics.api_function,
        integrations.api_function,
        api.docs_function,
    ):
        function.add_environment("CORS_ALLOW_ORIGINS", ",".join(settings.cors_allow_origins))

    # Every function behind the API refuses an erased account's still-valid token: it reads the
    # erasure (GetItem by sub); only the customers service, which erases, writes one.
    for function in (
        inventory.api_function,
        orders.api_function,
        checkout.api_function,
        customers.api_function,
        analytics.api_function,
        integrations.api_function,
    ):
        erasures = references.table(function, "ErasuresTableRef", shared.erasures_table)
        function.add_environment("ERASURES_TABLE", erasures.table_name)
        erasures.grant(function, "dynamodb:GetItem")
        if function is customers.api_function:
            erasures.grant(function, "dynamodb:PutItem")

    # Grants across stacks go to the using stack's own references (a grant on the owner's construct
    # would put its ARN in the other stack and create an export). DynamoDB: exactly the actions each
    # function's code makes (tests/infra/test_least_privilege.py pins them); a transaction's Put and
    # Update need PutItem and UpdateItem, Powertools idempotency Gets, Puts, Updates and Deletes its
    # records; Query on an index is granted on that index alone.
    catalog = inventory.products_table
    _dynamodb(inventory.api_function, catalog, "GetItem", "BatchGetItem", "Scan", "PutItem", "UpdateItem")
    _dynamodb(inventory.api_function, catalog, indexes=("byCategory",))
    _dynamodb(inventory.api_function, inventory.idempotency_table, *IDEMPOTENCY_ACTIONS)
    inventory.event_bus.grant_put_events_to(inventory.api_function)

    orders_table, products = orders.orders_table, orders.products_table
    # OrdersApi: orders by key, by owner/status (admin lists without a status scan the table), shipments
    # and returns under the order and by id/tracking; refunds restock and cancellations release stock.
    _dynamodb(orders.api_function, orders_table, "GetItem", "Query", "Scan", "PutItem", "UpdateItem")
    _dynamodb(
        orders.api_function, orders_table, indexes=("byOwner", "byStatus", "byShipment", "byTracking", "byReturn")
    )
    _dynamodb(orders.api_function, products, "UpdateItem")
    _dynamodb(orders.api_function, orders.idempotency_table, *IDEMPOTENCY_ACTIONS)
    # OrderTasks: the workflow's steps read the order, move it and its stock, and put its invoice.
    _dynamodb(orders.tasks_function, orders_table, "GetItem", "PutItem", "UpdateItem")
    _dynamodb(orders.tasks_function, products, "UpdateItem")
    # OrderReconciler: in-flight orders by status, a stuck refund's return by id and its order's returns.
    _dynamodb(orders.reconciler_function, orders_table, "GetItem", "Query", "UpdateItem")
    _dynamodb(orders.reconciler_function, orders_table, indexes=("byStatus", "byReturn"))
    _dynamodb(orders.reconciler_function, products, "UpdateItem")
    # OrderFulfilment reads the order and stamps its acceptance; OrderNotifications reads the order and
    # its shipments and marks each email sent.
    _dynamodb(orders.fulfilment_consumer, orders_table, "GetItem", "UpdateItem")
    _dynamodb(orders.notifications_function, orders_table, "GetItem", "Query", "UpdateItem")
    for function in (orders.tasks_function, orders.api_function, orders.reconciler_function):
        orders.stripe_secret.grant_read(function)
    # The reconciler restarts the workflow of an order left PAID past the workflow's timeout.
    orders.workflow.grant_start_execution(orders.reconciler_function)
    orders.fulfilment_queue.grant_send_messages(orders.tasks_function)
    orders.tasks_function.grant_invoke(orders.workflow)
    orders.carrier_secret.grant_read(orders.api_function)
    # Only OrderNotifications sends email (ses:SendEmail on the sender identity); it backs failed
    # messages off (ChangeMessageVisibility, part of the consume grant its event source adds).
    orders.email_identity.grant_send_email(orders.notifications_function)
    orders.event_bus.grant_put_events_to(orders.events_publisher)

    # AnalyticsConsumer: one transaction per event (Put of its marker and records, Update of counters)
    # after reading the cart record and the marker.
    _dynamodb(analytics.consumer, analytics.analytics_table, "GetItem", "PutItem", "UpdateItem")
    analytics.queue.grant_consume_messages(analytics.consumer)
    # AbandonedCartSweep: carts pending past the idle time (Query byPending), each read and, with its
    # day's counter, written in one transaction. AnalyticsApi: month partitions of counters (Query) and
    # abandoned carts by month (Query byAbandoned).
    _dynamodb(analytics.sweep_function, analytics.analytics_table, "GetItem", "PutItem", "UpdateItem")
    _dynamodb(analytics.sweep_function, analytics.analytics_table, indexes=("byPending",))
    _dynamodb(analytics.api_function, analytics.analytics_table, "Query")
    _dynamodb(analytics.api_function, analytics.analytics_table, indexes=("byAbandoned",))

    # Webhooks: the fan-out lists the subscriptions (Query) and creates deliveries (Put, or Get of one
    # that exists) and queues them; the delivery function reads a delivery and its subscription, records
    # the attempt and the subscription's state (Put), queues the next attempt or dead-letters it, and
    # announces a disabled subscription; staff list, register, rotate, enable and delete subscriptions,
    # read deliveries by webhook (Query byWebhook) and queue a redelivery.
    webhooks = integrations.webhooks_table
    _dynamodb(integrations.fanout_function, webhooks, "GetItem", "Query", "PutItem")
    _dynamodb(integrations.delivery_function, webhooks, "GetItem", "PutItem")
    _dynamodb(integrations.api_function, webhooks, "GetItem", "Query", "PutItem", "DeleteItem")
    _dynamodb(integrations.api_function, webhooks, indexes=("byWebhook",))
    integrations.events_queue.grant_consume_messages(integrations.fanout_function)
    integrations.delivery_queue.grant_consume_messages(integrations.delivery_function)
    for function in (integrations.fanout_function, integrations.delivery_function, integrations.api_function):
        integrations.delivery_queue.grant_send_messages(function)
    integrations.delivery_dlq.grant_send_messages(integrations.delivery_function)
    integrations.event_bus.grant_put_events_to(integrations.delivery_function)

    # CheckoutApi: carts (and the guest hold counters and Stripe event log in the Carts table), prices
    # and stock by SKU, the order it places (with its stock, in one transaction) and pays or cancels.
    _dynamodb(checkout.api_function, checkout.carts_table, "GetItem", "PutItem", "UpdateItem")
    _dynamodb(checkout.api_function, checkout.products_table, "BatchGetItem", "UpdateItem")
    _dynamodb(checkout.api_function, checkout.orders_table, "GetItem", "PutItem", "UpdateItem")
    _dynamodb(checkout.api_function, checkout.idempotency_table, *IDEMPOTENCY_ACTIONS)
    # CheckoutTasks (the ReservationExpiry queue): reads the order, cancels it and releases its stock,
    # or pays it; a reservation longer than SQS's 15-minute delay is sent on again.
    _dynamodb(checkout.tasks_function, checkout.orders_table, "GetItem", "UpdateItem")
    _dynamodb(checkout.tasks_function, checkout.products_table, "UpdateItem")
    # Only CheckoutApi publishes (cart events); the expiry's settlement publishes nothing.
    checkout.event_bus.grant_put_events_to(checkout.api_function)
    for function in (checkout.api_function, checkout.tasks_function):
        checkout.stripe_secret.grant_read(function)
        # A payment authorized at the last moment is paid by the expiry, which starts its workflow.
        checkout.order_workflow.grant_start_execution(function)
        # Checkout sends each unpaid order's delayed expiry message; the expiry re-delays a long one.
        checkout.expiry_queue.grant_send_messages(function)

    # CustomersApi: profiles and interactions (by email through byEmail), the customer's whole partition
    # deleted in batches on erasure; their orders found through byOwner and anonymized in place
    # (UpdateItem only: orders are kept for accounting); their carts found by a filtered scan (no index
    # by owner) and deleted; and their Cognito user deleted.
    _dynamodb(
        customers.api_function, customers.customers_table, "GetItem", "Query", "PutItem", "UpdateItem", "BatchWriteItem"
    )
    _dynamodb(customers.api_function, customers.customers_table, indexes=("byEmail",))
    _dynamodb(customers.api_function, customers.orders_table, "Query", "UpdateItem")
    _dynamodb(customers.api_function, customers.orders_table, indexes=("byOwner",))
    _dynamodb(customers.api_function, customers.carts_table, "Scan", "DeleteItem")
    customers.event_bus.grant_put_events_to(customers.api_function)
    customers.user_pool.grant(customers.api_function, "cognito-idp:AdminDeleteUser", "cognito-idp:AdminGetUser")

    _dashboard(
        settings,
        api,
        stacks=(shared, inventory, orders, analytics, checkout, customers, integrations, api),
        workflows={"order workflow": orders.workflow},
    )

    for stack in (shared, inventory, orders, analytics, checkout, customers, integrations, api, web):
        cdk.Tags.of(stack).add("project", "shopstack")
        cdk.Tags.of(stack).add("stage", settings.stage)

    acknowledge_findings(
        shared=shared,
        inventory=inventory,
        orders=orders,
        analytics=analytics,
        checkout=checkout,
        customers=customers,
        integrations=integrations,
        api=api,
        web=web,
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def main(argv: Sequence[str] | None = None) -> None:
    """Synthesize the app into `--outdir` (or the directory the CDK CLI asks for)."""
    parser = argparse.ArgumentParser(prog="python -m infra.app", description=__doc__)
    parser.add_argument("--outdir", help="cloud assembly directory (default: the CLI's, else cdk.out)")
    parser.add_argument("--local", action="store_true", help="skip asset bundling (local cloud)")
    args = parser.parse_args(argv)
    outdir = args.outdir or os.environ.get("CDK_OUTDIR") or "cdk.out"
    build_app(outdir=outdir, local=args.local).synth()


if __name__ == "__main__":
    main()
