"""`shopstack up`: the whole stack on this machine, in the foreground, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from shopstack.localcloud import hooks, ses_sandbox, signing
from shopstack.localcloud.alarms import AlarmEvaluator
from shopstack.localcloud.chaos import CHAOS
from shopstack.localcloud.deploy import Deployer, asset_directories, read_stacks, synth
from shopstack.localcloud.lambda_pool import DEFAULT_CODE_PATHS, REPO_ROOT, LambdaPool
from shopstack.localcloud.pollers import Pollers
from shopstack.localcloud.samplers import Samplers
from shopstack.localcloud.schedules import Scheduler, discover, log_to_stderr
from shopstack.localcloud.server import ACCOUNT_ID, LOOPBACK, REGION, MotoServer
from shopstack.localcloud.telemetry import TELEMETRY

READY_TIMEOUT_SECONDS = 120.0
SIGNAL_CHECK_SECONDS = 0.5
STATE_FILE = "dynamodb.json"
STRIPE_STACK_SUFFIX = "-checkout"
"""The checkout stack is `shopstack-<stage>-checkout` (infra.names.stack_name)."""
STRIPE_SECRET_OUTPUT = "StripeSecretName"
LOCAL_STRIPE_KEY = "sk_test_local"


def state_dir() -> Path:
    configured = os.environ.get("SHOPSTACK_STATE_DIR")
    return Path(configured) if configured else REPO_ROOT / ".shopstack" / "state"


class LocalCloud:
    """moto, the hooks, the worker pool, the deployed stacks, the SQS pollers, and the telemetry
    samplers and alarm evaluator."""

    def __init__(
        self,
        *,
        moto_port: int = 0,
        code_paths: Sequence[Path] = DEFAULT_CODE_PATHS,
        log_stream: TextIO | None = None,
        idle_seconds: float = 300.0,
        ses_mode: str = ses_sandbox.SANDBOX,
        chaos: Mapping[str, float] | None = None,
        signing_key: signing.SigningKey | None = None,
    ) -> None:
        """`signing_key`: the key the local user pools sign tokens with (`shopstack up`: the one kept
        in the state directory; default: a new key for this cloud)."""
        self.ses_mode = ses_mode
        self.chaos = dict(chaos or {})
        self.signing_key = signing_key or signing.SigningKey.generate()
        self.server = MotoServer(port=moto_port)
        self.code_paths = code_paths
        self.log_stream = log_stream
        self.idle_seconds = idle_seconds
        self.pool: LambdaPool | None = None
        self.pollers: Pollers | None = None
        self.schedules: Scheduler | None = None
        self.samplers: Samplers | None = None
        self.alarms: AlarmEvaluator | None = None
        self.outputs: dict[str, dict[str, str]] = {}
        self.stack_names: list[str] = []

    @property
    def moto_url(self) -> str:
        return self.server.url

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.moto_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def start(self) -> LocalCloud:
        TELEMETRY.clear()  # what an earlier cloud of this process collected is not this one's
        self.server.start()
        self.pool = LambdaPool(
            moto_url=self.moto_url,
            region=REGION,
            account_id=ACCOUNT_ID,
            code_paths=self.code_paths,
            idle_seconds=self.idle_seconds,
            log_stream=self.log_stream,
        )
        hooks.install(self.pool)
        hooks.use_signing_key(self.signing_key)
        ses_sandbox.set_mode(self.ses_mode)
        CHAOS.set(**{"dynamodb": 0.0, **self.chaos})
        return self

    def deploy(self, assembly: Path) -> dict[str, dict[str, str]]:
        stacks = read_stacks(assembly)
        if self.pool is not None:
            self.pool.set_assets(asset_directories(assembly))
        self.outputs = Deployer(self.moto_url, REGION, ACCOUNT_ID).deploy(stacks)
        self.stack_names = [s.stack_name for s in stacks]
        return self.outputs

    def start_pollers(self, *, skip_stream_backlog: bool = False) -> None:
        """Start the event source pollers; `skip_stream_backlog` starts stream pollers after the
        records already in the streams (restored state is not a change to publish)."""
        assert self.pool is not None
        self.pollers = Pollers(
            lambda_client=self.client("lambda"),
            sqs_client=self.client("sqs"),
            streams_client=self.client("dynamodbstreams"),
            invoke=self.pool.invoke_raw,
            region=REGION,
        )
        self.pollers.start(streams_from_latest=skip_stream_backlog)

    def start_schedules(self, log: Callable[[str], None] | None = None) -> Scheduler:
        """Fire every enabled `rate(...)` EventBridge rule once now, then every period, in the
        background; `log` takes the scheduler's lines (default: stderr)."""
        assert self.pool is not None
        rules = discover(self.client("events"))
        self.schedules = Scheduler(rules, self.pool.invoke_raw, log or log_to_stderr).start()
        return self.schedules

    def start_observing(self, log: Callable[[str], None] | None = None, interval: float | None = None) -> None:
        """Sample queue depths and failed executions, and evaluate the deployed alarms, every few
        seconds (`interval`, default 5 s) in the background; `log` takes the alarm lines (default: stdout)."""
        from shopstack.localcloud import alarms, samplers

        self.samplers = Samplers(ACCOUNT_ID, REGION, interval or samplers.SAMPLE_SECONDS).start()
        self.alarms = AlarmEvaluator(
            moto_url=self.moto_url,
            region=REGION,
            account_id=ACCOUNT_ID,
            interval=interval or alarms.EVALUATION_SECONDS,
            log=log,
        ).start()

    def tables(self) -> dict[str, str]:
        """Deployed DynamoDB tables: "<stack>/<logical id>" to table name."""
        return self.resources("AWS::DynamoDB::Table")

    def queues(self) -> dict[str, str]:
        """Deployed SQS queues: "<stack>/<logical id>" to queue name (the physical id is its URL)."""
        return {key: url.rstrip("/").rsplit("/", 1)[-1] for key, url in self.resources("AWS::SQS::Queue").items()}

    def resources(self, resource_type: str) -> dict[str, str]:
        """Deployed resources of one type: "<stack>/<logical id>" to physical id."""
        cfn = self.client("cloudformation")
        found: dict[str, str] = {}
        for stack in self.stack_names:
            for resource in cfn.describe_stack_resources(StackName=stack)["StackResources"]:
                if resource["ResourceType"] == resource_type:
                    found[f"{stack}/{resource['LogicalResourceId']}"] = resource["PhysicalResourceId"]
        return found

    def restore(self, directory: Path, stripe: Any = None) -> int:
        """Put saved DynamoDB items, SQS messages and Stripe emulator objects back; returns how
        many items and messages came back."""
        from shopstack.localcloud import durable

        if stripe is not None:
            durable.restore_stripe(directory / durable.STRIPE_FILE, stripe)
        path = directory / STATE_FILE
        restored = durable.restore_dynamodb(path, self.tables(), ACCOUNT_ID, REGION)
        if restored is None:  # a state file from before snapshots: items as a scan returns them
            restored = self.restore_tables(path)
        return restored + durable.restore_sqs(directory / durable.SQS_FILE, self.queues(), ACCOUNT_ID, REGION)

    def snapshotter(self, directory: Path, stripe: Any = None) -> Any:
        """A durable.Snapshotter over this cloud's tables, queues and the Stripe emulator."""
        from shopstack.localcloud.durable import Snapshotter

        dynamodb = self.server.dynamodb
        assert dynamodb is not None
        return Snapshotter(
            directory,
            account_id=ACCOUNT_ID,
            region=REGION,
            dynamodb_lock=dynamodb.lock,
            dynamodb_writes=lambda: dynamodb.writes,
            tables=self.tables(),
            queues=self.queues(),
            stripe=stripe,
            machines=self.resources("AWS::StepFunctions::StateMachine"),
        )

    def resume_executions(self, directory: Path) -> int:
        """Start again the executions that were running when the last process died (durable.py)."""
        from shopstack.localcloud import durable

        machines = self.resources("AWS::StepFunctions::StateMachine")
        return durable.restore_executions(directory / durable.EXECUTIONS_FILE, machines, ACCOUNT_ID, REGION)

    def dump_tables(self, path: Path) -> int:
        from shopstack.localcloud.durable import encode_value

        dynamodb = self.client("dynamodb")
        state: dict[str, list[Any]] = {}
        for key, table in self.tables().items():
            items: list[Any] = []
            for page in dynamodb.get_paginator("scan").paginate(TableName=table):
                items.extend(encode_value(page["Items"]))
            state[key] = items
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_suffix(".tmp")
        scratch.write_text(json.dumps(state))
        scratch.replace(path)
        return sum(len(items) for items in state.values())

    def restore_tables(self, path: Path) -> int:
        if not path.is_file():
            return 0
        from shopstack.localcloud.durable import decode_value

        state: dict[str, list[Any]] = json.loads(path.read_text())
        dynamodb = self.client("dynamodb")
        restored = 0
        for key, table in self.tables().items():
            items = decode_value(state.get(key, []))
            for start in range(0, len(items), 25):
                requests = {table: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]}
                while requests:
                    requests = dynamodb.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}
            restored += len(items)
        return restored

    def stop(self) -> None:
        if self.alarms is not None:
            self.alarms.stop()
        if self.samplers is not None:
            self.samplers.stop()
        if self.schedules is not None:
            self.schedules.stop()
        if self.pollers is not None:
            self.pollers.stop()
        if self.pool is not None:
            self.pool.stop()
        self.server.stop()


