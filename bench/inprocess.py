"""What the Lambda benchmarks share: the deployed functions of a running local cloud (handler,
environment), the environment Lambda gives them, the events they are invoked with, and a counter of
the AWS calls (and the CPU spent inside botocore) of handlers run in this process.

bench.cold_start runs each handler in a fresh interpreter; bench.warm_cpu and bench.aws_calls run
them here, in-process, against the local cloud, as the local cloud's own workers would."""

from __future__ import annotations

import atexit
import contextlib
import copy
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopstack.harness import ROOT, LocalCloud, start

FUNCTIONS_DIR = ROOT / "functions"
LAYER_DIR = ROOT / "layers" / "shared" / "python"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"


# --- the deployed functions -----------------------------------------------------------------------


@dataclass(frozen=True)
class Deployed:
    """One deployed AWS::Lambda::Function of ours: its template id, name, handler and environment."""

    logical_id: str
    name: str
    handler: str
    environment: dict[str, str]

    @property
    def module(self) -> str:
        return self.handler.rpartition(".")[0]


def is_ours(handler: str) -> bool:
    """A handler whose top-level package is one of the services under functions/."""
    top = handler.partition(".")[0]
    return bool(top) and "." in handler and (FUNCTIONS_DIR / top).is_dir()


def deployed_functions(cloud: LocalCloud) -> list[Deployed]:
    """Every AWS::Lambda::Function of the deployed stacks whose handler is ours, by logical id."""
    cfn, lam = cloud.aws("cloudformation"), cloud.aws("lambda")
    found: list[Deployed] = []
    for stack in cfn.describe_stacks()["Stacks"]:
        pages = cfn.get_paginator("list_stack_resources").paginate(StackName=stack["StackName"])
        for page in pages:
            for resource_ in page["StackResourceSummaries"]:
                if resource_["ResourceType"] != "AWS::Lambda::Function":
                    continue
                config = lam.get_function_configuration(FunctionName=resource_["PhysicalResourceId"])
                if not is_ours(str(config.get("Handler", ""))):
                    continue
                found.append(
                    Deployed(
                        logical_id=str(resource_["LogicalResourceId"]),
                        name=str(config["FunctionName"]),
                        handler=str(config["Handler"]),
                        environment={
                            k: str(v) for k, v in (config.get("Environment") or {}).get("Variables", {}).items()
                        },
                    )
                )
    return sorted(found, key=lambda d: d.logical_id)


def lambda_env(cloud: LocalCloud, function: Deployed | None) -> dict[str, str]:
    """The variables Lambda (and the local cloud's worker pool) sets for the function, with AWS
    answered by the local cloud; without a function, only the AWS part (for a bare boto3 baseline)."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR") if k in os.environ}
    env.update(
        {
            "AWS_ENDPOINT_URL": cloud.moto_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "PYTHONPATH": os.pathsep.join([str(FUNCTIONS_DIR), str(LAYER_DIR)]),
            "PYTHONUNBUFFERED": "1",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
    )
    if function is not None:
        env.update(function.environment)
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": function.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
                "_HANDLER": function.handler,
                "LAMBDA_TASK_ROOT": str(FUNCTIONS_DIR),
            }
        )
    return env


class Context:
    """The attributes of Lambda's context object that handlers read."""

    memory_limit_in_mb = 512

    def __init__(self, function_name: str = "bench") -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "bench"
        self.identity = None
        self.client_context = None

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


# --- events -----------------------------------------------------------------------------------------


