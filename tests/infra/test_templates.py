"""Template assertions: every resource the architecture names, with the agreed settings."""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest
from aws_cdk.assertions import Match

from infra.routes import ROUTES
from infra.settings import load_cdk_json_context
from tests.infra.conftest import Synthesized, load_json


class Expected(NamedTuple):
    """A function as docs/architecture.md names it."""

    stack: str
    handler: str
    environment: frozenset[str]
    service: str
    timeout: int


CHECKOUT_TASKS_ENV = frozenset(
    {"CARTS_TABLE", "PRODUCTS_TABLE", "ORDERS_TABLE", "EVENT_BUS_NAME", "STRIPE_SECRET_NAME"}
)
WEBHOOKS_ENV = frozenset({"WEBHOOKS_TABLE", "DELIVERY_QUEUE_URL", "DELIVERY_DLQ_URL", "EVENT_BUS_NAME"})
FUNCTIONS = {
    "ApiDocs": Expected(
        "ShopstackApi", "apidocs.entrypoints.api.handler", frozenset({"CATALOG_CURRENCY"}), "apidocs", 10
    ),
    "InventoryApi": Expected(
        "ShopstackInventory",
        "inventory.entrypoints.api.handler",
        frozenset({"PRODUCTS_TABLE", "IDEMPOTENCY_TABLE", "EVENT_BUS_NAME", "CATALOG_CURRENCY", "LOG_LEVEL"}),
        "inventory",
        10,
    ),
    "OrderTasks": Expected(
        "ShopstackOrders",
        "orders.entrypoints.tasks.handler",
        frozenset(
            {
                "ORDERS_TABLE",
                "PRODUCTS_TABLE",
                "STRIPE_SECRET_NAME",
                "FULFILMENT_QUEUE_URL",
                "SELLER_EMAIL",
                "SHOP_NAME",
            }
        ),
        "orders",
        30,
    ),
    "OrdersApi": Expected(
        "ShopstackOrders",
        "orders.entrypoints.api.handler",
        frozenset(
            {
                "ORDERS_TABLE",
                "PRODUCTS_TABLE",
                "IDEMPOTENCY_TABLE",
                "STRIPE_SECRET_NAME",
                "STRIPE_TIMEOUT_SECONDS",
                "STRIPE_NETWORK_RETRIES",
                "CARRIER_SECRET_NAME",
                "RETURN_WINDOW_DAYS",
                "SELLER_EMAIL",
                "SHOP_NAME",
                "USER_POOL_ID",
                "USER_POOL_CLIENT_ID",
            }
        ),
        "orders",
        10,
    ),
    "FulfilmentConsumer": Expected(
        "ShopstackOrders", "orders.entrypoints.on_fulfilment.handler", frozenset({"ORDERS_TABLE"}), "orders", 30
    ),
    "OrderNotifications": Expected(
        "ShopstackOrders",
        "orders.entrypoints.on_notify.handler",
        frozenset({"ORDERS_TABLE", "MAIL_FROM", "SHOP_NAME", "NOTIFY_QUEUE_URL", "NOTIFY_MAX_RECEIVES"}),
        "orders",
        15,
    ),
    "OrderEventsPublisher": Expected(
        "ShopstackOrders", "orders.entrypoints.on_change.handler", frozenset({"EVENT_BUS_NAME"}), "orders", 30
    ),
    "AnalyticsConsumer": Expected(
        "ShopstackAnalytics",
        "analytics.entrypoints.on_event.handler",
        frozenset({"ANALYTICS_TABLE"}),
        "analytics",
        30,
    ),
    "AbandonedCartSweep": Expected(
        "ShopstackAnalytics",
        "analytics.entrypoints.sweep.handler",
        frozenset({"ANALYTICS_TABLE", "ABANDONED_CART_MINUTES"}),
        "analytics",
        60,
    ),
    "AnalyticsApi": Expected(
        "ShopstackAnalytics", "analytics.entrypoints.api.handler", frozenset({"ANALYTICS_TABLE"}), "analytics", 10
    ),
    "WebhookFanout": Expected(
        "ShopstackIntegrations", "integrations.entrypoints.fanout.handler", WEBHOOKS_ENV, "integrations", 30
    ),
    "WebhookDelivery": Expected(
        "ShopstackIntegrations", "integrations.entrypoints.deliver.handler", WEBHOOKS_ENV, "integrations", 30
    ),
    "IntegrationsApi": Expected(
        "ShopstackIntegrations", "integrations.entrypoints.api.handler", WEBHOOKS_ENV, "integrations", 10
    ),
    "CheckoutApi": Expected(
        "ShopstackCheckout",
        "checkout.entrypoints.api.handler",
        CHECKOUT_TASKS_ENV
        | {
            "IDEMPOTENCY_TABLE",
            "STRIPE_TIMEOUT_SECONDS",
            "STRIPE_NETWORK_RETRIES",
            "GUEST_HOLD_LIMITS",
            "ORDER_WORKFLOW_ARN",
            "RESERVATION_QUEUE_URL",
            "RESERVATION_TTL_SECONDS",
            "USER_POOL_ID",
            "USER_POOL_CLIENT_ID",
        },
        "checkout",
        10,
    ),
    "CheckoutTasks": Expected(
        "ShopstackCheckout",
        "checkout.entrypoints.tasks.handler",
        CHECKOUT_TASKS_ENV | {"ORDER_WORKFLOW_ARN", "RESERVATION_QUEUE_URL"},
        "checkout",
        30,
    ),
    "OrderReconciler": Expected(
        "ShopstackOrders",
        "orders.entrypoints.reconcile.handler",
        frozenset(
            {
                "ORDERS_TABLE",
                "PRODUCTS_TABLE",
                "STRIPE_SECRET_NAME",
                "ORDER_WORKFLOW_ARN",
                "RESERVATION_TTL_SECONDS",
                "RECONCILE_STUCK_AFTER_SECONDS",
                "ORDER_WORKFLOW_TIMEOUT_SECONDS",
            }
        ),
        "orders",
        120,
    ),
    "CustomersApi": Expected(
        "ShopstackCustomers",
        "customers.entrypoints.api.handler",
        frozenset(
            {"CUSTOMERS_TABLE", "ORDERS_TABLE", "CARTS_TABLE", "EVENT_BUS_NAME", "USER_POOL_ID", "USER_POOL_CLIENT_ID"}
        ),
        "customers",
        10,
    ),
}
FUNCTION_STACKS = {expected.stack for expected in FUNCTIONS.values()}
LAMBDA_SERVICE_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}


