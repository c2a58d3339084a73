"""ShopstackCheckout: the Stripe secret (in ShopstackShared), the settings it reads, and the IAM of its functions."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest

from infra.settings import Settings, load_cdk_json_context
from tests.infra.conftest import Synthesized, render

STACK = "ShopstackCheckout"
SHARED = "ShopstackShared"
API_HANDLER = "checkout.entrypoints.api.handler"
TASKS_HANDLER = "checkout.entrypoints.tasks.handler"
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
STAGE = load_cdk_json_context()["stage"]
ARN = "arn:<AWS::Partition>:{service}:<AWS::Region>:<AWS::AccountId>:{resource}"


def _logical_id(synthesized: Synthesized, kind: str) -> str:
    (logical_id,) = synthesized.resources(STACK, kind)
    return logical_id


def _function_id(synthesized: Synthesized, handler: str) -> str:
    (logical_id,) = (
        key
        for key, res in synthesized.resources(STACK, "AWS::Lambda::Function").items()
        if res["Properties"]["Handler"] == handler
    )
    return logical_id


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


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _resources_for(statements: list[dict[str, Any]], action: str) -> list[Any]:
    return [
        resource
        for statement in statements
        if action in _as_list(statement["Action"])
        for resource in _as_list(statement["Resource"])
    ]


def _variables(synthesized: Synthesized, handler: str) -> dict[str, Any]:
    function = synthesized.raw[STACK]["Resources"][_function_id(synthesized, handler)]
    variables: dict[str, Any] = function["Properties"]["Environment"]["Variables"]
    return variables


def test_stripe_secret_starts_with_placeholders(synthesized: Synthesized) -> None:
    stage = load_cdk_json_context()["stage"]
    (secret,) = synthesized.resources(SHARED, "AWS::SecretsManager::Secret").values()
    props = secret["Properties"]
    assert props["Name"] == f"shopstack/{stage}/stripe"
    assert json.loads(props["SecretString"]) == {
        "secretKey": "sk_test_replace_me",
        "webhookSecret": "whsec_replace_me",
    }
    assert "GenerateSecretString" not in props
    assert not synthesized.resources(SHARED, "AWS::SecretsManager::RotationSchedule")
    assert not synthesized.resources(STACK, "AWS::SecretsManager::Secret")
    for stack in (SHARED, STACK):
        assert synthesized.raw[stack]["Outputs"]["StripeSecretName"]["Value"] == props["Name"], stack
    for handler in (API_HANDLER, TASKS_HANDLER):
        assert _variables(synthesized, handler)["STRIPE_SECRET_NAME"] == props["Name"]


def test_both_functions_read_the_secret_and_nothing_else_of_secrets_manager(synthesized: Synthesized) -> None:
    """The secret is granted by its name (owned by ShopstackShared, not imported from an export)."""
    stripe = ARN.format(service="secretsmanager", resource=f"secret:shopstack/{STAGE}/stripe-??????")
    for handler in (API_HANDLER, TASKS_HANDLER):
        statements = _statements(synthesized, handler)
        (resource,) = _resources_for(statements, "secretsmanager:GetSecretValue")
        assert render(resource) == stripe
        actions = {a for s in statements for a in _as_list(s["Action"]) if a.startswith("secretsmanager:")}
        assert actions == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}


def test_checkout_api_starts_the_order_workflow_and_queues_the_expiry(synthesized: Synthesized) -> None:
    """The order workflow (ShopstackOrders) is started by its stage-prefixed name, not an import; the
    reservation expiry is a message on this stack's ReservationExpiry queue, not an execution."""
    resources = _resources_for(_statements(synthesized, API_HANDLER), "states:StartExecution")
    order_workflow = ARN.format(service="states", resource=f"stateMachine:shopstack-{STAGE}-OrderWorkflow")
    assert list(map(render, resources)) == [order_workflow]
    (machine,) = synthesized.resources("ShopstackOrders", "AWS::StepFunctions::StateMachine").values()
    assert machine["Properties"]["StateMachineName"] == f"shopstack-{STAGE}-OrderWorkflow"
    variables = _variables(synthesized, API_HANDLER)
    assert render(variables["ORDER_WORKFLOW_ARN"]) == order_workflow
    assert synthesized.resources("ShopstackCheckout", "AWS::StepFunctions::StateMachine") == {}
    queue = _expiry_queue(synthesized)
    assert variables["RESERVATION_QUEUE_URL"] == {"Ref": queue}
    for handler in (API_HANDLER, TASKS_HANDLER):
        sends = _resources_for(_statements(synthesized, handler), "sqs:SendMessage")
        assert sends == [{"Fn::GetAtt": [queue, "Arn"]}], handler


def _expiry_queue(synthesized: Synthesized) -> str:
    queues = synthesized.resources("ShopstackCheckout", "AWS::SQS::Queue")
    (queue,) = [name for name, q in queues.items() if "RedrivePolicy" in q["Properties"]]
    assert queue.startswith("ReservationExpiry")
    return queue