# --- the gateway ---------------------------------------------------------------------------------


class GatewayServer:
    """The local API Gateway on a threaded werkzeug server."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway serves it

            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                return None

        self.server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="gateway")

    def start(self) -> GatewayServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def probe(url: str) -> bool:
    """True once the route answers anything but a 5xx."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return int(response.status) < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (urllib.error.URLError, OSError):
        return False


def wait_for_routes(base_url: str, paths: Sequence[str], timeout: float = READY_TIMEOUT_SECONDS) -> None:
    """Probe one route at a time, so that the probes warm one worker per function, not several."""
    pending = list(paths)
    deadline = time.monotonic() + timeout
    while pending:
        pending = [p for p in pending if not probe(base_url + p)]
        if pending and time.monotonic() > deadline:
            raise TimeoutError(f"routes not answering after {timeout:.0f} s: {pending}")
        if pending:
            time.sleep(0.2)


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses; `0.0.0.0`, `::` and "" mean every interface."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def exposure_warning(host: str) -> str | None:
    """The warning `shopstack up --host` prints when the gateway would listen beyond loopback."""
    if is_loopback(host):
        return None
    return (
        f"WARNING: the local cloud's gateway listens on {host or 'every interface'}, beyond loopback. "
        "The local cloud has no authentication on its control endpoints (/_localcloud/*: mail, chaos, "
        "SES mode, schedules, the AWS endpoint's address) and its AWS emulator holds the stack's secrets "
        "(moto and the Stripe emulator stay on 127.0.0.1): do not expose it to a network you do not control."
    )