def _function(synthesized: Synthesized, name: str) -> dict[str, Any]:
    """The one function of `name`'s stack with its handler."""
    expected = FUNCTIONS[name]
    matches = [
        res["Properties"]
        for res in synthesized.resources(expected.stack, "AWS::Lambda::Function").values()
        if res["Properties"]["Handler"] == expected.handler
    ]
    assert len(matches) == 1, name
    return matches[0]


def test_every_function_is_expected(synthesized: Synthesized) -> None:
    for stack in FUNCTION_STACKS:
        handlers = {
            res["Properties"]["Handler"] for res in synthesized.resources(stack, "AWS::Lambda::Function").values()
        }
        assert handlers == {e.handler for e in FUNCTIONS.values() if e.stack == stack}, stack


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_runtime_architecture_and_environment(synthesized: Synthesized, name: str) -> None:
    expected = FUNCTIONS[name]
    props = _function(synthesized, name)
    assert props["Runtime"] == "python3.14"
    assert props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == 512
    assert props["Timeout"] == expected.timeout
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert len(props["Layers"]) == 1
    assert "LoggingConfig" in props and "LogGroup" in props["LoggingConfig"]
    variables = props["Environment"]["Variables"]
    behind_the_api = expected.handler.endswith(".entrypoints.api.handler")
    cors = {"CORS_ALLOW_ORIGINS"} if behind_the_api else set()
    # Every service behind the API refuses an erased account's token (commerce.erasures).
    erasures = {"ERASURES_TABLE"} if behind_the_api and name != "ApiDocs" else set()
    assert {key for key in variables if not key.startswith("POWERTOOLS_")} == expected.environment | cors | erasures
    if behind_the_api:
        assert variables["CORS_ALLOW_ORIGINS"] == ",".join(load_cdk_json_context()["corsAllowOrigins"])
    assert variables["POWERTOOLS_SERVICE_NAME"] == expected.service
    assert synthesized.resources(expected.stack, "AWS::Logs::LogGroup"), "functions log to an explicit log group"


def test_function_assets_hold_only_their_service(synthesized: Synthesized) -> None:
    for name, expected in FUNCTIONS.items():
        key = _function(synthesized, name)["Code"]["S3Key"]
        manifest = load_json(synthesized.outdir / f"{expected.stack}.assets.json")
        asset = synthesized.outdir / manifest["files"][key.removesuffix(".zip")]["source"]["path"]
        package = expected.handler.split(".")[0]
        assert sorted(p.name for p in asset.iterdir()) == [package]
        assert (asset / package / "__init__.py").is_file()
        if name == "ApiDocs":  # the static site the synth built: the function imports no other service
            assert {p.name for p in (asset / package / "generated").iterdir()} == {"openapi.json", "docs.html"}
        assert not list(asset.rglob("__pycache__")) and not list(asset.rglob("*.pyc"))