def test_the_expiry_queue_delivers_to_checkout_tasks_and_dead_letters_what_fails(synthesized: Synthesized) -> None:
    """A message waits out the reservation (SQS delays up to 15 minutes; a longer reservation is sent
    on by the consumer), then CheckoutTasks expires the order; a message that fails 5 receives goes
    to the DLQ, which alarms."""
    queue = _expiry_queue(synthesized)
    props = synthesized.resources("ShopstackCheckout", "AWS::SQS::Queue")[queue]["Properties"]
    assert props["RedrivePolicy"]["maxReceiveCount"] == 5
    assert props["VisibilityTimeout"] == 6 * 30, "six times CheckoutTasks' timeout"
    (mapping,) = synthesized.resources("ShopstackCheckout", "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    functions = synthesized.resources("ShopstackCheckout", "AWS::Lambda::Function")
    target = mapping["Properties"]["FunctionName"]["Ref"]
    assert functions[target]["Properties"]["Handler"] == TASKS_HANDLER


def test_checkout_tasks_starts_only_the_order_workflow(synthesized: Synthesized) -> None:
    """The expiry pays an order whose payment was authorized at the last moment, and starts its workflow."""
    statements = _statements(synthesized, TASKS_HANDLER)
    actions = {a for s in statements for a in _as_list(s["Action"]) if a.startswith("states:")}
    assert actions == {"states:StartExecution"}
    order_workflow = ARN.format(service="states", resource=f"stateMachine:shopstack-{STAGE}-OrderWorkflow")
    assert list(map(render, _resources_for(statements, "states:StartExecution"))) == [order_workflow]
    assert render(_variables(synthesized, TASKS_HANDLER)["ORDER_WORKFLOW_ARN"]) == order_workflow


def test_tables_and_bus_granted_as_agreed(synthesized: Synthesized) -> None:
    """The tables each function holds any DynamoDB action on (which actions exactly:
    tests/infra/test_least_privilege.py); the expiry touches no cart."""

    def table_refs(handler: str) -> set[str]:
        refs = set()
        for statement in _statements(synthesized, handler):
            if not any(a.startswith("dynamodb:") for a in _as_list(statement["Action"])):
                continue
            for resource in _as_list(statement["Resource"]):
                if "Fn::GetAtt" in resource:
                    refs.add(resource["Fn::GetAtt"][0])
                elif render(resource) != "*":
                    refs.add(render(resource).split("/index/", 1)[0])
        return refs

    carts = _logical_id(synthesized, "AWS::DynamoDB::Table")
    for handler, extra in ((API_HANDLER, {carts, "idempotency", "erasures"}), (TASKS_HANDLER, set())):
        refs = table_refs(handler)
        named = {
            name
            for name in ("products", "orders", "idempotency", "erasures")
            if ARN.format(service="dynamodb", resource=f"table/shopstack-{STAGE}-{name}") in refs
        }
        assert named | ({carts} & refs) == {"products", "orders"} | extra, handler
        assert len(refs) == 2 + len(extra)
        events = _resources_for(_statements(synthesized, handler), "events:PutEvents")
        bus = [ARN.format(service="events", resource=f"event-bus/shopstack-{STAGE}")]
        assert [render(e) for e in events] == (bus if handler == API_HANDLER else []), handler


def test_only_xray_uses_a_bare_wildcard(synthesized: Synthesized) -> None:
    for handler in (API_HANDLER, TASKS_HANDLER):
        for statement in _statements(synthesized, handler):
            actions = set(_as_list(statement["Action"]))
            assert not any(action.endswith("*") for action in actions), statement
            if "*" in _as_list(statement["Resource"]):
                assert actions == XRAY_ACTIONS, statement


def test_reservation_ttl_setting(synthesized: Synthesized) -> None:
    ttl = load_cdk_json_context()["reservationTtlSeconds"]
    assert _variables(synthesized, API_HANDLER)["RESERVATION_TTL_SECONDS"] == str(ttl)
    assert "RESERVATION_TTL_SECONDS" not in _variables(synthesized, TASKS_HANDLER), "the message says when"


def test_reservation_ttl_defaults_to_fifteen_minutes_and_is_validated() -> None:
    assert Settings.from_node(cdk.App().node).reservation_ttl_seconds == 900
    app = cdk.App(context={"reservationTtlSeconds": "120"})
    assert Settings.from_node(app.node).reservation_ttl_seconds == 120
    with pytest.raises(ValueError, match="reservationTtlSeconds"):
        Settings.from_node(cdk.App(context={"reservationTtlSeconds": 0}).node)


def test_pricing_rules_from_context_reach_the_checkout_function() -> None:
    from aws_cdk.assertions import Match, Template

    from infra.app import build_app

    rules = {"currency": "usd", "default": {"shipping": 900, "taxBasisPoints": 0}, "countries": {}}
    app = build_app(local=True, context={"pricingRules": rules})
    stack = app.node.find_child("ShopstackCheckout")
    Template.from_stack(stack).has_resource_properties(  # type: ignore[arg-type]
        "AWS::Lambda::Function",
        {
            "Handler": "checkout.entrypoints.api.handler",
            "Environment": {
                "Variables": Match.object_like({"PRICING_RULES": Match.string_like_regexp('"shipping":900')})
            },
        },
    )
