"""Warm Lambda workers: a few processes per function, started on first use and reused.

Concurrency. Lambda runs up to 1,000 invocations at once per account, each on its own share of
a machine; here every worker shares this machine's cores with moto, the Stripe emulator and each
other. Starting a worker per waiting request (50 buyers: 50 processes importing boto3, stripe and
Powertools at once) starves every running handler of CPU, so handlers run past their timeout and
answer 502 after their order was placed: measured with 50 buyers on 2 cores, 35 of 38 checkouts.
So the pool runs at most `max_workers_per_function` (default 4, `SHOPSTACK_LAMBDA_CONCURRENCY`)
invocations of a function at once and queues the rest, in arrival order. Waiting in that queue is
the local cloud's doing, not the function's: as on Lambda, the function's timeout and
`context.get_remaining_time_in_millis()` count from when the handler is handed the event, never
from when the invocation arrived. A caller with a deadline of its own (API Gateway's 29 s
integration timeout) passes `deadline=` and gets `QueueTimeout` when no worker came free in time;
the event then never reaches the handler.

Priority. What a caller is waiting for runs first: workers of synchronous invocations (`invoke`,
the API Gateway's path) run at normal priority; workers of event-driven invocations
(`invoke_raw`: Step Functions tasks, SQS and stream pollers, schedules; `invoke_async`) run at
`BACKGROUND_NICENESS`. On AWS neither slows the other; here, without it, the order workflows of
earlier buyers took the CPU the checkout of later buyers was waiting for. Under no load the
niceness changes nothing.

Memory. Workers are forked from a zygote (`zygote.py`): one process per Python runtime that
imported the third-party libraries once, so that the workers share those pages instead of each
holding its own copy, and a new worker's first answer skips those imports. The child takes the
function's environment, path, directory and niceness and imports the handler and the project's
packages itself. A function whose environment would change what those libraries did at import
(`zygote.IMPORT_TIME_ENV`), or a machine without fork, gets a fresh interpreter as before
(`SHOPSTACK_LAMBDA_ZYGOTE=0`: always).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from shopstack.localcloud import asset_imports, zygote
from shopstack.localcloud.telemetry import TELEMETRY
from shopstack.localcloud.worker import read_message, write_message

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CODE_PATHS = (REPO_ROOT / "functions", REPO_ROOT / "layers" / "shared" / "python", REPO_ROOT)
PASSED_THROUGH_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SYSTEMROOT")
COLORS = (36, 33, 35, 32, 34, 91, 96, 93, 95, 92)
DEFAULT_CONCURRENCY = 4
CONCURRENCY_ENV = "SHOPSTACK_LAMBDA_CONCURRENCY"
BACKGROUND_NICENESS = 10
ZYGOTE_ENV = "SHOPSTACK_LAMBDA_ZYGOTE"
ZYGOTE_SCRIPT = Path(zygote.__file__).resolve()
ZYGOTE_READY_SECONDS = 60.0
ZYGOTE_LOG_NAME = "lambda-zygote"
STARTUP_ENV = ("PYTHONPATH", "PYTHONUNBUFFERED")
"""The `PYTHON*` variables a forked worker applies itself (any other one needs a fresh interpreter)."""


def zygote_enabled() -> bool:
    """Fork workers from a zygote unless `SHOPSTACK_LAMBDA_ZYGOTE=0`, where Linux's fork exists."""
    return os.environ.get(ZYGOTE_ENV, "1") != "0" and sys.platform.startswith("linux") and hasattr(os, "fork")


def default_concurrency() -> int:
    """Invocations of one function at once (per priority), from `SHOPSTACK_LAMBDA_CONCURRENCY`."""
    try:
        return max(1, int(os.environ.get(CONCURRENCY_ENV, DEFAULT_CONCURRENCY)))
    except ValueError:
        return DEFAULT_CONCURRENCY


class LambdaInvocationError(Exception):
    """An invocation that failed: the handler raised, timed out or could not start."""

    def __init__(self, function_name: str, payload: dict[str, Any]) -> None:
        self.function_name = function_name
        self.payload = payload
        self.error_type = str(payload.get("errorType", "Unknown"))
        super().__init__(f"{function_name}: {self.error_type}: {payload.get('errorMessage', '')}")