def warn_if_exposed(host: str, stream: TextIO | None = None) -> None:
    warning = exposure_warning(host)
    if warning is not None:
        print(warning, file=stream or sys.stderr, flush=True)


def probe_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


# --- Stripe --------------------------------------------------------------------------------------


STRIPE_WEBHOOK_EVENTS = (
    "payment_intent.succeeded",
    "payment_intent.amount_capturable_updated",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "charge.refunded",
)
"""The events the shop's Stripe webhook endpoint subscribes to, here as in docs/deploy.md: what
checkout settles orders by. Every other event would cost an API request and an invocation each."""


def configure_stripe(cloud: LocalCloud, stripe: Any, gateway_url: str) -> bool:
    """Point the deployed Stripe secret at the emulator and register the webhook route with its
    signing secret. False when the checkout stack or its secret output is not deployed."""
    from shopstack.stripe_emulator.webhooks import new_secret

    secret_name = next(
        (
            outputs[STRIPE_SECRET_OUTPUT]
            for stack, outputs in cloud.outputs.items()
            if stack.endswith(STRIPE_STACK_SUFFIX) and STRIPE_SECRET_OUTPUT in outputs
        ),
        None,
    )
    if not secret_name:
        return False
    webhook_secret = new_secret()
    value = {"secretKey": LOCAL_STRIPE_KEY, "webhookSecret": webhook_secret, "apiBase": stripe.url}
    cloud.client("secretsmanager").put_secret_value(SecretId=secret_name, SecretString=json.dumps(value))
    stripe.emulator.add_webhook_endpoint(
        f"{gateway_url}/webhooks/stripe", secret=webhook_secret, enabled_events=STRIPE_WEBHOOK_EVENTS
    )
    return True


# --- run -----------------------------------------------------------------------------------------


