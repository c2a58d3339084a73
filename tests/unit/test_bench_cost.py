"""bench/cost.py's pricing: a usage document and the template's facts make the cost per 1,000
orders, with the price table in bench/prices.json."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench.cost import PRICES_FILE, Function, Template, load_prices, price, read_template, render

ORDERS = 10
CHECKOUT = "shopstack-dev-checkout-CheckoutApiFunction-ABC"
TASKS = "shopstack-dev-orders-OrderTasksFunction-DEF"
WORKFLOW_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:shopstack-dev-OrderWorkflow"


def usage(**overrides: Any) -> dict[str, Any]:
    """A usage document for ORDERS orders."""
    document: dict[str, Any] = {
        "requests": [
            {"caller": "function", "service": "sqs", "operation": "SendMessage", "count": 20},
            {"caller": "function", "service": "secretsmanager", "operation": "GetSecretValue", "count": 2},
            {"caller": "localcloud", "service": "sqs", "operation": "ReceiveMessage", "count": 500},
            {"caller": "localcloud", "service": "sqs", "operation": "DeleteMessageBatch", "count": 30},
            {"caller": "localcloud", "service": "dynamodbstreams", "operation": "GetRecords", "count": 900},
        ],
        "dynamodb": {
            "function": {"rru": 400.0, "wru": 900.0, "indexWru": 100.0, "tables": {}},
            "localcloud": {"rru": 5000.0, "wru": 0.0, "indexWru": 0.0, "tables": {}},
        },
        "sqsReceives": {"localcloud": {"empty": 470, "nonEmpty": 30, "messages": 40}},
        "eventbridge": {"putEventsEntries": {"function": 60}, "sqsDeliveries": 130},
        "ses": {"recipients": {"function": 10}},
        "lambda": {
            CHECKOUT: {"invocations": 90, "durationMs": 19999.5, "billedMs": 20000},
            TASKS: {"invocations": 50, "durationMs": 9999.9, "billedMs": 10000},
        },
        "apigateway": {"shopstack-dev-api/v1": 120},
        "stepfunctions": [
            {
                "stateMachine": "shopstack-dev-OrderWorkflow",
                "arn": WORKFLOW_ARN,
                "type": "STANDARD",
                "executions": 10,
                "running": 0,
                "transitions": 80,
                "durationMs": 15000.0,
                "billed100ms": 160,
            }
        ],
        "logs": {"lines": 300, "bytes": 200_000},
    }
    document.update(overrides)
    return document


def template(machine_type: str = "STANDARD", **changes: Any) -> Template:
    found = Template(
        functions={
            CHECKOUT: Function("CheckoutApiFunction", 512, "arm64"),
            TASKS: Function("OrderTasksFunction", 1024, "x86_64"),
        },
        state_machines={WORKFLOW_ARN: machine_type},
        sqs_mappings=6,
    )
    for name, value in changes.items():
        setattr(found, name, value)
    return found


@pytest.fixture(scope="module")
def prices() -> dict[str, Any]:
    return load_prices()


def test_the_price_table_is_dated_and_names_a_source_for_every_service(prices: dict[str, Any]) -> None:
    assert prices["date"] == "2026-12-01"
    assert prices["region"] == "us-east-1"
    for service, entry in prices["services"].items():
        assert entry["source"].startswith("https://aws.amazon.com/"), service
    lambda_prices = prices["services"]["lambda"]
    assert lambda_prices["per_gb_second"] == {"x86_64": 0.0000166667, "arm64": 0.0000133334}
    assert prices["services"]["dynamodb"]["per_million_write_request_units"] == 0.625


def test_lambda_is_priced_by_each_functions_memory_and_architecture(prices: dict[str, Any]) -> None:
    result = price(usage(), template(), prices, ORDERS)
    # per order: 14 requests; checkout 2 s x 0.5 GB arm64, tasks 1 s x 1 GB x86_64
    expected = 14 * 0.2 / 1e6 + 1.0 * 0.0000133334 + 1.0 * 0.0000166667
    assert result["cost_breakdown"]["lambda"] == pytest.approx(expected * 1000, abs=1e-6)
    checkout = result["cost_counts"]["lambda"]["CheckoutApiFunction"]
    assert checkout == {"invocations": 9.0, "billed_ms": 2000.0, "memory_mb": 512, "architecture": "arm64"}


def test_only_the_functions_dynamodb_units_are_billed_index_writes_included(prices: dict[str, Any]) -> None:
    result = price(usage(), template(), prices, ORDERS)
    expected = (40 * 0.125 + (90 + 10) * 0.625) / 1e6
    assert result["cost_breakdown"]["dynamodb"] == pytest.approx(expected * 1000)
    assert result["cost_counts"]["dynamodb"] == {"rru": 40.0, "wru": 90.0, "index_wru": 10.0}


def test_sqs_bills_the_mappings_work_per_order_but_not_their_empty_receives(prices: dict[str, Any]) -> None:
    result = price(usage(), template(), prices, ORDERS)
    sqs = result["cost_counts"]["sqs"]
    assert sqs["function_requests"] == 2.0
    assert sqs["eventbridge_deliveries"] == 13.0
    assert sqs["poller_receives_with_messages"] == 3.0
    assert sqs["poller_deletes"] == 3.0
    assert sqs["poller_empty_receives_not_priced"] == 47.0
    assert result["cost_breakdown"]["sqs"] == pytest.approx((2 + 13 + 3 + 3) * 0.4 / 1e6 * 1000)
    assert any("empty receives" in note and "6 queues" in note for note in result["cost_notes"])


def test_a_standard_workflow_is_billed_by_transitions(prices: dict[str, Any]) -> None:
    result = price(usage(), template("STANDARD"), prices, ORDERS)
    assert result["cost_counts"]["stepfunctions"]["shopstack-dev-OrderWorkflow"]["transitions"] == 8.0
    assert result["cost_breakdown"]["stepfunctions"] == pytest.approx(8 * 0.025 / 1000 * 1000)


def test_an_express_workflow_is_billed_per_request_and_64_mb_per_100_ms(prices: dict[str, Any]) -> None:
    result = price(usage(), template("EXPRESS"), prices, ORDERS)
    machine = result["cost_counts"]["stepfunctions"]["shopstack-dev-OrderWorkflow"]
    gb_s = 16 * 0.1 * 64 / 1024  # 1.6 s per order in 100 ms steps, at 64 MB
    assert machine["express_requests"] == 1.0
    assert machine["express_gb_s"] == pytest.approx(gb_s)
    assert "transitions" not in machine
    expected = 1.0 / 1e6 + gb_s * 0.00001667
    assert result["cost_breakdown"]["stepfunctions"] == pytest.approx(expected * 1000)


def test_the_template_decides_the_machines_type_whatever_the_emulator_says(prices: dict[str, Any]) -> None:
    express = price(usage(), template("EXPRESS"), prices, ORDERS)
    assert express["cost_counts"]["stepfunctions"]["shopstack-dev-OrderWorkflow"]["type"] == "EXPRESS"
    unknown = price(usage(), template(state_machines={}), prices, ORDERS)  # not in the template: as seen
    assert unknown["cost_counts"]["stepfunctions"]["shopstack-dev-OrderWorkflow"]["type"] == "STANDARD"


def test_a_running_execution_is_counted_so_far_and_said(prices: dict[str, Any]) -> None:
    running = usage()["stepfunctions"][0] | {"stateMachine": "ReservationExpiry", "arn": "other", "running": 10}
    result = price(usage(stepfunctions=[running]), template(), prices, ORDERS)
    assert result["cost_counts"]["stepfunctions"]["ReservationExpiry"]["running_at_end"] == 10
    assert any("still running" in note for note in result["cost_notes"])


def test_the_total_is_the_sum_of_the_breakdown_and_email_is_shown_apart(prices: dict[str, Any]) -> None:
    result = price(usage(), template(waf=True, cloudfront=True), prices, ORDERS)
    breakdown = result["cost_breakdown"]
    assert result["cost_per_1000_orders_usd"] == pytest.approx(sum(breakdown.values()))
    assert breakdown["ses"] == pytest.approx(0.1)  # one email per order: $0.10 per 1,000
    assert result["cost_per_1000_orders_without_email_usd"] == pytest.approx(sum(breakdown.values()) - 0.1)
    assert breakdown["apigateway"] == pytest.approx(12 * 3.5 / 1e6 * 1000)
    assert breakdown["waf"] == pytest.approx(12 * 0.6 / 1e6 * 1000)
    assert breakdown["cloudwatch_logs"] == pytest.approx(20_000 / 1024**3 * 0.5 * 1000, abs=1e-6)  # rounded
    assert result["prices"]["date"] == "2026-12-01"
    assert result["prices"]["source"]["dynamodb"].startswith("https://aws.amazon.com/dynamodb/pricing")
    json.dumps(result)  # report.json takes it as it is
    text = render(result)
    assert "cost per 1,000 orders" in text and "CheckoutApiFunction" in text


class FakeCloudFormation:
    """describe_stacks, get_template and describe_stack_resources of one stack."""

    def __init__(self, resources: dict[str, Any], physical: dict[str, str]) -> None:
        self.resources = resources
        self.physical = physical

    def describe_stacks(self) -> dict[str, Any]:
        return {"Stacks": [{"StackName": "shopstack-dev-orders"}]}

    def get_template(self, StackName: str) -> dict[str, Any]:
        return {"TemplateBody": json.dumps({"Resources": self.resources})}

    def describe_stack_resources(self, StackName: str) -> dict[str, Any]:
        return {"StackResources": [{"LogicalResourceId": k, "PhysicalResourceId": v} for k, v in self.physical.items()]}


def test_the_template_gives_memory_architecture_and_machine_type() -> None:
    resources = {
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"MemorySize": 256, "Architectures": ["arm64"]}},
        "Plain": {"Type": "AWS::Lambda::Function", "Properties": {}},
        "Flow": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"StateMachineType": "EXPRESS"}},
        "Acl": {"Type": "AWS::WAFv2::WebACLAssociation", "Properties": {}},
    }
    physical = {"Fn": "fn-physical", "Plain": "plain-physical", "Flow": WORKFLOW_ARN}
    found = read_template(FakeCloudFormation(resources, physical))
    assert found.functions["fn-physical"] == Function("Fn", 256, "arm64")
    assert found.functions["plain-physical"] == Function("Plain", 128, "x86_64")  # Lambda's defaults
    assert found.machine_type(WORKFLOW_ARN, "x", "STANDARD") == "EXPRESS"
    assert found.machine_type("other", "shopstack-dev-OrderWorkflow", "STANDARD") == "EXPRESS"
    assert found.waf and not found.cloudfront


def test_the_price_file_is_next_to_the_module() -> None:
    assert PRICES_FILE.name == "prices.json" and PRICES_FILE.is_file()


def test_cloudfront_counts_the_storefronts_requests_not_the_webhooks(prices: dict[str, Any]) -> None:
    routes = {"POST /carts": 10, "POST /carts/{cartId}/checkout": 10, "POST /webhooks/stripe": 50}
    result = price(usage(apigatewayRoutes=routes), template(cloudfront=True), prices, ORDERS)
    assert result["cost_counts"]["cloudfront_requests"] == 2.0
    assert result["cost_counts"]["api_routes"]["POST /webhooks/stripe"] == 5.0
    assert result["cost_breakdown"]["cloudfront"] == pytest.approx(2 * 0.01 / 1e4 * 1000, abs=1e-6)