def proxy_event(
    method: str,
    resource_path: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    claims: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event (payload 1.0), as the local gateway builds it."""
    sent = {
        "Accept": "application/json",
        "Host": "127.0.0.1",
        "User-Agent": "shopstack-bench",
        "X-Forwarded-For": "127.0.0.1",
        "X-Forwarded-Proto": "http",
        **({"Content-Type": "application/json"} if body is not None else {}),
        **(headers or {}),
    }
    names = resource_path.strip("/").split("/")
    values = path.strip("/").split("/")
    params = {n[1:-1]: v for n, v in zip(names, values, strict=True) if n.startswith("{")}
    request_id = str(uuid.uuid4())
    context: dict[str, Any] = {
        "resourceId": "bench",
        "resourcePath": resource_path,
        "httpMethod": method,
        "extendedRequestId": request_id,
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
        "path": f"/v1{path}",
        "accountId": ACCOUNT_ID,
        "protocol": "HTTP/1.1",
        "stage": "v1",
        "domainPrefix": "bench",
        "requestTimeEpoch": int(time.time() * 1000),
        "requestId": request_id,
        "identity": {"sourceIp": "127.0.0.1", "userAgent": "shopstack-bench"},
        "domainName": "127.0.0.1",
        "apiId": "bench",
    }
    if claims is not None:
        context["authorizer"] = {"claims": claims}
    return {
        "resource": resource_path,
        "path": path,
        "httpMethod": method,
        "headers": sent,
        "multiValueHeaders": {k: [v] for k, v in sent.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": context,
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


def sqs_event(*bodies: Any, queue: str = "bench") -> dict[str, Any]:
    """An SQS batch as the event source mapping delivers it, one record per body."""
    now_ms = str(int(time.time() * 1000))
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": uuid.uuid4().hex,
                "body": body if isinstance(body, str) else json.dumps(body),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": now_ms,
                    "SenderId": ACCOUNT_ID,
                    "ApproximateFirstReceiveTimestamp": now_ms,
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{queue}",
                "awsRegion": REGION,
            }
            for body in bodies
        ]
    }


def event_envelope(name: str, source: str, data: dict[str, Any]) -> dict[str, Any]:
    """An EventBridge event as the rules hand it to their SQS targets."""
    moment = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    event_id = str(uuid.uuid4())
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": name,
        "source": source,
        "account": ACCOUNT_ID,
        "time": moment,
        "region": REGION,
        "resources": [],
        "detail": {"id": event_id, "occurredAt": moment, "data": data, "metadata": {"correlationId": event_id}},
    }


def stream_insert(table_arn: str, image: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB stream batch of one INSERT with `image` (DynamoDB JSON) as its new image."""
    return {
        "Records": [
            {
                "eventID": uuid.uuid4().hex,
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": REGION,
                "dynamodb": {
                    "ApproximateCreationDateTime": int(time.time()),
                    "Keys": {k: v for k, v in image.items() if k in ("pk", "sk", "orderId")},
                    "NewImage": image,
                    "SequenceNumber": str(int(time.time() * 1000)),
                    "SizeBytes": len(json.dumps(image)),
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
                "eventSourceARN": f"{table_arn}/stream/bench",
            }
        ]
    }


def admin_claims() -> dict[str, str]:
    return {"sub": "bench-admin", "email": "bench-admin@example.com", "cognito:groups": "admin", "token_use": "id"}


def shopper_claims() -> dict[str, str]:
    return {"sub": "bench-shopper", "email": "bench-shopper@example.com", "token_use": "id"}


# --- what the benchmarks buy -----------------------------------------------------------------------


@dataclass
class Fixtures:
    """A stocked product and one paid order, bought over HTTP before anything is measured."""

    sku: str
    order: dict[str, Any]
    admin_token: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def order_id(self) -> str:
        return str(self.order["orderId"])

    @property
    def order_token(self) -> str:
        return str(self.order["orderToken"])


def buy_fixtures(cloud: LocalCloud, units: int = 500) -> Fixtures:
    from shopstack.buyer import buy, stock_product, wait_until
    from shopstack.localcloud.tokens import issue_token

    admin = issue_token(cloud.base_url, "bench@example.com", admin=True)
    sku = stock_product(cloud, admin, units)
    bought = buy(cloud, sku)
    wait_until(cloud, [bought], timeout=60)
    return Fixtures(sku=sku, order=bought.order, admin_token=admin)


# --- one local cloud for the benchmarks of a run ----------------------------------------------------

_shared: dict[str, Any] = {}
_shared_lock = threading.Lock()


def shared_cloud() -> tuple[LocalCloud, Fixtures]:
    """One local cloud (and its fixtures) for every benchmark of this process: started on first
    use, stopped when the process exits."""
    with _shared_lock:
        if "cloud" not in _shared:
            began = time.monotonic()
            state = tempfile.TemporaryDirectory(prefix="shopstack-bench-")
            cloud = start(state_dir=Path(state.name), ses="production")
            started = time.monotonic()

            def stop() -> None:
                with contextlib.suppress(Exception):
                    cloud.stop(timeout=60)
                state.cleanup()

            atexit.register(stop)
            _shared["stop"] = stop
            try:
                _shared["fixtures"] = buy_fixtures(cloud)
            except BaseException:
                stop()
                raise
            _shared["cloud"] = cloud
            print(
                f"local cloud ready in {started - began:.0f} s, "
                f"a paid order bought in {time.monotonic() - started:.0f} s",
                file=sys.stderr,
            )
        return _shared["cloud"], _shared["fixtures"]


def stop_shared() -> None:
    """Stop the shared local cloud now (the benchmarks that start clouds of their own run next)."""
    with _shared_lock:
        stop = _shared.pop("stop", None)
        _shared.pop("cloud", None)
        _shared.pop("fixtures", None)
    if stop is not None:
        atexit.unregister(stop)
        stop()


@contextlib.contextmanager
def environment(variables: dict[str, str]) -> Iterator[None]:
    """os.environ with `variables` set, restored afterwards."""
    saved = {k: os.environ.get(k) for k in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def functions_env(cloud: LocalCloud, functions: list[Deployed]) -> dict[str, str]:
    """Put the handlers' code on sys.path; returns the union of their environments (the names
    they share hold the same resources), for `environment()` around their invocations."""
    for path in (str(LAYER_DIR), str(FUNCTIONS_DIR)):
        if path not in sys.path:
            sys.path.insert(0, path)
    merged: dict[str, str] = {}
    for function in functions:
        merged.update(lambda_env(cloud, function))
    merged.pop("PYTHONPATH", None)
    merged.pop("AWS_LAMBDA_FUNCTION_NAME", None)  # Powertools would treat the whole process as a Lambda sandbox
    return merged


def load_handler(function: Deployed) -> Callable[[Any, Any], Any]:
    import importlib

    handler: Callable[[Any, Any], Any] = getattr(
        importlib.import_module(function.module), function.handler.rpartition(".")[2]
    )
    return handler


# --- AWS calls and the CPU spent inside botocore, in this process -----------------------------------


def cpu() -> float:
    """CPU seconds (user + system) of the calling thread: the handler's own, not that of this
    process's other threads (the harness's thread reading the local cloud's output among them)."""
    return time.thread_time()


@dataclass
class CallLog:
    """The AWS calls made while recording: (service, operation) in order, and CPU inside botocore."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    sends: int = 0
    botocore_cpu: float = 0.0

    def counts(self) -> dict[str, int]:
        return dict(Counter(f"{service}.{operation}" for service, operation in self.calls))


class AwsCallRecorder:
    """Counts every AWS API call of every botocore client created after `install()` (boto3's,
    PynamoDB's and Powertools' alike), with botocore's own event hooks on each client:
    `before-call` counts the call, `before-send` each HTTP attempt, and the CPU between
    `before-parameter-build` (the call's first event) and `after-call`/`after-call-error` is the
    CPU spent inside botocore. Stubbed operations (`stub`) are answered without being sent and
    still counted."""

    def __init__(self) -> None:
        self.log: CallLog | None = None
        self.stubs: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
        self._started: dict[int, float] = {}
        self._installed = False

    def install(self) -> None:
        if self._installed:
            return
        import botocore.session

        original = botocore.session.Session.create_client
        recorder = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            recorder.attach(client)
            return client

        botocore.session.Session.create_client = create_client
        self._installed = True

    def attach(self, client: Any) -> None:
        events = client.meta.events
        events.register("before-parameter-build", self._begin)
        events.register("before-call", self._call)
        events.register("before-send", self._send)
        events.register("after-call", self._end)
        events.register("after-call-error", self._end)

    def _begin(self, **kwargs: Any) -> None:
        if self.log is not None:
            self._started[threading.get_ident()] = cpu()

    def _call(self, model: Any, params: dict[str, Any], **kwargs: Any) -> Any:
        if self.log is None:
            return None
        self.log.calls.append((model.service_model.service_name, model.name))
        stub = self.stubs.get(model.name)
        if stub is None:
            return None
        return _StubbedResponse(), stub(params)

    def _send(self, **kwargs: Any) -> None:
        if self.log is not None:
            self.log.sends += 1

    def _end(self, **kwargs: Any) -> None:
        began = self._started.pop(threading.get_ident(), None)
        if self.log is not None and began is not None:
            self.log.botocore_cpu += cpu() - began

    @contextlib.contextmanager
    def recording(self) -> Iterator[CallLog]:
        self.install()
        log = self.log = CallLog()
        try:
            yield log
        finally:
            self.log = None
            self._started.clear()


class _StubbedResponse:
    """The HTTP response botocore expects beside a stubbed parsed response."""

    status_code = 200
    headers: dict[str, str] = {}
    content = b""


RECORDER = AwsCallRecorder()


def copied(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = copy.deepcopy(event)
    return result


# --- the API handlers, run in this process ------------------------------------------------------------


class Discard:
    """A stdout that keeps nothing: the handlers' log lines are written (their cost counted) and dropped."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        return None


API_MODULES = {
    "inventory": "inventory.entrypoints.api",
    "checkout": "checkout.entrypoints.api",
    "orders": "orders.entrypoints.api",
    "order tasks": "orders.entrypoints.tasks",
}


class Shop:
    """The storefront's requests, each handed straight to the deployed function's handler in this
    process (AWS answered by the local cloud), as the local gateway would hand them over."""

    def __init__(self, cloud: LocalCloud, functions: list[Deployed]) -> None:
        RECORDER.install()  # before any handler builds a client
        wanted = {m: next((f for f in functions if f.module == m), None) for m in API_MODULES.values()}
        missing = [m for m, f in wanted.items() if f is None]
        if missing:
            raise RuntimeError(f"not deployed: {', '.join(missing)}")
        self.functions = {m: f for m, f in wanted.items() if f is not None}
        self.env = functions_env(cloud, list(self.functions.values()))
        with self.active():
            self.handlers = {m: load_handler(f) for m, f in self.functions.items()}

    def active(self) -> contextlib.AbstractContextManager[None]:
        """The functions' environment in os.environ while the block runs (restored after it, so
        other benchmarks of the same process see their own)."""
        return environment(self.env)

    def invoke(self, module: str, event: dict[str, Any]) -> Any:
        saved, sys.stdout = sys.stdout, Discard()
        try:
            return self.handlers[module](event, Context(self.functions[module].name))
        finally:
            sys.stdout = saved

    def api(self, service: str, event: dict[str, Any], expected: int | None = None) -> dict[str, Any]:
        answer: dict[str, Any] = self.invoke(API_MODULES[service], event)
        if expected is not None and answer.get("statusCode") != expected:
            raise RuntimeError(
                f"{event['httpMethod']} {event['path']}: {answer.get('statusCode')} {answer.get('body')}"
            )
        return answer

    # the requests, as events

    @staticmethod
    def product_read(sku: str) -> dict[str, Any]:
        return proxy_event("GET", "/products/{sku}", f"/products/{sku}")

    @staticmethod
    def product_list() -> dict[str, Any]:
        return proxy_event("GET", "/products", "/products")

    @staticmethod
    def cart_create() -> dict[str, Any]:
        return proxy_event("POST", "/carts", "/carts")

    @staticmethod
    def cart_update(cart: dict[str, Any], sku: str, quantity: int) -> dict[str, Any]:
        return proxy_event(
            "PUT",
            "/carts/{cartId}/items/{sku}",
            f"/carts/{cart['cartId']}/items/{sku}",
            body={"quantity": quantity},
            headers={"X-Cart-Token": str(cart["cartToken"])},
        )

    @staticmethod
    def checkout(cart: dict[str, Any]) -> dict[str, Any]:
        from shopstack.buyer import ADDRESS

        return proxy_event(
            "POST",
            "/carts/{cartId}/checkout",
            f"/carts/{cart['cartId']}/checkout",
            body={"email": "ada@example.com", "shippingAddress": ADDRESS, "paymentMethod": "pm_card_visa"},
            headers={"X-Cart-Token": str(cart["cartToken"]), "Idempotency-Key": uuid.uuid4().hex},
        )

    @staticmethod
    def order_read(order: dict[str, Any]) -> dict[str, Any]:
        order_id = str(order["orderId"])
        return proxy_event(
            "GET", "/orders/{orderId}", f"/orders/{order_id}", headers={"X-Order-Token": str(order["orderToken"])}
        )

    # whole steps, for setting up what is measured

    def new_cart(self, sku: str | None = None) -> dict[str, Any]:
        cart: dict[str, Any] = json.loads(self.api("checkout", self.cart_create(), 201)["body"])
        if sku is not None:
            self.api("checkout", self.cart_update(cart, sku, 1), 200)
        return cart

    def place_order(self, sku: str) -> dict[str, Any]:
        order: dict[str, Any] = json.loads(self.api("checkout", self.checkout(self.new_cart(sku)), 201)["body"])
        return order
