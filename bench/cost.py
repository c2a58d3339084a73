"""Cost per 1,000 orders at AWS list prices, from what the local cloud served for N full orders.

A shopper lists the products, reads one, creates a cart, adds two items, checks out paying with
the emulator's test card and, once the order is confirmed, reads it once (the confirmation page);
SHOPPERS at a time, each with products of their own.
After warm-up orders, the usage counter (`/_localcloud/usage`) is reset; then N orders are bought
and waited for until each is CONFIRMED, its confirmation email is sent and every queue is drained
(analytics, webhooks, notifications consumed). Every count is divided by N and priced with
`bench/prices.json` (us-east-1 list prices, dated). The template decides the rest: each function's
MemorySize and architecture, each state machine's StateMachineType.

What is priced, per order:
- Lambda: invocations and billed duration (each REPORT duration rounded up to 1 ms) x MemorySize;
- API Gateway (REST), and the WAF web ACL and CloudFront distribution in front of it, per request;
- DynamoDB: the functions' read and write request units, index writes included;
- SQS: the functions' requests, EventBridge's deliveries to queues, and the event source mappings'
  receives that returned messages and their deletes. Empty receives are counted and shown but not
  priced per order: on AWS the event source mapping's long polls of an idle queue are billed, but
  as a fixed cost per queue and hour, unrelated to the number of orders, and the local pollers poll
  at their own rate (1 s waits), not Lambda's;
- EventBridge: custom events put; Step Functions: Standard transitions, Express requests and
  duration x 64 MB (the minimum, billed in 100 ms steps; the local duration is this machine's);
- SES: recipients; Secrets Manager and KMS: the functions' API calls; CloudWatch Logs: ingestion of
  the functions' log lines (START/END/REPORT and EMF lines are not counted).
Left out: monthly costs (custom metrics, alarms, secrets, keys, web ACL rules), storage, data
transfer, and DynamoDB Streams reads by Lambda (free).

report.json keys: cost_per_1000_orders_usd, cost_breakdown ({service: usd per 1,000 orders}),
cost_counts (per-order counts), prices ({date, source}), cost_orders, cost_budget_usd, cost_notes.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PRICES_FILE = Path(__file__).with_name("prices.json")
ORDERS = 10
WARM_UP = 1
SHOPPERS = 1
"""Shoppers at a time: one, so that no worker waits for a core (2 at a time doubled the billed ms here)."""
BUDGET_USD = 0.10
SETTLE_TIMEOUT = 90.0
QUIET_SECONDS = 1.5
EXPRESS_MEMORY_MB = 64
IDLE_POLLERS = (2, 5)
"""Long polls an idle SQS event source mapping keeps open (Lambda guide, "Configuring scaling behavior
for SQS event source mappings": five at first, as few as two when traffic is low)."""
WEBHOOK_ROUTE = "/webhooks/"
"""Routes other services call directly (Stripe, carriers), not through the storefront's distribution."""
ESM_OPERATIONS = ("DeleteMessageBatch", "DeleteMessage")
"""SQS calls the local pollers make as Lambda's event source mappings make them (besides receives)."""


@dataclass(frozen=True)
class Function:
    logical_id: str
    memory_mb: int
    architecture: str


@dataclass
class Template:
    """What the deployed templates say about pricing: functions by physical name, state machine
    types by ARN and by name, and whether a web ACL and a distribution front the API."""

    functions: dict[str, Function] = field(default_factory=dict)
    state_machines: dict[str, str] = field(default_factory=dict)
    sqs_mappings: int = 0
    rest_api: bool = True
    waf: bool = False
    cloudfront: bool = False

    def machine_type(self, arn: str, name: str, fallback: str) -> str:
        return self.state_machines.get(arn) or self.state_machines.get(name) or fallback


def load_prices(path: Path = PRICES_FILE) -> dict[str, Any]:
    prices: dict[str, Any] = json.loads(path.read_text())
    return prices


def read_template(cloudformation: Any, lambda_client: Any = None) -> Template:
    """The pricing facts of every deployed stack, from its template and its resources (and, with
    `lambda_client`, which event source mappings read a queue: their sources are references)."""
    template = Template()
    for stack in cloudformation.describe_stacks()["Stacks"]:
        name = stack["StackName"]
        body = cloudformation.get_template(StackName=name)["TemplateBody"]
        resources = (json.loads(body) if isinstance(body, str) else body).get("Resources", {})
        physical = {
            r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
            for r in cloudformation.describe_stack_resources(StackName=name)["StackResources"]
        }
        for logical_id, resource in resources.items():
            kind, props = resource.get("Type"), resource.get("Properties") or {}
            if kind == "AWS::Lambda::Function":
                architecture = (props.get("Architectures") or ["x86_64"])[0]
                function = Function(logical_id, int(props.get("MemorySize") or 128), str(architecture))
                template.functions[physical.get(logical_id) or logical_id] = function
            elif kind == "AWS::StepFunctions::StateMachine":
                machine_type = str(props.get("StateMachineType") or "STANDARD")
                arn = physical.get(logical_id, "")
                template.state_machines[arn] = machine_type
                template.state_machines[arn.rsplit(":", 1)[-1]] = machine_type
                if isinstance(props.get("StateMachineName"), str):
                    template.state_machines[props["StateMachineName"]] = machine_type
            elif kind == "AWS::ApiGatewayV2::Api":
                template.rest_api = False
            elif kind == "AWS::WAFv2::WebACLAssociation":
                template.waf = True
            elif kind == "AWS::CloudFront::Distribution":
                template.cloudfront = True
    if lambda_client is not None:
        for page in lambda_client.get_paginator("list_event_source_mappings").paginate():
            template.sqs_mappings += sum(1 for m in page["EventSourceMappings"] if ":sqs:" in m["EventSourceArn"])
    return template


def _requests(usage: Mapping[str, Any], caller: str, service: str, operations: tuple[str, ...] = ()) -> int:
    return sum(
        int(r["count"])
        for r in usage.get("requests", [])
        if r["caller"] == caller and r["service"] == service and (not operations or r["operation"] in operations)
    )


def price(usage: Mapping[str, Any], template: Template, prices: Mapping[str, Any], orders: int) -> dict[str, Any]:
    """The report's cost keys for `orders` orders' usage (a /_localcloud/usage document)."""
    p = prices["services"]
    per = 1.0 / orders
    breakdown: dict[str, float] = {}
    counts: dict[str, Any] = {"orders": orders}
    notes: list[str] = []

    # Lambda: requests and GB-s by each function's memory and architecture
    functions: dict[str, Any] = {}
    lambda_usd = 0.0
    for name, seen in sorted(usage.get("lambda", {}).items()):
        function = template.functions.get(name) or Function(name, 128, "x86_64")
        gb_s = seen["billedMs"] / 1000 * function.memory_mb / 1024
        lambda_usd += seen["invocations"] * p["lambda"]["per_million_requests"] / 1e6
        lambda_usd += gb_s * p["lambda"]["per_gb_second"][function.architecture]
        functions[function.logical_id] = {
            "invocations": seen["invocations"] * per,
            "billed_ms": seen["billedMs"] * per,
            "memory_mb": function.memory_mb,
            "architecture": function.architecture,
        }
    breakdown["lambda"] = lambda_usd * per
    counts["lambda"] = functions
    notes.append(
        "Lambda: billed duration is the local workers' REPORT duration, this machine's time under its load that "
        "moment (it varies from run to run); invocations and every other count do not depend on it. Scheduled "
        "functions (reconciler, abandoned-cart sweep) that fired in the window are counted too"
    )

    # The API, and what fronts it
    api_requests = sum(usage.get("apigateway", {}).values()) * per
    counts["api_requests"] = api_requests
    api_price = p["apigateway"]["rest_per_million_requests" if template.rest_api else "http_per_million_requests"]
    breakdown["apigateway"] = api_requests * api_price / 1e6
    if template.waf:
        breakdown["waf"] = api_requests * p["waf"]["per_million_requests"] / 1e6
    routes = usage.get("apigatewayRoutes", {})
    counts["api_routes"] = {route: n * per for route, n in sorted(routes.items())}
    if template.cloudfront:
        # the storefront reaches the API through the distribution; Stripe's and carriers' webhooks do not
        viewer = sum(n for route, n in routes.items() if WEBHOOK_ROUTE not in route) * per if routes else api_requests
        counts["cloudfront_requests"] = viewer
        breakdown["cloudfront"] = viewer * p["cloudfront"]["https_per_ten_thousand_requests"] / 1e4

    # DynamoDB: the functions' units (index writes are write units too)
    mine = usage.get("dynamodb", {}).get("function", {})
    rru, wru, index_wru = (float(mine.get(k, 0.0)) * per for k in ("rru", "wru", "indexWru"))
    counts["dynamodb"] = {"rru": rru, "wru": wru, "index_wru": index_wru}
    counts["dynamodb_tables"] = {
        table: {"rru": units["rru"] * per, "wru": units["wru"] * per, "index_wru": units["indexWru"] * per}
        for table, units in sorted(mine.get("tables", {}).items())
    }
    breakdown["dynamodb"] = (
        rru * p["dynamodb"]["per_million_read_request_units"]
        + (wru + index_wru) * p["dynamodb"]["per_million_write_request_units"]
    ) / 1e6

    # SQS: what AWS bills per order
    receives = usage.get("sqsReceives", {}).get("localcloud", {})
    sqs = {
        "function_requests": _requests(usage, "function", "sqs") * per,
        "eventbridge_deliveries": usage.get("eventbridge", {}).get("sqsDeliveries", 0) * per,
        "poller_receives_with_messages": receives.get("nonEmpty", 0) * per,
        "poller_deletes": _requests(usage, "localcloud", "sqs", ESM_OPERATIONS) * per,
    }
    billed_sqs = sum(sqs.values())
    sqs["poller_empty_receives_not_priced"] = receives.get("empty", 0) * per
    sqs["messages_received"] = receives.get("messages", 0) * per
    counts["sqs"] = sqs
    breakdown["sqs"] = billed_sqs * p["sqs"]["standard_per_million_requests"] / 1e6
    month = 3 * 60 * 24 * 30  # 20 s long polls in a 30-day month, per poller
    low, high = (template.sqs_mappings * pollers * month for pollers in IDLE_POLLERS)
    sqs_price = p["sqs"]["standard_per_million_requests"] / 1e6
    notes.append(
        f"SQS: empty receives are not in the per-order price. AWS bills them, but as a fixed cost: each of the "
        f"{template.sqs_mappings} queues with an event source mapping is long-polled by {IDLE_POLLERS[0]} to "
        f"{IDLE_POLLERS[1]} pollers while idle ({low:,} to {high:,} requests a month, "
        f"${low * sqs_price:.2f} to ${high * sqs_price:.2f}), whatever the number of orders"
    )

    # EventBridge
    events = usage.get("eventbridge", {}).get("putEventsEntries", {}).get("function", 0) * per
    counts["eventbridge_events"] = events
    breakdown["eventbridge"] = events * p["eventbridge"]["per_million_custom_events"] / 1e6

    # Step Functions, by each machine's type in the template
    machines: dict[str, Any] = {}
    sfn_usd = 0.0
    gb_per_step = 0.1 * max(EXPRESS_MEMORY_MB, p["stepfunctions"]["express_minimum_memory_mb"]) / 1024
    for machine in usage.get("stepfunctions", []):
        kind = template.machine_type(machine["arn"], machine["stateMachine"], machine.get("type", "STANDARD")).upper()
        entry: dict[str, Any] = {"type": kind, "executions": machine["executions"] * per}
        if kind == "EXPRESS":
            gb_s = machine["billed100ms"] * gb_per_step
            entry.update(express_requests=machine["executions"] * per, express_gb_s=gb_s * per)
            sfn_usd += machine["executions"] * p["stepfunctions"]["express_per_million_requests"] / 1e6
            sfn_usd += gb_s * p["stepfunctions"]["express_per_gb_second"]
        else:
            entry["transitions"] = machine["transitions"] * per
            sfn_usd += machine["transitions"] * p["stepfunctions"]["standard_per_thousand_transitions"] / 1e3
        if machine.get("running"):
            entry["running_at_end"] = machine["running"]
            notes.append(
                f"Step Functions: {machine['running']} execution(s) of {machine['stateMachine']} still running at the "
                "end: only their transitions so far are counted"
            )
        machines[machine["stateMachine"]] = entry
    counts["stepfunctions"] = machines
    breakdown["stepfunctions"] = sfn_usd * per

    # Email, secrets, keys, logs
    emails = usage.get("ses", {}).get("recipients", {}).get("function", 0) * per
    counts["emails"] = emails
    breakdown["ses"] = emails * p["ses"]["per_thousand_emails"] / 1e3
    secrets = _requests(usage, "function", "secretsmanager") * per
    counts["secretsmanager_requests"] = secrets
    breakdown["secretsmanager"] = secrets * p["secretsmanager"]["per_ten_thousand_api_calls"] / 1e4
    kms = _requests(usage, "function", "kms") * per
    counts["kms_requests"] = kms
    breakdown["kms"] = kms * p["kms"]["per_ten_thousand_requests"] / 1e4
    log_bytes = usage.get("logs", {}).get("bytes", 0) * per
    counts["log_bytes"] = log_bytes
    breakdown["cloudwatch_logs"] = log_bytes / 1024**3 * p["cloudwatch"]["logs_ingestion_per_gb"]

    counts["aws_requests_by_functions"] = {
        f"{r['service']}.{r['operation']}": r["count"] * per
        for r in usage.get("requests", [])
        if r["caller"] == "function"
    }
    counts["aws_requests_by_local_cloud"] = {
        f"{r['service']}.{r['operation']}": r["count"] * per
        for r in usage.get("requests", [])
        if r["caller"] == "localcloud"
    }
    per_1000 = {service: round(usd * 1000, 6) for service, usd in breakdown.items()}
    return {
        "cost_per_1000_orders_usd": round(sum(per_1000.values()), 6),
        "cost_per_1000_orders_without_email_usd": round(sum(per_1000.values()) - per_1000["ses"], 6),
        "cost_breakdown": per_1000,
        "cost_counts": counts,
        "prices": {
            "date": prices["date"],
            "region": prices.get("region", "us-east-1"),
            "source": {service: entry["source"] for service, entry in p.items()},
        },
        "cost_orders": orders,
        "cost_budget_usd": BUDGET_USD,
        "cost_notes": notes,
    }


def render(result: Mapping[str, Any]) -> str:
    """The breakdown as a readable table, most expensive first."""
    total = result["cost_per_1000_orders_usd"]
    counts = result["cost_counts"]
    lines = [
        f"cost per 1,000 orders: ${total:.4f} (budget ${result['cost_budget_usd']:.2f}; "
        f"{counts['orders']} orders; prices of {result['prices']['date']}, {result['prices']['region']}); "
        f"without email ${result['cost_per_1000_orders_without_email_usd']:.4f}"
    ]
    for service, usd in sorted(result["cost_breakdown"].items(), key=lambda item: -item[1]):
        share = usd / total * 100 if total else 0.0
        lines.append(f"  {service:<16} ${usd:>9.5f}  {share:5.1f}%")
    lines.append("per order:")
    for name, seen in sorted(counts["lambda"].items(), key=lambda item: -item[1]["billed_ms"]):
        lines.append(
            f"  lambda {name:<24} {seen['invocations']:5.2f} invocations {seen['billed_ms']:8.1f} billed ms "
            f"x {seen['memory_mb']} MB {seen['architecture']}"
        )
    db = counts["dynamodb"]
    lines.append(f"  dynamodb  {db['rru']:.1f} RRU, {db['wru']:.1f} WRU + {db['index_wru']:.1f} index WRU")
    for table, units in counts["dynamodb_tables"].items():
        lines.append(
            f"    {table:<32} {units['rru']:6.1f} RRU {units['wru']:6.1f} WRU + {units['index_wru']:5.1f} index WRU"
        )
    lines.append("  api " + ", ".join(f"{route} {n:.1f}" for route, n in counts["api_routes"].items()))
    lines.append(f"  api requests {counts['api_requests']:.1f}; events {counts['eventbridge_events']:.1f}; ")
    lines[-1] += f"emails {counts['emails']:.1f}; log bytes {counts['log_bytes']:.0f}"
    lines.append("  sqs " + ", ".join(f"{k} {v:.1f}" for k, v in counts["sqs"].items()))
    for name, machine in counts["stepfunctions"].items():
        lines.append(f"  states {name}: " + ", ".join(f"{k} {v}" for k, v in machine.items()))
    lines.extend(f"note: {note}" for note in result["cost_notes"])
    return "\n".join(lines)


# --- driving the local cloud ---------------------------------------------------------------------


@dataclass(frozen=True)
class Order:
    order_id: str
    token: str
    email: str


def _ok(reply: Any, expected: int, what: str) -> Any:
    if reply.status != expected:
        raise RuntimeError(f"{what}: {reply.status} {reply.text[:300]}")
    return reply.json


def shop(cloud: Any, skus: tuple[str, str]) -> Order:
    """One shopper: browse, cart, two items, checkout paid with the test card."""
    from shopstack.buyer import ADDRESS

    email = f"shopper-{uuid.uuid4().hex[:12]}@example.com"
    _ok(cloud.request("GET", "/products"), 200, "list products")
    _ok(cloud.request("GET", f"/products/{skus[0]}"), 200, "read product")
    cart = _ok(cloud.request("POST", "/carts"), 201, "new cart")
    headers = {"X-Cart-Token": cart["cartToken"]}
    for sku, quantity in ((skus[0], 1), (skus[1], 2)):
        path = f"/carts/{cart['cartId']}/items/{sku}"
        _ok(cloud.request("PUT", path, body={"quantity": quantity}, headers=headers), 200, "add to cart")
    body = {"email": email, "shippingAddress": ADDRESS, "paymentMethod": "pm_card_visa"}
    order = _ok(
        cloud.request(
            "POST",
            f"/carts/{cart['cartId']}/checkout",
            body=body,
            headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
        ),
        201,
        "checkout",
    )
    return Order(str(order["orderId"]), str(order["orderToken"]), email)


def _orders_table(dynamodb: Any) -> str:
    return next(t for t in dynamodb.list_tables()["TableNames"] if t.endswith("-orders"))


def _wait(what: str, done: Any, timeout: float = SETTLE_TIMEOUT, poll: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not done after {timeout:.0f} s")
        time.sleep(poll)


def _activity(cloud: Any) -> tuple[int, int]:
    usage = cloud.request("GET", "/_localcloud/usage").json
    functions = sum(r["count"] for r in usage["requests"] if r["caller"] == "function")
    return functions, sum(f["invocations"] for f in usage["lambda"].values())


def settle(cloud: Any, orders: list[Order]) -> dict[str, int]:
    """Wait until every order is CONFIRMED, its email sent, every queue drained (delayed messages
    aside) and the functions quiet; read by the bench's own clients (not counted as the shop's).
    Returns the delayed messages still queued."""
    dynamodb, sqs = cloud.aws("dynamodb"), cloud.aws("sqs")
    table = _orders_table(dynamodb)

    def confirmed() -> bool:
        for order in orders:
            key = {"pk": {"S": f"ORDER#{order.order_id}"}, "sk": {"S": "ORDER"}}
            item = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item", {})
            status = item.get("status", {}).get("S")
            if status in ("PAYMENT_FAILED", "CANCELLED", "EXPIRED"):
                raise RuntimeError(f"order {order.order_id} ended {status}")
            if status != "CONFIRMED":
                return False
        return True

    def mailed() -> bool:
        return all(cloud.request("GET", f"/_localcloud/mail?to={o.email}").json for o in orders)

    delayed: dict[str, int] = {}

    def drained() -> bool:
        delayed.clear()
        for url in sqs.list_queues().get("QueueUrls", []):
            names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            attributes = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=[*names, "ApproximateNumberOfMessagesDelayed"]
            )
            found = attributes.get("Attributes", {})
            if any(int(found.get(n, 0)) for n in names):
                return False
            if int(found.get("ApproximateNumberOfMessagesDelayed", 0)):
                delayed[url.rsplit("/", 1)[-1]] = int(found["ApproximateNumberOfMessagesDelayed"])
        return True

    last: list[tuple[int, int]] = []

    def quiet() -> bool:
        now = _activity(cloud)
        still = bool(last) and last[-1] == now
        last.append(now)
        return still

    _wait("orders confirmed", confirmed)
    _wait("confirmation emails", mailed)
    _wait("queues drained", drained)
    _wait("functions quiet", quiet, poll=QUIET_SECONDS)
    _wait("queues drained", drained)
    return delayed


def measure(orders: int = ORDERS) -> dict[str, Any]:
    from shopstack.buyer import stock_product
    from shopstack.harness import start
    from shopstack.localcloud.tokens import issue_token

    phases: dict[str, float] = {}
    mark = [time.monotonic()]

    def lap(phase: str) -> None:
        now = time.monotonic()
        phases[phase] = round(now - mark[0], 1)
        mark[0] = now

    prices = load_prices()
    with tempfile.TemporaryDirectory() as tmp:
        cloud = start(state_dir=Path(tmp), ses="production")
        lap("start")
        try:
            admin = issue_token(cloud.base_url, "bench@example.com", admin=True)
            units = 10 * (orders + WARM_UP)
            # each shopper its own two products: concurrent checkouts never retry on the same stock item
            stock = [(stock_product(cloud, admin, units), stock_product(cloud, admin, units)) for _ in range(SHOPPERS)]
            settle(cloud, [shop(cloud, stock[0]) for _ in range(WARM_UP)])
            lap("warm_up")
            cloud.request("DELETE", "/_localcloud/usage")
            with ThreadPoolExecutor(SHOPPERS) as shoppers:
                bought = list(shoppers.map(lambda i: shop(cloud, stock[i % SHOPPERS]), range(orders)))
            lap("orders")
            settle(cloud, bought)
            for order in bought:  # the confirmation page, once
                reply = cloud.request("GET", f"/orders/{order.order_id}", headers={"X-Order-Token": order.token})
                _ok(reply, 200, "read order")
            delayed = settle(cloud, bought)
            lap("settle")
            usage = cloud.request("GET", "/_localcloud/usage").json
            template = read_template(cloud.aws("cloudformation"), cloud.aws("lambda"))
        finally:
            cloud.stop(timeout=60)
            lap("stop")
    result = price(usage, template, prices, orders)
    if delayed:
        result["cost_notes"].append(
            f"SQS: {sum(delayed.values())} delayed message(s) still queued at the end ({', '.join(sorted(delayed))}): "
            "what their consumers will do later is not counted"
        )
    result["cost_counts"]["counter_errors"] = usage.get("counterErrors", 0)
    result["cost_seconds"] = phases
    out = Path(__file__).with_name("out")
    out.mkdir(parents=True, exist_ok=True)
    (out / "cost_usage.json").write_text(json.dumps(usage, indent=2))
    print(render(result), file=sys.stderr, flush=True)
    return result


def main() -> int:
    print(json.dumps(measure(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