class QueueTimeout(LambdaInvocationError):
    """No worker came free before the caller's deadline: the handler never saw the event."""

    def __init__(self, function_name: str, waited: float) -> None:
        super().__init__(
            function_name,
            {
                "errorType": "LocalCloud.QueueTimeout",
                "errorMessage": f"no worker of {function_name} came free within {waited:.1f} s",
            },
        )


@dataclass(frozen=True)
class FunctionConfig:
    """What a worker needs to know about a deployed function."""

    name: str
    arn: str
    handler: str
    timeout: float = 3.0
    memory_size: int = 128
    version: str = "$LATEST"
    environment: dict[str, str] = field(default_factory=dict)
    code_key: str | None = None
    layer_keys: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        blob = json.dumps(
            [self.arn, self.handler, self.timeout, self.memory_size, self.environment, self.code_key, self.layer_keys]
        )
        return hashlib.sha1(blob.encode()).hexdigest()


Resolver = Callable[[str], FunctionConfig]


@dataclass(frozen=True)
class CodeLocation:
    """The folders a worker imports the function from (the asset, then its layers' `python/`)."""

    paths: tuple[str, ...]
    cwd: Path
    confined: bool


def moto_resolver(region: str, account_id: str) -> Resolver:
    """Read a function's configuration from moto's Lambda backend (Refs already resolved)."""

    def resolve(name_or_arn: str) -> FunctionConfig:
        from moto.awslambda.models import lambda_backends

        backend = lambda_backends[account_id][region]
        fn = backend.get_function(name_or_arn)
        layers = [backend.layers_versions_by_arn(layer["Arn"]) for layer in fn.layers or []]
        return FunctionConfig(
            name=fn.function_name,
            arn=fn.function_arn,
            handler=str(fn.handler),
            timeout=float(fn.timeout or 3),
            memory_size=int(fn.memory_size or 128),
            version=str(fn.version),
            environment={k: str(v) for k, v in (fn.environment_vars or {}).items()},
            code_key=(fn.code or {}).get("S3Key"),
            layer_keys=tuple(str(layer.content["S3Key"]) for layer in layers if layer and "S3Key" in layer.content),
        )

    return resolve


_CDK_NAME = re.compile(r"^(?:.*-)?(?P<id>[A-Za-z0-9]+?)(?:Function)?[0-9A-F]{8}-[A-Z0-9]+$")


def display_name(function_name: str) -> str:
    """`shopstack-dev-inventory-InventoryApiFunction55841460-1L31WGNF7YHI` -> `InventoryApi`."""
    match = _CDK_NAME.match(function_name)
    return match.group("id") if match else function_name


class LogSink:
    """Writes worker output lines prefixed with the function's name."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.lock = threading.Lock()
        self.colors: dict[str, int] = {}
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def prefix(self, name: str) -> str:
        name = display_name(name)
        if not self.tty:
            return f"[{name}]"
        color = self.colors.setdefault(name, COLORS[len(self.colors) % len(COLORS)])
        return f"\x1b[{color}m[{name}]\x1b[0m"

    def write(self, name: str, line: str) -> None:
        with self.lock:
            try:
                self.stream.write(f"{self.prefix(name)} {line.rstrip()}\n")
                self.stream.flush()
            except (ValueError, OSError):
                pass


class ForkedProcess:
    """A worker the zygote forked: the pool is not its parent, so its exit status comes from the
    zygote (which reaps it), through `exited`."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.stdout: TextIO | None = None
        self._done = threading.Event()

    def exited(self, status: int) -> None:
        if self.returncode is None:
            self.returncode = status
        self._done.set()

    def poll(self) -> int | None:
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        if not self._done.wait(timeout):
            raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout or 0.0)
        assert self.returncode is not None
        return self.returncode


class ZygoteFailed(RuntimeError):
    """The zygote could not start or fork a worker."""