def test_tables_are_on_demand_with_pitr(synthesized: Synthesized) -> None:
    tables = {
        ("ShopstackShared", "Idempotency"): (["id"], "expiration"),
        ("ShopstackShared", "Erasures"): (["customerId"], None),
        ("ShopstackInventory", "Products"): (["sku"], None),
        ("ShopstackOrders", "Orders"): (["pk", "sk"], None),
        ("ShopstackAnalytics", "Analytics"): (["pk", "sk"], "expiresAt"),
        ("ShopstackIntegrations", "Webhooks"): (["pk", "sk"], "expiresAt"),
        ("ShopstackCheckout", "Carts"): (["pk", "sk"], "expiresAt"),
        ("ShopstackCustomers", "Customers"): (["pk", "sk"], None),
    }
    for stack in {stack for stack, _ in tables}:
        found = synthesized.resources(stack, "AWS::DynamoDB::Table")
        assert sorted(logical.partition("Table")[0] for logical in found) == sorted(
            name for owner, name in tables if owner == stack
        ), stack
    for (stack, name), (keys, ttl) in tables.items():
        resources = synthesized.resources(stack, "AWS::DynamoDB::Table")
        props = next(res for logical, res in resources.items() if logical.startswith(f"{name}Table"))["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert [key["AttributeName"] for key in props["KeySchema"]] == keys
        assert all(attr["AttributeType"] == "S" for attr in props["AttributeDefinitions"])
        if ttl:
            assert props["TimeToLiveSpecification"] == {"AttributeName": ttl, "Enabled": True}
        else:
            assert "TimeToLiveSpecification" not in props


def test_products_by_category_index(synthesized: Synthesized) -> None:
    synthesized.templates["ShopstackInventory"].has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "byCategory",
                    "KeySchema": [
                        {"AttributeName": "category", "KeyType": "HASH"},
                        {"AttributeName": "sku", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            ]
        },
    )


@pytest.mark.parametrize(
    ("stack", "work_count", "queue_count"), [("ShopstackOrders", 2, 5), ("ShopstackAnalytics", 1, 2)]
)
def test_queues_have_dlq_and_tls(synthesized: Synthesized, stack: str, work_count: int, queue_count: int) -> None:
    queues = synthesized.resources(stack, "AWS::SQS::Queue")
    assert len(queues) == queue_count
    work = {key: q for key, q in queues.items() if "RedrivePolicy" in q["Properties"]}
    assert len(work) == work_count
    functions = synthesized.resources(stack, "AWS::Lambda::Function")
    mappings = synthesized.resources(stack, "AWS::Lambda::EventSourceMapping").values()
    for key, queue in work.items():
        props = queue["Properties"]
        assert props["RedrivePolicy"]["maxReceiveCount"] == 5
        dlq_id = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert dlq_id in queues
        (consumer,) = (
            m["Properties"]["FunctionName"]["Ref"]
            for m in mappings
            if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [key, "Arn"]}
        )
        assert props["VisibilityTimeout"] >= 6 * functions[consumer]["Properties"]["Timeout"]
    assert all(q["Properties"]["SqsManagedSseEnabled"] is True for q in queues.values())
    policies = synthesized.resources(stack, "AWS::SQS::QueuePolicy")
    secure = [
        statement
        for policy in policies.values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(secure) == queue_count, "every queue denies non-TLS access"


def test_event_bus_name(synthesized: Synthesized) -> None:
    stage = load_cdk_json_context()["stage"]
    synthesized.templates["ShopstackShared"].has_resource_properties(
        "AWS::Events::EventBus", {"Name": f"shopstack-{stage}"}
    )


def test_rule_routes_every_shopstack_event_to_the_analytics_queue(synthesized: Synthesized) -> None:
    rules = synthesized.resources("ShopstackAnalytics", "AWS::Events::Rule")
    (props,) = [r["Properties"] for r in rules.values() if "EventPattern" in r["Properties"]]
    assert props["EventPattern"] == {"source": [{"prefix": "shopstack."}]}
    assert props["EventBusName"] == f"shopstack-{load_cdk_json_context()['stage']}"
    (target,) = props["Targets"]
    queue_id = target["Arn"]["Fn::GetAtt"][0]
    queue = synthesized.raw["ShopstackAnalytics"]["Resources"][queue_id]
    assert "RedrivePolicy" in queue["Properties"]
    assert "DeadLetterConfig" in target


def test_analytics_consumer_event_source(synthesized: Synthesized) -> None:
    synthesized.templates["ShopstackAnalytics"].has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"BatchSize": 10, "FunctionResponseTypes": ["ReportBatchItemFailures"]},
    )