class Stop(Exception):
    """SIGTERM asked the local cloud to stop."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise Stop


def _say(message: str) -> None:
    print(message, flush=True)


def serve(*, cloud: LocalCloud, host: str, port: int, seed: str, fresh: bool, stripe_port: int | None = None) -> None:
    from shopstack.stripe_emulator import EmulatorServer

    started = time.monotonic()
    cloud.start()
    stripe = EmulatorServer(LOOPBACK, port + 2 if stripe_port is None else stripe_port).start()
    try:
        assembly = synth(REPO_ROOT)
        cloud.deploy(assembly)
        configure_stripe(cloud, stripe, f"http://{probe_host(host)}:{port}")
        _serve_gateway(
            cloud=cloud,
            host=host,
            port=port,
            seed=seed,
            fresh=fresh,
            started=started,
            stripe_url=stripe.url,
            stripe=stripe.emulator,
        )
    finally:
        stripe.stop()


def _serve_gateway(
    *,
    cloud: LocalCloud,
    host: str,
    port: int,
    seed: str,
    fresh: bool,
    started: float,
    stripe_url: str,
    stripe: Any = None,
) -> None:
    restored = 0 if fresh else cloud.restore(state_dir(), stripe)
    cloud.start_pollers(skip_stream_backlog=restored > 0)
    if not fresh:
        cloud.resume_executions(state_dir())  # before the first snapshot, which would forget them
    snapshots = cloud.snapshotter(state_dir(), stripe).start()
    from shopstack.localcloud.gateway import LocalGateway

    assert cloud.pool is not None
    gateway = LocalGateway(
        region=REGION,
        account_id=ACCOUNT_ID,
        invoke=cloud.pool.invoke,
        moto_url=cloud.moto_url,
        signing_key=cloud.signing_key,
    )
    gateway.site.stripe_url = stripe_url  # config.json's payments, relayed under the gateway's origin
    gateway.refresh()
    server = GatewayServer(gateway, host, port).start()
    try:
        base_url = f"http://{probe_host(host)}:{port}"
        wait_for_routes(base_url, gateway.probe_paths())
        if seed == "demo":
            from shopstack.seed import load

            load("demo", base_url)
        _say(
            f"(up in {time.monotonic() - started:.1f} s; AWS services at {cloud.moto_url}; "
            f"Stripe emulator at {stripe_url})"
        )
        if ses_sandbox.mode() == ses_sandbox.SANDBOX:
            _say(
                "(SES is in the sandbox, as in a new AWS account: mail from or to unverified addresses is "
                "rejected; `shopstack up --ses production` lifts it)"
            )
        if CHAOS.rates["dynamodb"] > 0:
            _say(f"(chaos: {CHAOS.rates['dynamodb']:.0%} of DynamoDB writes fail as AWS conflicts and throttles)")
        # Scheduled rules fire once now (in the background), so a restart resumes work in flight.
        cloud.start_schedules(log=_say)
        cloud.start_observing(log=_say)
        _say(f"ready: http://{host}:{port}")
        while True:
            # Short sleeps: the kernel may hand SIGTERM to any thread, and Python runs its handler in
            # the main thread only when that thread next runs, so one long sleep could ignore it.
            time.sleep(SIGNAL_CHECK_SECONDS)
    finally:
        server.stop()
        save_state(snapshots)


def save_state(snapshots: Any) -> None:
    try:
        snapshots.stop()
    except Exception as exc:
        print(f"could not save the local cloud's state to {state_dir()}: {exc}", file=sys.stderr, flush=True)


def run(
    *,
    host: str,
    port: int,
    moto_port: int,
    seed: str,
    fresh: bool,
    stripe_port: int | None = None,
    ses_mode: str = ses_sandbox.SANDBOX,
    chaos: Mapping[str, float] | None = None,
) -> int:
    """Run the local cloud until Ctrl-C or SIGTERM; stops everything it started."""
    from shopstack.localcloud.memory import limit_arenas

    limit_arenas()
    warn_if_exposed(host)
    try:
        key = signing.load_or_create(state_dir())
    except (OSError, ValueError) as exc:
        print(f"shopstack up failed: no token signing key in {state_dir()}: {exc}", file=sys.stderr, flush=True)
        return 1
    previous = signal.signal(signal.SIGTERM, _raise_stop)
    cloud = LocalCloud(moto_port=moto_port, ses_mode=ses_mode, chaos=chaos, signing_key=key)
    try:
        serve(cloud=cloud, host=host, port=port, seed=seed, fresh=fresh, stripe_port=stripe_port)
    except (KeyboardInterrupt, Stop):
        return 0
    except Exception as exc:
        print(f"shopstack up failed: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        cloud.stop()
        signal.signal(signal.SIGTERM, previous)
    return 0
