"""ShopstackOrders: the Orders table and stream, event sources, SES, secrets, routes and the IAM of its functions."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest

from infra.routes import ROUTES, Route
from infra.settings import Settings, load_cdk_json_context
from tests.infra.conftest import Synthesized, render

STACK = "ShopstackOrders"
TASKS = "orders.entrypoints.tasks.handler"
API = "orders.entrypoints.api.handler"
FULFILMENT = "orders.entrypoints.on_fulfilment.handler"
PUBLISHER = "orders.entrypoints.on_change.handler"
NOTIFY = "orders.entrypoints.on_notify.handler"
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
SES_ACTIONS = {"ses:SendEmail", "ses:SendRawEmail"}
ORDER_ROUTES = [
    Route("GET", "/orders", "OrdersApi", "none"),
    Route("GET", "/orders/{orderId}", "OrdersApi", "none"),
    Route("POST", "/orders/{orderId}/cancel", "OrdersApi", "none"),
    Route("GET", "/orders/{orderId}/invoice", "OrdersApi", "none"),
    Route("GET", "/orders/{orderId}/tracking", "OrdersApi", "none"),
    Route("GET", "/admin/orders", "OrdersApi", "cognito"),
    Route("POST", "/admin/orders/{orderId}/cancel", "OrdersApi", "cognito"),
    Route("POST", "/admin/orders/{orderId}/shipments", "OrdersApi", "cognito"),
    Route("POST", "/admin/shipments/{shipmentId}/events", "OrdersApi", "cognito"),
    Route("POST", "/webhooks/carrier", "OrdersApi", "none"),
    Route("POST", "/orders/{orderId}/returns", "OrdersApi", "none"),
    Route("POST", "/admin/returns/{returnId}/refund", "OrdersApi", "cognito"),
]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _only(synthesized: Synthesized, kind: str, stack: str = STACK) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = synthesized.resources(stack, kind).items()
    return logical_id, resource["Properties"]


def _function_id(synthesized: Synthesized, handler: str) -> str:
    (logical_id,) = (
        key
        for key, res in synthesized.resources(STACK, "AWS::Lambda::Function").items()
        if res["Properties"]["Handler"] == handler
    )
    return logical_id


def _variables(synthesized: Synthesized, handler: str) -> dict[str, Any]:
    function = synthesized.raw[STACK]["Resources"][_function_id(synthesized, handler)]
    variables: dict[str, Any] = function["Properties"]["Environment"]["Variables"]
    return variables


def _statements(synthesized: Synthesized, handler: str) -> list[dict[str, Any]]:
    """Every statement of the execution role of the function with `handler`."""
    function = synthesized.raw[STACK]["Resources"][_function_id(synthesized, handler)]
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in synthesized.resources(STACK, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    return {action for statement in statements for action in _as_list(statement["Action"])}


def _resources_for(statements: list[dict[str, Any]], action: str) -> list[Any]:
    return [
        resource
        for statement in statements
        if action in _as_list(statement["Action"])
        for resource in _as_list(statement["Resource"])
    ]


def _table_refs(synthesized: Synthesized, handler: str) -> set[str]:
    """The tables a function holds any DynamoDB item action on (its indexes count as the table), by
    logical id (this stack) or name (other stacks' tables, whose ARNs are built from their
    stage-prefixed names). Which actions exactly: tests/infra/test_least_privilege.py."""
    refs = set()
    for statement in _statements(synthesized, handler):
        if not any(a.startswith("dynamodb:") for a in _as_list(statement["Action"])):
            continue
        for resource in _as_list(statement["Resource"]):
            arn = render(resource)
            if arn == "*" or "StreamArn" in arn:
                continue
            if arn.startswith("<"):
                refs.add(arn[1:].split(".Arn>", 1)[0])
                continue
            assert arn.startswith("arn:<AWS::Partition>:dynamodb:<AWS::Region>:<AWS::AccountId>:table/"), arn
            refs.add(arn.split(":table/", 1)[1].split("/index/", 1)[0])
    return refs


def test_orders_table_stream_and_indexes(synthesized: Synthesized) -> None:
    _, props = _only(synthesized, "AWS::DynamoDB::Table")
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    indexes = {
        index["IndexName"]: (
            [(key["AttributeName"], key["KeyType"]) for key in index["KeySchema"]],
            index["Projection"]["ProjectionType"],
        )
        for index in props["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        "byOwner": ([("owner", "HASH"), ("createdAt", "RANGE")], "ALL"),
        "byStatus": ([("status", "HASH"), ("createdAt", "RANGE")], "ALL"),
        "byShipment": ([("shipmentId", "HASH")], "ALL"),
        "byTracking": ([("trackingNumber", "HASH")], "ALL"),
        "byReturn": ([("returnId", "HASH")], "ALL"),
    }
    attributes = {attr["AttributeName"] for attr in props["AttributeDefinitions"]}
    assert attributes == {"pk", "sk", "owner", "status", "createdAt", "shipmentId", "trackingNumber", "returnId"}


def test_order_events_publisher_reads_the_stream(synthesized: Synthesized) -> None:
    mappings = synthesized.resources(STACK, "AWS::Lambda::EventSourceMapping")
    (props,) = (m["Properties"] for m in mappings.values() if "StartingPosition" in m["Properties"])
    table_id, _ = _only(synthesized, "AWS::DynamoDB::Table")
    dlq_id = next(key for key in synthesized.resources(STACK, "AWS::SQS::Queue") if key.startswith("OrderEventsDlq"))
    assert props["EventSourceArn"] == {"Fn::GetAtt": [table_id, "StreamArn"]}
    assert props["FunctionName"] == {"Ref": _function_id(synthesized, PUBLISHER)}
    assert props["StartingPosition"] == "TRIM_HORIZON"
    assert props["BatchSize"] == 100
    assert props["BisectBatchOnFunctionError"] is True
    assert props["MaximumRetryAttempts"] == 5
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": [dlq_id, "Arn"]}}}
    assert "RedrivePolicy" not in synthesized.raw[STACK]["Resources"][dlq_id]["Properties"]
    assert synthesized.raw[STACK]["Outputs"]["OrderEventsDlqUrl"]["Value"] == {"Ref": dlq_id}


def test_fulfilment_consumer_reads_the_queue(synthesized: Synthesized) -> None:
    mappings = synthesized.resources(STACK, "AWS::Lambda::EventSourceMapping")
    fulfilment = {"Ref": _function_id(synthesized, FULFILMENT)}
    (props,) = (m["Properties"] for m in mappings.values() if m["Properties"]["FunctionName"] == fulfilment)
    queue_id = props["EventSourceArn"]["Fn::GetAtt"][0]
    assert "RedrivePolicy" in synthesized.raw[STACK]["Resources"][queue_id]["Properties"]
    assert props["FunctionName"] == {"Ref": _function_id(synthesized, FULFILMENT)}
    assert props["BatchSize"] == 10
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert _variables(synthesized, TASKS)["FULFILMENT_QUEUE_URL"] == {"Ref": queue_id}
    assert _resources_for(_statements(synthesized, TASKS), "sqs:SendMessage") == [{"Fn::GetAtt": [queue_id, "Arn"]}]


def test_ses_identity_and_send_grants(synthesized: Synthesized) -> None:
    identity_id, props = _only(synthesized, "AWS::SES::EmailIdentity")
    mail_from = Settings.from_node(synthesized.app.node).mail_from
    assert props["EmailIdentity"] == mail_from
    assert _variables(synthesized, NOTIFY)["MAIL_FROM"] == mail_from
    statements = [s for s in _statements(synthesized, NOTIFY) if set(_as_list(s["Action"])) & SES_ACTIONS]
    assert len(statements) == 1
    (statement,) = statements
    assert set(_as_list(statement["Action"])) == SES_ACTIONS
    (resource,) = _as_list(statement["Resource"])
    parts = resource["Fn::Join"][1]
    assert parts[-2:] == [":identity/", {"Ref": identity_id}], "scoped to the sender identity"
    for handler in (TASKS, API, FULFILMENT, PUBLISHER):
        assert not any(action.startswith("ses:") for action in _actions(_statements(synthesized, handler))), handler
        assert "MAIL_FROM" not in _variables(synthesized, handler), "only OrderNotifications sends email"


def test_carrier_secret_is_generated(synthesized: Synthesized) -> None:
    stage = load_cdk_json_context()["stage"]
    secret_id, props = _only(synthesized, "AWS::SecretsManager::Secret")
    assert props["Name"] == f"shopstack/{stage}/carrier"
    assert "SecretString" not in props
    assert props["GenerateSecretString"] == {
        "SecretStringTemplate": "{}",
        "GenerateStringKey": "signingSecret",
        "PasswordLength": 48,
        "ExcludePunctuation": True,
    }
    assert synthesized.raw[STACK]["Outputs"]["CarrierSecretName"]["Value"] == props["Name"]
    assert _variables(synthesized, API)["CARRIER_SECRET_NAME"] == props["Name"]
    assert {"Ref": secret_id} in _resources_for(_statements(synthesized, API), "secretsmanager:GetSecretValue")


def test_secret_reads(synthesized: Synthesized) -> None:
    carrier_id, _ = _only(synthesized, "AWS::SecretsManager::Secret")
    stripe_name = f"shopstack/{load_cdk_json_context()['stage']}/stripe"
    stripe_arn = f"arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:{stripe_name}-??????"

    def reads(handler: str) -> set[str]:
        """The secrets a function reads: `stripe` (ShopstackShared's, by name) or a local logical id."""
        refs = set()
        for resource in _resources_for(_statements(synthesized, handler), "secretsmanager:GetSecretValue"):
            if "Ref" in resource:
                refs.add(resource["Ref"])
            else:
                assert render(resource) == stripe_arn, resource
                refs.add("stripe")
        return refs

    assert reads(TASKS) == {"stripe"}
    assert reads(API) == {"stripe", carrier_id}
    assert not reads(FULFILMENT) and not reads(PUBLISHER)
    for handler in (TASKS, API):
        assert _variables(synthesized, handler)["STRIPE_SECRET_NAME"] == stripe_name


def test_tables_granted_as_agreed(synthesized: Synthesized) -> None:
    orders_id, _ = _only(synthesized, "AWS::DynamoDB::Table")
    stage = load_cdk_json_context()["stage"]
    products, idempotency = f"shopstack-{stage}-products", f"shopstack-{stage}-idempotency"
    erasures = f"shopstack-{stage}-erasures"
    assert _table_refs(synthesized, TASKS) == {orders_id, products}
    assert _table_refs(synthesized, API) == {orders_id, products, idempotency, erasures}
    assert _table_refs(synthesized, FULFILMENT) == {orders_id}
    assert _table_refs(synthesized, PUBLISHER) == set()


def test_publisher_puts_events_and_reads_only_its_stream(synthesized: Synthesized) -> None:
    table_id, _ = _only(synthesized, "AWS::DynamoDB::Table")
    statements = _statements(synthesized, PUBLISHER)
    (bus,) = _resources_for(statements, "events:PutEvents")
    stage = load_cdk_json_context()["stage"]
    assert render(bus) == f"arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:event-bus/shopstack-{stage}"
    assert _resources_for(statements, "dynamodb:GetRecords") == [{"Fn::GetAtt": [table_id, "StreamArn"]}]
    assert not {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query"} & _actions(statements)
    (dlq,) = _resources_for(statements, "sqs:SendMessage")
    assert dlq["Fn::GetAtt"][0].startswith("OrderEventsDlq")
    for handler in (TASKS, API, FULFILMENT):
        assert "events:PutEvents" not in _actions(_statements(synthesized, handler)), handler


def test_only_xray_and_list_streams_use_a_bare_wildcard(synthesized: Synthesized) -> None:
    for handler in (TASKS, API, FULFILMENT, PUBLISHER, NOTIFY):
        for statement in _statements(synthesized, handler):
            actions = set(_as_list(statement["Action"]))
            assert not any(action.endswith("*") for action in actions), statement
            if "*" in _as_list(statement["Resource"]):
                allowed = XRAY_ACTIONS | ({"dynamodb:ListStreams"} if handler == PUBLISHER else set())
                assert actions <= allowed, (handler, statement)


def test_mail_settings_in_the_environment(synthesized: Synthesized) -> None:
    context = load_cdk_json_context()
    mail_from = Settings.from_node(synthesized.app.node).mail_from  # cdk.json's address for this stage
    for handler in (TASKS, API):
        variables = _variables(synthesized, handler)
        assert (variables["SELLER_EMAIL"], variables["SHOP_NAME"]) == (mail_from, context["shopName"])
        assert variables["POWERTOOLS_SERVICE_NAME"] == "orders"
    variables = _variables(synthesized, NOTIFY)
    assert (variables["MAIL_FROM"], variables["SHOP_NAME"]) == (mail_from, context["shopName"])


def test_mail_settings_default_and_validation() -> None:
    defaults = Settings.from_node(cdk.App().node)
    assert (defaults.mail_from, defaults.shop_name) == ("orders@shopstack.example", "shopstack")
    app = cdk.App(context={"mailFrom": "shop@example.org", "shopName": "Acme"})
    assert (Settings.from_node(app.node).mail_from, Settings.from_node(app.node).shop_name) == (
        "shop@example.org",
        "Acme",
    )
    for bad in ("shop", "@example.org", "shop@localhost", "a b@example.org"):
        with pytest.raises(ValueError, match="mailFrom"):
            Settings.from_node(cdk.App(context={"mailFrom": bad}).node)


def test_order_routes_and_auth() -> None:
    assert [route for route in ROUTES if route.function == "OrdersApi"] == ORDER_ROUTES
    assert all(route.path != "/webhooks/carrier" or route.auth == "none" for route in ROUTES)


def test_api_cors_allows_the_order_token(synthesized: Synthesized) -> None:
    resources = synthesized.raw["ShopstackApi"]["Resources"]
    (orders_resource,) = (
        key
        for key, res in resources.items()
        if res["Type"] == "AWS::ApiGateway::Resource"
        and res["Properties"]["PathPart"] == "{orderId}"
        and "admin" not in key.lower()
    )
    options = [
        res["Properties"]
        for res in resources.values()
        if res["Type"] == "AWS::ApiGateway::Method"
        and res["Properties"]["HttpMethod"] == "OPTIONS"
        and res["Properties"]["ResourceId"] == {"Ref": orders_resource}
    ]
    (response,) = options[0]["Integration"]["IntegrationResponses"]
    allowed = response["ResponseParameters"]["method.response.header.Access-Control-Allow-Headers"]
    assert "X-Order-Token" in allowed.strip("'").split(",")


RECONCILE = "orders.entrypoints.reconcile.handler"


def test_the_reconciler_runs_on_the_schedule_cdk_json_sets(synthesized: Synthesized) -> None:
    context = load_cdk_json_context()
    rules = [
        props
        for props in (r["Properties"] for r in synthesized.resources(STACK, "AWS::Events::Rule").values())
        if "ScheduleExpression" in props
    ]
    (rule,) = rules
    minutes = context["reconcileIntervalMinutes"]
    assert rule["ScheduleExpression"] == f"rate({minutes} minute{'s' if minutes != 1 else ''})"
    assert rule["Name"] == f"shopstack-{context['stage']}-order-reconciler"
    ((target),) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [_function_id(synthesized, RECONCILE), "Arn"]}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 0  # the next run is the retry
    variables = _variables(synthesized, RECONCILE)
    assert variables["RECONCILE_STUCK_AFTER_SECONDS"] == str(context["reconcileStuckAfterSeconds"])
    assert variables["RESERVATION_TTL_SECONDS"] == str(context["reservationTtlSeconds"])


def test_the_reconciler_may_restart_only_the_order_workflow(synthesized: Synthesized) -> None:
    statements = _statements(synthesized, RECONCILE)
    (machine,) = synthesized.resources(STACK, "AWS::StepFunctions::StateMachine")
    assert _resources_for(statements, "states:StartExecution") == [{"Ref": machine}]
    assert {a for a in _actions(statements) if a.startswith("states:")} == {"states:StartExecution"}
    assert _variables(synthesized, RECONCILE)["ORDER_WORKFLOW_TIMEOUT_SECONDS"] == "300"
    assert _table_refs(synthesized, RECONCILE) == _table_refs(synthesized, TASKS)