def test_the_order_workflow_is_the_one_state_machine_express_traced_and_logged(synthesized: Synthesized) -> None:
    machines = {
        stack: synthesized.resources(stack, "AWS::StepFunctions::StateMachine") for stack in synthesized.templates
    }
    assert {stack: len(found) for stack, found in machines.items() if found} == {"ShopstackOrders": 1}
    props = next(iter(machines["ShopstackOrders"].values()))["Properties"]
    assert props["StateMachineType"] == "EXPRESS", "billed per request and duration, not per transition"
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL", "an Express execution's history is only in its logs"


def test_user_pool_and_admin_group(synthesized: Synthesized) -> None:
    template = synthesized.templates["ShopstackShared"]
    template.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "UsernameAttributes": ["email"],
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": False},
            "Policies": {"PasswordPolicy": Match.object_like({"MinimumLength": 12})},
        },
    )
    template.has_resource_properties("AWS::Cognito::UserPoolGroup", {"GroupName": "admin"})
    template.has_resource_properties(
        "AWS::Cognito::UserPoolClient",
        {
            "ExplicitAuthFlows": Match.array_with(
                [
                    "ALLOW_USER_PASSWORD_AUTH",
                    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
                    "ALLOW_USER_SRP_AUTH",
                    "ALLOW_REFRESH_TOKEN_AUTH",
                ]
            ),
            "GenerateSecret": False,
        },
    )


def test_shared_layer_targets_the_runtime(synthesized: Synthesized) -> None:
    synthesized.templates["ShopstackShared"].has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleRuntimes": ["python3.14"], "CompatibleArchitectures": ["arm64"]},
    )


def test_rest_api_stage(synthesized: Synthesized) -> None:
    context = load_cdk_json_context()
    stages = synthesized.resources("ShopstackApi", "AWS::ApiGateway::Stage")
    assert len(stages) == 1
    props = next(iter(stages.values()))["Properties"]
    assert props["StageName"] == "v1"
    assert props["TracingEnabled"] is True
    assert "DestinationArn" in props["AccessLogSetting"]
    assert props["AccessLogSetting"]["Format"].startswith("{")
    throttling = [s for s in props["MethodSettings"] if s["ResourcePath"] == "/*" and s["HttpMethod"] == "*"]
    assert throttling[0]["ThrottlingRateLimit"] == context["apiThrottlingRateLimit"]
    assert throttling[0]["ThrottlingBurstLimit"] == context["apiThrottlingBurstLimit"]
    synthesized.templates["ShopstackApi"].resource_count_is("AWS::ApiGateway::RestApi", 1)
    synthesized.templates["ShopstackApi"].has_resource_properties(
        "AWS::ApiGateway::Authorizer", {"Type": "COGNITO_USER_POOLS"}
    )


def _methods(synthesized: Synthesized) -> dict[tuple[str, str], dict[str, object]]:
    """Every non-OPTIONS method keyed by (verb, path), the path rebuilt from the resource tree."""
    resources = synthesized.raw["ShopstackApi"]["Resources"]
    api_id = next(k for k, r in resources.items() if r["Type"] == "AWS::ApiGateway::RestApi")

    def path_of(ref: dict[str, object]) -> str:
        if "Fn::GetAtt" in ref:
            return ""
        resource = resources[ref["Ref"]]["Properties"]
        parent = resource["ParentId"]
        return path_of(parent) + "/" + resource["PathPart"]

    methods = {}
    for res in resources.values():
        if res["Type"] != "AWS::ApiGateway::Method" or res["Properties"]["HttpMethod"] == "OPTIONS":
            continue
        props = res["Properties"]
        assert props["RestApiId"] == {"Ref": api_id}
        methods[(props["HttpMethod"], path_of(props["ResourceId"]) or "/")] = props
    return methods


