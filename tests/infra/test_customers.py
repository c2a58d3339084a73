"""ShopstackCustomers: the Customers table, CustomersApi's settings and IAM, and its routes."""

from __future__ import annotations

from typing import Any

from infra.routes import ROUTES, Route
from infra.settings import load_cdk_json_context
from tests.infra.conftest import Synthesized, render

STACK = "ShopstackCustomers"
API = "customers.entrypoints.api.handler"
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
CUSTOMER_ROUTES = [
    Route("GET", "/me", "CustomersApi", "none"),
    Route("PUT", "/me", "CustomersApi", "none"),
    Route("GET", "/me/export", "CustomersApi", "none"),
    Route("DELETE", "/me", "CustomersApi", "none"),
    Route("GET", "/admin/customers", "CustomersApi", "cognito"),
    Route("GET", "/admin/customers/{customerId}", "CustomersApi", "cognito"),
    Route("POST", "/admin/customers/{customerId}/interactions", "CustomersApi", "cognito"),
]
STAGE = load_cdk_json_context()["stage"]
WRITES = {"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:UpdateItem"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _table(synthesized: Synthesized) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = synthesized.resources(STACK, "AWS::DynamoDB::Table").items()
    return logical_id, resource["Properties"]


def _function(synthesized: Synthesized) -> dict[str, Any]:
    (function,) = synthesized.resources(STACK, "AWS::Lambda::Function").values()
    assert function["Properties"]["Handler"] == API
    return function


def _statements(synthesized: Synthesized) -> list[dict[str, Any]]:
    role = _function(synthesized)["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in synthesized.resources(STACK, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions_on(synthesized: Synthesized, needle: str) -> set[str]:
    """Every action granted on another stack's resource (an ARN built from its name) holding `needle`."""
    actions: set[str] = set()
    for statement in _statements(synthesized):
        for resource in _as_list(statement["Resource"]):
            arn = render(resource)
            if arn.startswith("arn:") and needle in arn:
                actions |= set(_as_list(statement["Action"]))
    return actions


def _ssm_parameter(synthesized: Synthesized, value: Any) -> str:
    """The SSM parameter name behind a `{"Ref": <template parameter>}` read from SSM at deploy time."""
    parameter = synthesized.raw[STACK]["Parameters"][value["Ref"]]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    return str(parameter["Default"])


def test_customers_table_and_email_index(synthesized: Synthesized) -> None:
    _, props = _table(synthesized)
    assert [key["AttributeName"] for key in props["KeySchema"]] == ["pk", "sk"]
    assert props["GlobalSecondaryIndexes"] == [
        {
            "IndexName": "byEmail",
            "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]
    assert "StreamSpecification" not in props and "TimeToLiveSpecification" not in props


def test_environment_names_the_agreed_resources(synthesized: Synthesized) -> None:
    table_id, _ = _table(synthesized)
    variables = _function(synthesized)["Properties"]["Environment"]["Variables"]
    assert variables["CUSTOMERS_TABLE"] == {"Ref": table_id}
    assert variables["ORDERS_TABLE"] == f"shopstack-{STAGE}-orders"
    assert variables["CARTS_TABLE"] == f"shopstack-{STAGE}-carts"
    assert variables["EVENT_BUS_NAME"] == f"shopstack-{STAGE}"
    assert _ssm_parameter(synthesized, variables["USER_POOL_ID"]) == f"/shopstack/{STAGE}/cognito/user-pool-id"
    assert (
        _ssm_parameter(synthesized, variables["USER_POOL_CLIENT_ID"])
        == f"/shopstack/{STAGE}/cognito/user-pool-client-id"
    )
    assert variables["POWERTOOLS_SERVICE_NAME"] == "customers"


def test_grants(synthesized: Synthesized) -> None:
    table_id, _ = _table(synthesized)
    statements = _statements(synthesized)
    own = {
        action
        for s in statements
        for r in _as_list(s["Resource"])
        if r == {"Fn::GetAtt": [table_id, "Arn"]}
        for action in _as_list(s["Action"])
    }
    # erasure deletes the customer's partition in batches (BatchWriteItem), never item by item
    assert own == {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:BatchWriteItem",
    }
    orders = _actions_on(synthesized, f"table/shopstack-{STAGE}-orders")
    assert orders == {"dynamodb:Query", "dynamodb:UpdateItem"}, "orders are kept: anonymized in place"
    carts = _actions_on(synthesized, f"table/shopstack-{STAGE}-carts")
    assert carts == {"dynamodb:Scan", "dynamodb:DeleteItem"}
    assert _actions_on(synthesized, f"event-bus/shopstack-{STAGE}") == {"events:PutEvents"}
    assert _actions_on(synthesized, ":userpool/") == {
        "cognito-idp:AdminDeleteUser",
        "cognito-idp:AdminGetUser",
    }
    assert not _actions_on(synthesized, f"table/shopstack-{STAGE}-products"), "no access to the catalog"


def test_only_xray_uses_a_bare_wildcard(synthesized: Synthesized) -> None:
    for statement in _statements(synthesized):
        actions = set(_as_list(statement["Action"]))
        assert not any(action.endswith("*") for action in actions), statement
        if "*" in _as_list(statement["Resource"]):
            assert actions <= XRAY_ACTIONS, statement


def test_customer_routes_and_auth() -> None:
    assert [route for route in ROUTES if route.function == "CustomersApi"] == CUSTOMER_ROUTES


def test_me_routes_have_their_own_nag_reasons(synthesized: Synthesized) -> None:
    import aws_cdk as cdk

    api = synthesized.app.node.find_child("ShopstackApi").node.find_child("RestApi").node.find_child("Default")
    for verb in ("GET", "PUT", "DELETE"):
        method = api.node.find_child("me").node.find_child(verb)
        reasons = [
            reason
            for entry in method.node.metadata
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
            for rule, reason in entry.data.items()
            if rule.endswith(("APIG4", "COG4"))
        ]
        assert len(reasons) == 2 and all("handler" in reason for reason in reasons), reasons
