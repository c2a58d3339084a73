"""AWS API calls per operation, counted, beside the fewest the design needs.

Each operation's request is handed to the real handler in this process (the function's Lambda
environment, AWS answered by a running local cloud), warm: the same operation runs once unrecorded
first, so per-sandbox caches (the Stripe secret, clients) are in place as in a warm sandbox. Every
AWS API call of every botocore client the handlers create (boto3's, PynamoDB's, Powertools') is
counted with botocore's `before-call` event hook (bench.inprocess.AwsCallRecorder). Stripe
requests are not AWS calls: they are counted apart (`stripe_calls`) at the SDK's HTTP client.

The order workflow runs in-process too: checkout's StartExecution (or StartSyncExecution) is
answered by the recorder without reaching the local cloud (and counted), and the workflow's Task
states, read from the deployed state machine's definition at run time, are each invoked with the
payload the state would build for that execution's input, in order, for the paid order; the
counts are reported per task and summed.

Report key: `aws_calls` {<operation>: {"measured", "minimum", "why", "calls" {service.Operation:
n}, "stripe_calls", ["tasks" for the workflow]}}, and `aws_calls_over_minimum`: the operations
whose measured count is above the minimum."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bench.inprocess import (
    RECORDER,
    CallLog,
    Context,
    Deployed,
    Discard,
    Shop,
    deployed_functions,
    environment,
    lambda_env,
    load_handler,
    shared_cloud,
)
from shopstack.harness import LocalCloud

# --- what the design needs ---------------------------------------------------------------------------

MINIMUM: dict[str, tuple[int, str]] = {
    "product read": (1, "one GetItem of the product (price, status and stock are one item)"),
    "product list": (1, "one page of the Products table: a Scan (a Query of the category index with ?category=)"),
    "cart create": (2, "one PutItem of the new cart, one PutEvents of CartCreated (analytics counts created carts)"),
    "cart update": (
        4,
        "one GetItem of the cart (its owner or token, its lines), one BatchGetItem of the cart's "
        "products (price and stock of the changed line, and the priced cart answered), one "
        "UpdateItem conditional on the cart's version, one PutEvents of CartUpdated (analytics' "
        "funnel and abandoned carts)",
    ),
    "checkout": (
        8,
        "one GetItem of the cart; one PutItem and one UpdateItem of the Idempotency-Key's record "
        "(in progress, then the answer kept); one BatchGetItem of the products (prices); one "
        "TransactWriteItems (stock reserved on each product, the order created, the cart closed, "
        "all conditional); one start of the reservation's expiry (an SQS SendMessage with a delay, "
        "or a StartExecution of an expiry workflow); one conditional write of the order once Stripe "
        "authorized the payment (PAID, with the PaymentIntent); one StartExecution of the order "
        "workflow. The PaymentIntent itself is a Stripe call, not an AWS call",
    ),
    "order read": (
        1,
        "one Query of the order's partition: the order, its shipments, returns and invoice share the key ORDER#<id>",
    ),
}
"""The fewest AWS calls each operation's design needs, and why (a warm function, a guest caller)."""

TASK_MINIMUM: dict[str, tuple[int, str]] = {
    "capture_payment": (2, "one GetItem of the order, one conditional write recording the capture (Stripe captures)"),
    "commit_stock": (2, "one GetItem of the order, one TransactWriteItems moving reserved to sold on each product"),
    "issue_invoice": (
        3,
        "one GetItem of the order, one GetItem of the year's invoice counter, one TransactWriteItems "
        "of counter, invoice and order mark conditioned on the counter read (gapless numbers)",
    ),
    "request_fulfilment": (
        3,
        "one GetItem of the order, one SendMessage to the fulfilment queue, one UpdateItem marking "
        "the order (a retried task sends nothing twice)",
    ),
    "confirm_order": (2, "one GetItem of the order, one conditional write PAID -> CONFIRMED"),
    "compensate": (2, "one GetItem of the order, one TransactWriteItems releasing stock and ending the order"),
}
"""The same for each task of the order workflow, by the task's name in its payload."""