class ZygoteClient:
    """The pool's end of one zygote process (`zygote.py`): starts it, asks it for workers, and
    learns from it when they exit."""

    def __init__(self, sink: LogSink, python: str = sys.executable) -> None:
        self.sink = sink
        self.env = zygote_env()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.control = ours
        self.process = subprocess.Popen(
            [python, "-P", str(ZYGOTE_SCRIPT), str(theirs.fileno()), str(os.getpid())],
            env=self.env,
            cwd=str(REPO_ROOT),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(theirs.fileno(),),
            text=True,
            bufsize=1,
        )
        theirs.close()
        self.lock = threading.Lock()  # one request at a time
        self.cond = threading.Condition()
        self.answers: dict[int, dict[str, Any]] = {}
        self.processes: dict[int, ForkedProcess] = {}
        self.requests = 0
        self.closed = False
        self.ready = threading.Event()
        threading.Thread(target=self._pump_logs, daemon=True, name="zygote-log").start()
        threading.Thread(target=self._read, daemon=True, name="zygote-reader").start()
        if not self.ready.wait(ZYGOTE_READY_SECONDS) or self.closed:
            self.stop()
            raise ZygoteFailed(f"the Lambda zygote did not start within {ZYGOTE_READY_SECONDS:.0f} s")

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return not self.closed and self.process.poll() is None

    def _pump_logs(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.sink.write(ZYGOTE_LOG_NAME, line)

    def _read(self) -> None:
        """Answers and exit notices, until the zygote goes away (its workers die with it)."""
        try:
            while True:
                message, fds = zygote.receive(self.control)
                for fd in fds:
                    os.close(fd)
                if message is None:
                    break
                self._handle(message)
        except OSError:
            pass
        with self.cond:
            self.closed = True
            processes = list(self.processes.values())
            self.cond.notify_all()
        self.ready.set()
        for process in processes:
            process.exited(-signal.SIGKILL)

    def _handle(self, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "ready":
            self.ready.set()
        elif op == "exited":
            with self.cond:
                process = self.processes.pop(int(message["pid"]), None)
            if process is not None:
                process.exited(int(message["status"]))
        else:
            with self.cond:
                if op == "spawned":
                    pid = int(message["pid"])
                    self.processes[pid] = message["process"] = ForkedProcess(pid)
                self.answers[int(message.get("id", -1))] = message
                self.cond.notify_all()

    def _ask(self, message: dict[str, Any], fds: tuple[int, ...] = (), timeout: float = 30.0) -> dict[str, Any]:
        with self.lock:
            self.requests += 1
            ident = message["id"] = self.requests
            try:
                zygote.send(self.control, message, fds)
            except OSError as exc:
                raise ZygoteFailed(f"the Lambda zygote is gone: {exc}") from exc
            deadline = time.monotonic() + timeout
            with self.cond:
                while ident not in self.answers:
                    remaining = deadline - time.monotonic()
                    if self.closed or remaining <= 0:
                        raise ZygoteFailed("the Lambda zygote did not answer")
                    self.cond.wait(remaining)
                return self.answers.pop(ident)

    def spawn(
        self, handler: str, env: dict[str, str], cwd: Path, niceness: int, fds: tuple[int, int, int]
    ) -> ForkedProcess:
        """Fork a worker for `handler`; `fds`: its request pipe's read end, its response pipe's
        write end and its output pipe's write end (the caller closes its copies)."""
        request = {"op": "spawn", "handler": handler, "env": env, "cwd": str(cwd), "niceness": niceness}
        answer = self._ask(request, fds)
        if answer.get("op") != "spawned":
            raise ZygoteFailed(str(answer.get("error", answer)))
        process: ForkedProcess = answer["process"]
        return process

    def modules(self) -> list[str]:
        """The names in the zygote's sys.modules (what every worker starts with)."""
        return [str(name) for name in self._ask({"op": "modules"}).get("modules", [])]

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.control.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.control.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def zygote_env() -> dict[str, str]:
    """The zygote's environment: what every worker's has besides the function's own (the
    variables the preloaded libraries read at import take these values)."""
    env = {k: os.environ[k] for k in PASSED_THROUGH_ENV if k in os.environ}
    env["PYTHONUNBUFFERED"] = "1"
    env["AWS_EXECUTION_ENV"] = execution_env()
    return env


def execution_env() -> str:
    return f"AWS_Lambda_python{sys.version_info[0]}.{sys.version_info[1]}"


def forkable(env: Mapping[str, str], zygote_environment: Mapping[str, str]) -> bool:
    """A worker with environment `env` may be forked from a zygote started with
    `zygote_environment`: the libraries' import-time variables agree, and no `PYTHON*` variable
    other than those the child applies itself is set."""
    if any(env.get(name) != zygote_environment.get(name) for name in zygote.IMPORT_TIME_ENV):
        return False
    if env.get("PYTHONUNBUFFERED") != zygote_environment.get("PYTHONUNBUFFERED"):
        return False
    return not any(name.startswith("PYTHON") and name not in STARTUP_ENV for name in env)


class Worker:
    """One worker process serving one function: forked by the zygote, or a fresh
    `python -m shopstack.localcloud.worker`."""

    def __init__(
        self,
        config: FunctionConfig,
        env: dict[str, str],
        sink: LogSink,
        cwd: Path = REPO_ROOT,
        niceness: int = 0,
        zygote: ZygoteClient | None = None,
    ) -> None:
        self.config = config
        child_in, self.request_fd = os.pipe()
        self.response_fd, child_out = os.pipe()
        try:
            self.process: subprocess.Popen[str] | ForkedProcess = (
                self._fork(zygote, env, cwd, niceness, child_in, child_out)
                if zygote is not None
                else self._start(env, cwd, niceness, child_in, child_out)
            )
        except BaseException:
            for fd in (self.request_fd, self.response_fd):
                os.close(fd)
            raise
        finally:
            os.close(child_in)
            os.close(child_out)
        self.last_used = time.monotonic()
        self.init_error: dict[str, Any] | None = None
        threading.Thread(target=self._pump_logs, args=(sink,), daemon=True, name=f"log-{config.name}").start()

    def _fork(
        self, zygote: ZygoteClient, env: dict[str, str], cwd: Path, niceness: int, child_in: int, child_out: int
    ) -> ForkedProcess:
        output, child_output = os.pipe()
        try:
            process = zygote.spawn(self.config.handler, env, cwd, niceness, (child_in, child_out, child_output))
        except BaseException:
            os.close(output)
            raise
        finally:
            os.close(child_output)
        process.stdout = open(output, encoding="utf-8", errors="replace", buffering=1)  # noqa: SIM115
        return process

    def _start(
        self, env: dict[str, str], cwd: Path, niceness: int, child_in: int, child_out: int
    ) -> subprocess.Popen[str]:
        cmd = [sys.executable, "-m", "shopstack.localcloud.worker", self.config.handler, str(child_in), str(child_out)]
        process = subprocess.Popen(
            cmd,
            env=env,
            cwd=str(cwd),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(child_in, child_out),
            text=True,
            bufsize=1,
        )
        if niceness:
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, process.pid, niceness)
        return process

    def _pump_logs(self, sink: LogSink) -> None:
        """Print each line the worker writes, and hand it to the telemetry collector."""
        assert self.process.stdout is not None
        stream = TELEMETRY.stream(self.config.name)
        for line in self.process.stdout:
            sink.write(self.config.name, line)
            stream.feed(line)
        with contextlib.suppress(OSError):
            self.process.stdout.close()

    def wait_ready(self, timeout: float) -> None:
        try:
            message = self._receive(timeout)
        except (TimeoutError, OSError, ValueError):
            message = None
        if message is None:
            self.kill()
            raise LambdaInvocationError(self.config.name, init_failure(self.config.name, timeout))
        self.init_error = message.get("initError")

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        ready, _, _ = select.select([self.response_fd], [], [], timeout)
        if not ready:
            raise TimeoutError
        return read_message(self.response_fd)

    def invoke(self, event: Any, request_id: str) -> tuple[dict[str, Any] | Any, bool]:
        """Run one invocation; returns (payload, errored). Kills the worker on timeout. The
        timeout counts from here, when the handler is handed the event, as on Lambda."""
        timeout = self.config.timeout
        request = {
            "event": event,
            "request_id": request_id,
            "invoked_function_arn": self.config.arn,
            "deadline_ms": time.time() * 1000 + timeout * 1000,
        }
        try:
            write_message(self.request_fd, request)
            reply = self._receive(timeout)
        except TimeoutError:
            self.kill()
            return timeout_payload(request_id, timeout), True
        except (OSError, ValueError):
            reply = None
        self.last_used = time.monotonic()
        if reply is None:
            self.kill()
            return exit_payload(request_id, self.process.returncode), True
        return reply["payload"], bool(reply["errored"])

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        for fd in (self.request_fd, self.response_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.request_fd = self.response_fd = -1
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


def timeout_payload(request_id: str, timeout: float) -> dict[str, Any]:
    return {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds",
    }


def exit_payload(request_id: str, returncode: int | None) -> dict[str, Any]:
    return {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status {returncode}",
    }


def init_failure(name: str, timeout: float) -> dict[str, Any]:
    return {"errorType": "Runtime.InitError", "errorMessage": f"{name} did not start within {timeout:.0f} s"}


class FunctionWorkers:
    """The workers of one function configuration: reuse an idle one, start one up to the cap."""

    def __init__(self, config: FunctionConfig, spawn: Callable[[FunctionConfig], Worker], cap: int) -> None:
        self.config = config
        self.spawn = spawn
        self.cap = cap
        self.idle: list[Worker] = []
        self.count = 0
        self.cond = threading.Condition()
        self.tickets = 0  # first come, first served: the next ticket to hand out
        self.serving = 0  # and the ticket whose turn it is
        self.abandoned: set[int] = set()

    def _next(self) -> None:
        """The current ticket got its worker: the turn passes on (skipping abandoned tickets)."""
        self.serving += 1
        while self.serving in self.abandoned:
            self.abandoned.discard(self.serving)
            self.serving += 1
        self.cond.notify_all()

    def _abandon(self, ticket: int) -> None:
        if ticket == self.serving:
            self._next()
        elif ticket > self.serving:
            self.abandoned.add(ticket)
            self.cond.notify_all()

    def acquire(self, deadline: float | None = None) -> Worker:
        """An idle worker, or a new one while under the cap; else wait in arrival order, until
        `deadline` (time.monotonic()) when given, then QueueTimeout."""
        began = time.monotonic()
        with self.cond:
            ticket = self.tickets
            self.tickets += 1
            try:
                while True:
                    if ticket == self.serving:
                        self.idle = [w for w in self.idle if w.alive]
                        if self.idle:
                            self._next()
                            return self.idle.pop()
                        if self.count < self.cap:
                            self.count += 1
                            self._next()
                            break
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        raise QueueTimeout(self.config.name, time.monotonic() - began)
                    self.cond.wait(remaining)
            except BaseException:
                self._abandon(ticket)
                raise
        try:
            return self.spawn(self.config)
        except BaseException:
            self._forget()
            raise

    def release(self, worker: Worker) -> None:
        if not worker.alive:
            self._forget()
            return
        with self.cond:
            self.idle.append(worker)
            self.cond.notify_all()

    def _forget(self) -> None:
        with self.cond:
            self.count -= 1
            self.cond.notify_all()

    def retire_idle(self, older_than: float) -> None:
        now = time.monotonic()
        with self.cond:
            stale = [w for w in self.idle if now - w.last_used > older_than or not w.alive]
            self.idle = [w for w in self.idle if w not in stale]
            self.count -= len(stale)
            self.cond.notify_all()
        for worker in stale:
            worker.kill()

    def stop(self) -> None:
        with self.cond:
            workers, self.idle = self.idle, []
            self.count -= len(workers)
        for worker in workers:
            worker.kill()


class LambdaPool:
    """Invokes deployed functions in warm worker processes, as Lambda's execution environments do."""

    def __init__(
        self,
        *,
        moto_url: str,
        region: str,
        account_id: str,
        resolver: Resolver | None = None,
        code_paths: Sequence[Path] = DEFAULT_CODE_PATHS,
        max_workers_per_function: int | None = None,
        idle_seconds: float = 300.0,
        log_stream: TextIO | None = None,
        fork_workers: bool | None = None,
    ) -> None:
        """`fork_workers`: fork workers from a zygote (default: `zygote_enabled()`)."""
        self.moto_url = moto_url
        self.region = region
        self.account_id = account_id
        self.resolve = resolver or moto_resolver(region, account_id)
        self.code_paths = [str(p) for p in code_paths]
        self.cap = max_workers_per_function if max_workers_per_function is not None else default_concurrency()
        self.idle_seconds = idle_seconds
        self.sink = LogSink(log_stream)
        self.assets: dict[str, Path] = {}
        self._functions: dict[tuple[str, bool], FunctionWorkers] = {}
        self._lock = threading.Lock()
        self._live: set[Worker] = set()
        self._async = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lambda-async")
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lambda-spawner")
        self._stopped = threading.Event()
        self.fork_workers = zygote_enabled() if fork_workers is None else fork_workers
        self._zygote: ZygoteClient | None = None
        threading.Thread(target=self._reap, daemon=True, name="lambda-reaper").start()
        if self.fork_workers:
            self._spawner.submit(self.zygote)  # its imports overlap the deploy, not the first request

    def invoke(self, function_name_or_arn: str, event: Any, *, deadline: float | None = None) -> Any:
        """Invoke synchronously, for a caller waiting on the answer (API Gateway); returns the
        handler's result or raises LambdaInvocationError (QueueTimeout when no worker came free
        before `deadline`, a time.monotonic())."""
        config = self.resolve(function_name_or_arn)
        payload, errored = self._invoke(config, event, deadline=deadline)
        if errored:
            raise LambdaInvocationError(config.name, payload)
        return payload

    def invoke_raw(self, function_name_or_arn: str, event: Any) -> tuple[str, bool, str]:
        """moto's `_invoke_lambda` contract: (payload as JSON text, errored, logs). Event-driven
        invocations (Step Functions, pollers, schedules) come this way: background priority."""
        config = self.resolve(function_name_or_arn)
        payload, errored = self._invoke(config, event, background=True)
        return json.dumps(payload), errored, ""

    def invoke_async(self, function_name_or_arn: str, event: Any) -> None:
        """Invoke in the background (InvocationType=Event); failures are only logged."""
        if not self._stopped.is_set():
            self._async.submit(self._invoke_logged, function_name_or_arn, event)

    def _invoke_logged(self, function_name_or_arn: str, event: Any) -> None:
        try:
            config = self.resolve(function_name_or_arn)
            payload, errored = self._invoke(config, event, background=True)
            if errored:
                raise LambdaInvocationError(config.name, payload)
        except LambdaInvocationError as exc:
            self.sink.write(exc.function_name, f"async invocation failed: {exc}")
        except Exception as exc:
            self.sink.write(function_name_or_arn, f"async invocation failed: {exc!r}")

    def _invoke(
        self, config: FunctionConfig, event: Any, *, deadline: float | None = None, background: bool = False
    ) -> tuple[Any, bool]:
        if self._stopped.is_set():
            raise LambdaInvocationError(config.name, {"errorType": "Stopped", "errorMessage": "pool stopped"})
        workers = self._workers_for(config, background)
        try:
            worker = workers.acquire(deadline)
        except QueueTimeout:
            TELEMETRY.throttle(config.name)
            raise
        except LambdaInvocationError as exc:  # could not start: Lambda reports it as the call's error
            TELEMETRY.invocation_error(config.name)
            return exc.payload, True
        try:
            if worker.init_error is not None:
                payload, errored = worker.init_error, True
            else:
                payload, errored = worker.invoke(event, str(uuid.uuid4()))
        finally:
            workers.release(worker)
        if errored:
            TELEMETRY.invocation_error(config.name)
        return payload, errored

    def _workers_for(self, config: FunctionConfig, background: bool = False) -> FunctionWorkers:
        key = (config.key, background)
        with self._lock:
            workers = self._functions.get(key)
            if workers is None:
                spawn = self._spawn_background if background else self._spawn
                workers = self._functions[key] = FunctionWorkers(config, spawn, self.cap)
            return workers

    def set_assets(self, assets: Mapping[str, Path]) -> None:
        """The synthesized asset folders by S3 key (`<hash>.zip`): functions whose code key is one
        of them run from that folder plus their layers' `python/`, and import nothing else of the
        project; other functions (no assets known) run from `code_paths`."""
        self.assets = dict(assets)

    def code_location(self, config: FunctionConfig) -> CodeLocation:
        """Where a worker of this function imports from, and its working directory."""
        if not self.assets:
            return CodeLocation(tuple(self.code_paths), REPO_ROOT, confined=False)
        task = self.assets.get(config.code_key or "")
        if task is None:
            raise LambdaInvocationError(
                config.name,
                {
                    "errorType": "Runtime.ImportModuleError",
                    "errorMessage": f"Unable to import module '{config.handler.rpartition('.')[0]}': "
                    f"the function's code {config.code_key!r} is not an asset of the cloud assembly",
                },
            )
        layers = [self.assets[key] / "python" for key in config.layer_keys if key in self.assets]
        return CodeLocation((str(task), *[str(p) for p in layers]), task, confined=True)

    def _spawn_background(self, config: FunctionConfig) -> Worker:
        return self._spawn(config, niceness=BACKGROUND_NICENESS)

    def _spawn(self, config: FunctionConfig, niceness: int = 0) -> Worker:
        location = self.code_location(config)
        env = self.worker_env(config, location)
        # started from one long-lived thread: a worker asks the kernel to kill it when the thread
        # that started it ends (worker.die_with_parent), and request threads come and go
        worker = self._spawner.submit(self._start_worker, config, env, location.cwd, niceness).result()
        with self._lock:
            self._live.add(worker)
        worker.wait_ready(timeout=max(10.0, config.timeout) * 3)
        return worker

    def _start_worker(self, config: FunctionConfig, env: dict[str, str], cwd: Path, niceness: int) -> Worker:
        """On the spawner thread: fork the worker from the zygote when it can be, else start a fresh
        interpreter (also when the zygote fails)."""
        forker = self.zygote()
        if forker is not None and forkable(env, forker.env):
            try:
                return Worker(config, env, self.sink, cwd=cwd, niceness=niceness, zygote=forker)
            except ZygoteFailed as exc:
                self.sink.write(ZYGOTE_LOG_NAME, f"could not fork a worker of {config.name}: {exc}")
        return Worker(config, env, self.sink, cwd=cwd, niceness=niceness)

    def zygote(self) -> ZygoteClient | None:
        """The zygote (started, or restarted after it died, on the spawner thread, so that it dies
        with the pool: see worker.die_with_parent); None when workers are not forked or the zygote
        cannot start."""
        if not self.fork_workers or self._stopped.is_set():
            return None
        if self._zygote is not None and self._zygote.alive:
            return self._zygote
        if self._zygote is not None:
            self._zygote.stop()
            self._zygote = None
        if threading.current_thread().name.startswith("lambda-spawner"):
            try:
                self._zygote = ZygoteClient(self.sink)
            except (OSError, ZygoteFailed) as exc:
                self.sink.write(ZYGOTE_LOG_NAME, f"workers start as fresh interpreters: {exc}")
                self.fork_workers = False
            return self._zygote
        return self._spawner.submit(self.zygote).result()

    def zygote_pids(self) -> list[int]:
        forker = self._zygote
        return [forker.pid] if forker is not None and forker.alive else []

    def worker_env(self, config: FunctionConfig, location: CodeLocation | None = None) -> dict[str, str]:
        location = location or CodeLocation(tuple(self.code_paths), REPO_ROOT, confined=False)
        env = {k: os.environ[k] for k in PASSED_THROUGH_ENV if k in os.environ}
        env.update(config.environment)
        env.update(
            {
                "AWS_ENDPOINT_URL": self.moto_url,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_LAMBDA_FUNCTION_NAME": config.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_size),
                "AWS_LAMBDA_FUNCTION_VERSION": config.version,
                "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(config.timeout)),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.name}",
                "AWS_EXECUTION_ENV": execution_env(),
                "_HANDLER": config.handler,
                "PYTHONPATH": os.pathsep.join(location.paths),
                "PYTHONUNBUFFERED": "1",
                "LAMBDA_TASK_ROOT": str(location.cwd),
                # no X-Ray daemon here: Powertools Tracer would only warn on every segment it sends
                "POWERTOOLS_TRACE_DISABLED": "true",
            }
        )
        if location.confined:
            env[asset_imports.ALLOWED_ENV] = json.dumps(list(location.paths))
            env[asset_imports.PROJECT_ENV] = str(REPO_ROOT)
        return env

    def _reap(self) -> None:
        interval = min(10.0, max(0.2, self.idle_seconds / 4))
        while not self._stopped.wait(interval):
            with self._lock:
                groups = list(self._functions.values())
                self._live = {w for w in self._live if w.alive}
            for workers in groups:
                workers.retire_idle(self.idle_seconds)

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [w.process.pid for w in self._live if w.alive]

    def stop(self) -> None:
        self._stopped.set()
        self._async.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            groups = list(self._functions.values())
            live = list(self._live)
        for workers in groups:
            workers.stop()
        for worker in live:
            worker.kill()
        with contextlib.suppress(Exception):
            self._spawner.submit(self._stop_zygote).result(timeout=ZYGOTE_READY_SECONDS)

    def _stop_zygote(self) -> None:
        if self._zygote is not None:
            self._zygote.stop()