def test_routes_match_the_route_table(synthesized: Synthesized) -> None:
    methods = _methods(synthesized)
    assert set(methods) == {(route.method, route.path) for route in ROUTES}
    for route in ROUTES:
        props = methods[(route.method, route.path)]
        integration = props["Integration"]
        assert integration["Type"] == "AWS_PROXY"  # type: ignore[index]
        assert integration["IntegrationHttpMethod"] == "POST"  # type: ignore[index]
        uri = str(integration["Uri"])  # type: ignore[index]
        # Another stack's function is integrated through the ARN it publishes in SSM (a template
        # parameter of the Api stack named after it), the Api stack's own function by GetAtt.
        assert route.function in uri


def test_admin_routes_need_cognito_and_public_routes_do_not(synthesized: Synthesized) -> None:
    methods = _methods(synthesized)
    for (verb, path), props in methods.items():
        if path.startswith("/admin"):
            assert props["AuthorizationType"] == "COGNITO_USER_POOLS", (verb, path)
            assert "AuthorizerId" in props
        else:
            assert props["AuthorizationType"] == "NONE", (verb, path)
            assert "AuthorizerId" not in props
    assert all(route.auth == ("cognito" if route.path.startswith("/admin") else "none") for route in ROUTES)


def test_cors_preflight_on_every_route(synthesized: Synthesized) -> None:
    resources = synthesized.raw["ShopstackApi"]["Resources"]
    options = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::ApiGateway::Method" and r["Properties"]["HttpMethod"] == "OPTIONS"
    ]
    paths = {route.path for route in ROUTES}
    assert len(options) >= len(paths)
    assert all(o["Properties"]["AuthorizationType"] == "NONE" for o in options)


def test_cors_allows_the_api_headers(synthesized: Synthesized) -> None:
    required = {"Authorization", "Content-Type", "Idempotency-Key", "X-Cart-Token", "X-Order-Token"}
    resources = synthesized.raw["ShopstackApi"]["Resources"]
    for res in resources.values():
        props = res["Properties"]
        if res["Type"] != "AWS::ApiGateway::Method" or props["HttpMethod"] != "OPTIONS":
            continue
        (response,) = props["Integration"]["IntegrationResponses"]
        allowed = response["ResponseParameters"]["method.response.header.Access-Control-Allow-Headers"]
        assert required <= set(allowed.strip("'").split(",")), allowed


def test_gateway_errors_are_problem_details(synthesized: Synthesized) -> None:
    responses = synthesized.resources("ShopstackApi", "AWS::ApiGateway::GatewayResponse")
    kinds = {r["Properties"]["ResponseType"]: r["Properties"] for r in responses.values()}
    assert {"UNAUTHORIZED", "ACCESS_DENIED", "THROTTLED", "DEFAULT_4XX", "DEFAULT_5XX"} <= set(kinds)
    assert kinds["UNAUTHORIZED"]["StatusCode"] == "401"
    for props in kinds.values():
        assert props["ResponseParameters"]["gatewayresponse.header.Content-Type"] == "'application/problem+json'"


def test_outputs(synthesized: Synthesized) -> None:
    expected = {
        "ShopstackApi": {"ApiUrl"},
        "ShopstackShared": {
            "UserPoolId",
            "UserPoolClientId",
            "EventBusName",
            "IdempotencyTableName",
            "StripeSecretName",
        },
        "ShopstackInventory": {"ProductsTableName"},
        "ShopstackOrders": {
            "OrderWorkflowArn",
            "OrdersTableName",
            "FulfilmentQueueUrl",
            "OrderEventsDlqUrl",
            "CarrierSecretName",
        },
        "ShopstackAnalytics": {"AnalyticsTableName", "AnalyticsQueueUrl"},
        "ShopstackCheckout": {"CartsTableName", "StripeSecretName", "ReservationQueueUrl"},
        "ShopstackCustomers": {"CustomersTableName"},
    }
    for stack, names in expected.items():
        assert names <= set(synthesized.raw[stack].get("Outputs", {})), stack


WEB_CUSTOM_RESOURCES = {"Custom::CDKBucketDeployment", "Custom::S3AutoDeleteObjects"}
"""The Web stack's only custom resources, aws-cdk-lib's own: the pages deployment and (where the stage's
removal policy destroys) emptying its buckets before deletion."""


def test_no_custom_resources(synthesized: Synthesized) -> None:
    for stack, template in synthesized.raw.items():
        kinds = {res["Type"] for res in template["Resources"].values()}
        custom = {k for k in kinds if k.startswith("Custom::") or k == "AWS::CloudFormation::CustomResource"}
        if stack == "ShopstackWeb":
            assert custom == WEB_CUSTOM_RESOURCES
            continue
        assert not custom, stack
        assert "AWS::Lambda::Function" not in kinds or stack in FUNCTION_STACKS, f"{stack}: unexpected function"