ABOVE_MINIMUM: dict[str, str] = {
    "checkout": (
        "Above it: the order is read (GetItem) before it is placed, though the placing transaction's "
        "condition that no order has that id answers the same; and once Stripe authorized, the "
        "PaymentIntent is written to the order (UpdateItem) before the order moves to PAID "
        "(TransactWriteItems), where one conditional write could do both (functions/checkout/service.py "
        "and commerce/ledger.py)"
    ),
    "confirm_order": (
        "Above it: the order is read again after the change to answer its status "
        "(functions/orders/service.py confirm_order), which the applied change already tells"
    ),
}
"""Why an operation or task makes more calls than its minimum, where the cause is known."""


# --- Stripe requests ----------------------------------------------------------------------------------


class StripeCounter:
    """Counts the Stripe SDK's HTTP requests (each retry once), by method and path."""

    def __init__(self) -> None:
        self.calls: list[str] | None = None
        self._installed = False
        self._lock = threading.Lock()

    def install(self) -> None:
        if self._installed:
            return
        from stripe import _http_client

        original = _http_client.HTTPClient.request_with_retries
        counter = self

        def request_with_retries(client: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if counter.calls is not None:
                with counter._lock:
                    counter.calls.append(stripe_call(method, url))
            return original(client, method, url, *args, **kwargs)

        _http_client.HTTPClient.request_with_retries = request_with_retries  # type: ignore[method-assign,assignment]
        self._installed = True


STRIPE = StripeCounter()


def stripe_call(method: str, url: str) -> str:
    """`POST payment_intents/{id}/capture`: a Stripe request's method and path, ids left out."""
    path = url.split("?", 1)[0].split("/v1/", 1)[-1]
    parts = [
        "{id}" if "_" in part and part.split("_", 1)[0].isalpha() and any(c.isdigit() for c in part) else part
        for part in path.split("/")
    ]
    return f"{method.upper()} {'/'.join(parts)}"


@dataclass
class Counted:
    """The AWS calls and Stripe requests of one operation."""

    aws: CallLog
    stripe: list[str] = field(default_factory=list)

    def entry(self, operation: str) -> dict[str, Any]:
        minimum, why = MINIMUM.get(operation, (len(self.aws.calls), "not assessed"))
        return report_entry(
            self.aws.calls, self.stripe, minimum, explained(why, operation, len(self.aws.calls), minimum)
        )


def explained(why: str, name: str, measured: int, minimum: int) -> str:
    """`why`, and what makes the calls more than the minimum when they are and it is known."""
    if measured > minimum and name in ABOVE_MINIMUM:
        return f"{why}. {ABOVE_MINIMUM[name]}"
    return why


def report_entry(calls: list[tuple[str, str]], stripe: list[str], minimum: int, why: str) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for service, operation in calls:
        key = f"{service}.{operation}"
        counts[key] = counts.get(key, 0) + 1
    return {
        "measured": len(calls),
        "minimum": minimum,
        "why": why,
        "calls": counts,
        "stripe_calls": len(stripe),
        "stripe": sorted(set(stripe)),
    }


@contextlib.contextmanager
def counting() -> Iterator[Counted]:
    """Record the AWS calls and Stripe requests of the block."""
    with RECORDER.recording() as log:
        counted = Counted(log)
        STRIPE.calls = counted.stripe
        try:
            yield counted
        finally:
            STRIPE.calls = None


# --- the order workflow, from its definition ------------------------------------------------------------


def resolve_path(path: str, data: Any, execution_input: Any) -> Any:
    """A reference path of a state's parameters: `$`, `$.a.b`, `$$.Execution.Input[.a]`."""
    if path.startswith("$$.Execution.Input"):
        return resolve_path("$" + path[len("$$.Execution.Input") :], execution_input, execution_input)
    if path.startswith("$$."):
        return {"$$.Execution.Name": "bench", "$$.Execution.Id": "bench", "$$.State.Name": "bench"}.get(path)
    value = data
    for part in [p for p in path[1:].split(".") if p]:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def build_parameters(template: Any, data: Any, execution_input: Any) -> Any:
    """A Task's Parameters (or lambda:invoke Payload) with its `key.$` paths filled in."""
    if isinstance(template, dict):
        built: dict[str, Any] = {}
        for key, value in template.items():
            if key.endswith(".$") and isinstance(value, str) and value.startswith("$"):
                built[key[:-2]] = resolve_path(value, data, execution_input)
            else:
                built[key] = build_parameters(value, data, execution_input)
        return built
    if isinstance(template, list):
        return [build_parameters(v, data, execution_input) for v in template]
    return template


@dataclass(frozen=True)
class TaskStep:
    state: str
    function_arn: str
    payload: Any
    result_path: str | None


def task_target(state: dict[str, Any]) -> tuple[str, Any]:
    """(function ARN, payload template) of a Task state that invokes a Lambda function."""
    resource = str(state.get("Resource", ""))
    parameters = state.get("Parameters", {})
    if resource.endswith(":states:::lambda:invoke") or resource.endswith(":states:::lambda:invoke.waitForTaskToken"):
        return str(parameters.get("FunctionName", "")), parameters.get("Payload", {})
    return resource, parameters


def happy_path(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The states an execution passes through when every task succeeds (Choice: its Default, or
    its first rule; Parallel: each branch in turn)."""
    states: dict[str, Any] = definition["States"]
    name: str | None = definition["StartAt"]
    seen: set[str] = set()
    while name and name not in seen:
        seen.add(name)
        state = states[name]
        kind = state.get("Type")
        if kind == "Parallel":
            for branch in state.get("Branches", []):
                yield from happy_path(branch)
        else:
            yield name, state
        if kind in ("Succeed", "Fail") or state.get("End"):
            return
        name = (
            (state.get("Default") or (state.get("Choices") or [{}])[0].get("Next"))
            if kind == "Choice"
            else state.get("Next")
        )


def set_path(data: Any, path: str | None, value: Any) -> Any:
    """The state's data after a task's ResultPath (`null` keeps the input, `$` replaces it)."""
    if path is None:
        return data
    if path == "$":
        return value
    merged = dict(data) if isinstance(data, dict) else {}
    target = merged
    parts = [p for p in path[2:].split(".") if p]
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value
    return merged


@dataclass
class Workflow:
    """The order workflow as deployed: its Task states in order, and the functions they invoke."""

    arn: str
    definition: dict[str, Any]

    def run(
        self, execution_input: dict[str, Any], invoke: Callable[[str, Any], Any]
    ) -> Iterator[tuple[str, Any, Counted]]:
        """Invoke each Task state's function in order; yields (state, payload, what it called)."""
        data: Any = execution_input
        for name, state in happy_path(self.definition):
            if state.get("Type") != "Task":
                continue
            arn, template = task_target(state)
            payload = build_parameters(template, data, execution_input)
            with counting() as counted:
                result = invoke(arn, payload)
            if str(state.get("Resource", "")).endswith(":states:::lambda:invoke"):
                result = {"Payload": result}
            result_path = state.get("ResultPath", "$")
            data = set_path(data, result_path, result)
            yield name, payload, counted


def order_workflow(cloud: LocalCloud, functions: list[Deployed]) -> Workflow:
    arn = next((f.environment["ORDER_WORKFLOW_ARN"] for f in functions if "ORDER_WORKFLOW_ARN" in f.environment), None)
    if arn is None:
        raise RuntimeError("no function names the order workflow (ORDER_WORKFLOW_ARN)")
    described = cloud.aws("stepfunctions").describe_state_machine(stateMachineArn=arn)
    return Workflow(arn, json.loads(described["definition"]))


# --- the operations --------------------------------------------------------------------------------------


class Started:
    """Stubbed StartExecution / StartSyncExecution: answered here, never sent; keeps each start."""

    def __init__(self) -> None:
        self.starts: list[dict[str, Any]] = []

    def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        body = request.get("body") or b"{}"
        started = json.loads(body.decode() if isinstance(body, bytes) else body)
        self.starts.append(started)
        arn = str(started.get("stateMachineArn", "")).replace(":stateMachine:", ":execution:")
        return {
            "executionArn": f"{arn}:{started.get('name', 'bench')}",
            "startDate": 0,
            "status": "SUCCEEDED",
            "output": "{}",
        }


def measure_operations(cloud: LocalCloud, sku: str, fixture_order: dict[str, Any]) -> dict[str, Any]:
    functions = deployed_functions(cloud)
    shop = Shop(cloud, functions)
    STRIPE.install()
    started = Started()
    RECORDER.stubs = {"StartExecution": started, "StartSyncExecution": started}
    try:
        with shop.active():
            return _operations(cloud, shop, functions, sku, fixture_order, started)
    finally:
        RECORDER.stubs = {}


def _warm_then_count(run: Callable[[], Any]) -> Counted:
    with counting():
        run()
    with counting() as counted:
        run()
    return counted


def _operations(
    cloud: LocalCloud,
    shop: Shop,
    functions: list[Deployed],
    sku: str,
    fixture_order: dict[str, Any],
    started: Started,
) -> dict[str, Any]:
    report: dict[str, Any] = {}
    cart = shop.new_cart(sku)
    quantity = [1]

    def update() -> None:
        quantity[0] = 3 - quantity[0]
        shop.api("checkout", shop.cart_update(cart, sku, quantity[0]), 200)

    simple: dict[str, Callable[[], Any]] = {
        "product read": lambda: shop.api("inventory", shop.product_read(sku), 200),
        "product list": lambda: shop.api("inventory", shop.product_list(), 200),
        "cart create": lambda: shop.api("checkout", shop.cart_create(), 201),
        "cart update": update,
        "order read": lambda: shop.api("orders", shop.order_read(fixture_order), 200),
    }
    for operation, run in simple.items():
        report[operation] = _warm_then_count(run).entry(operation)

    workflow = order_workflow(cloud, functions)
    runner = TaskRunner(cloud, functions)
    orders: list[dict[str, Any]] = []
    for recorded in (False, True):  # a first order warms checkout and every task's function
        ready = shop.checkout(shop.new_cart(sku))
        started.starts.clear()
        with counting() as counted:
            orders.append(json.loads(shop.api("checkout", ready, 201)["body"]))
        inputs = [
            json.loads(s.get("input") or "{}") for s in started.starts if s.get("stateMachineArn") == workflow.arn
        ]
        if not inputs:
            raise RuntimeError("checkout did not start the order workflow")
        steps = list(workflow.run(inputs[0], runner.invoke))
        if recorded:
            report["checkout"] = counted.entry("checkout")
            report["order workflow"] = workflow_entry(steps)
    return report


def workflow_entry(steps: list[tuple[str, Any, Counted]]) -> dict[str, Any]:
    tasks: dict[str, Any] = {}
    calls: list[tuple[str, str]] = []
    stripe: list[str] = []
    minimum = 0
    whys: list[str] = []
    for state, payload, counted in steps:
        task = str(payload.get("task", state)) if isinstance(payload, dict) else state
        task_minimum, why = TASK_MINIMUM.get(task, (len(counted.aws.calls), "not assessed"))
        why = explained(why, task, len(counted.aws.calls), task_minimum)
        tasks[state] = report_entry(counted.aws.calls, counted.stripe, task_minimum, why)
        calls += counted.aws.calls
        stripe += counted.stripe
        minimum += task_minimum
        whys.append(f"{state}: {task_minimum}")
    entry = report_entry(calls, stripe, minimum, "the sum of its tasks' (" + "; ".join(whys) + ")")
    entry["tasks"] = tasks
    return entry


class TaskRunner:
    """Invokes a workflow task's function in this process, in that function's environment."""

    def __init__(self, cloud: LocalCloud, functions: list[Deployed]) -> None:
        self.cloud = cloud
        self.by_arn: dict[str, Deployed] = {}
        lam = cloud.aws("lambda")
        for function in functions:
            arn = str(lam.get_function_configuration(FunctionName=function.name)["FunctionArn"])
            self.by_arn[arn] = self.by_arn[function.name] = function
        self.handlers: dict[str, Callable[[Any, Any], Any]] = {}

    def invoke(self, arn: str, payload: Any) -> Any:
        function = self.by_arn.get(arn) or self.by_arn.get(arn.split(":function:")[-1].split(":")[0])
        if function is None:
            raise RuntimeError(f"the workflow invokes {arn}, which is not one of the deployed functions")
        handler = self.handlers.get(function.name) or self.handlers.setdefault(function.name, load_handler(function))
        env = {k: v for k, v in lambda_env(self.cloud, function).items() if k not in ("PYTHONPATH",)}
        env.pop("AWS_LAMBDA_FUNCTION_NAME", None)
        saved, sys.stdout = sys.stdout, Discard()
        try:
            with environment(env):
                return handler(payload, Context(function.name))
        finally:
            sys.stdout = saved


def measure() -> dict[str, Any]:
    cloud, fixtures = shared_cloud()
    report = measure_operations(cloud, fixtures.sku, fixtures.order)
    return {
        "aws_calls": report,
        "aws_calls_over_minimum": sorted(op for op, entry in report.items() if entry["measured"] > entry["minimum"]),
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
