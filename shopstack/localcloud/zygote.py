"""The Lambda workers' zygote: one process that imports the third-party libraries once, then forks
a worker per request of the pool.

A fresh interpreter per worker costs 110-170 MB resident and 0.3-0.4 s of imports (boto3,
botocore, pynamodb, stripe, Powertools, pydantic), the same pages in every worker. Forked from a
process that already imported them, a worker shares those pages with the zygote and its siblings
until it writes to them, and its first answer skips the imports.

What a handler sees does not change:

- Only third-party libraries are imported here (`PRELOAD`), never the project's packages: the
  handler module, the layer and `shopstack` are imported in the worker, after the fork, so each
  worker starts from fresh module state (a module-level counter starts at 0; Powertools'
  `cold_start` is true on a worker's first invocation, as no handler ever ran in the zygote).
- The child sets its environment to exactly the function's (cleared, then set), its `sys.path` as
  the interpreter would have built it from `PYTHONPATH`, its working directory and niceness; it
  reseeds `random`, drops boto3's default session and the root logger's handlers.
- botocore's data files (service models, endpoint rules) are loaded here, once, into one loader
  that every botocore session of the workers uses (`share_botocore_data`): data only, no
  credentials or region.
- The libraries' import-time reads of the environment (`IMPORT_TIME_ENV`) see the zygote's
  environment, not the function's: the pool starts a fresh interpreter instead for a function
  whose environment sets one of them differently (or sets another `PYTHON*` variable).

The zygote forks only while it has a single thread (it never starts one; `/proc/self/task` is
checked before each fork), and calls `gc.freeze()` after its imports, so that the workers' garbage
collections do not write to (and so copy) the pages of the objects it imported.

Run as `python -P zygote.py CONTROL_FD PARENT_PID` (a script, so that no project package is
imported): requests and answers are JSON datagrams on a SOCK_SEQPACKET Unix socket; a `spawn`
request carries three descriptors (the worker's request pipe, response pipe and output pipe).
Answers: `{"op": "ready"}` once, then `spawned`/`failed` per spawn (by `id`), `exited` per worker
(`pid`, `status` as subprocess's `returncode`), `modules` on request.
The zygote exits when the pool closes the socket or its parent goes away; its workers with it.
"""

from __future__ import annotations

import array
import contextlib
import gc
import importlib
import json
import os
import select
import signal
import socket
import sys
import traceback
from typing import Any

PRELOAD = (
    "boto3",
    "boto3.session",
    "boto3.dynamodb.conditions",
    "boto3.dynamodb.types",
    "boto3.dynamodb.table",
    "boto3.dynamodb.transform",
    "boto3.resources.factory",
    "boto3.resources.collection",
    "botocore.session",
    "botocore.client",
    "botocore.credentials",
    "botocore.endpoint",
    "botocore.httpsession",
    "botocore.parsers",
    "botocore.serialize",
    "botocore.regions",
    "botocore.endpoint_provider",
    "botocore.handlers",
    "botocore.signers",
    "botocore.auth",
    "botocore.retries.standard",
    "botocore.retries.adaptive",
    "botocore.retryhandler",
    "botocore.paginate",
    "botocore.waiter",
    "botocore.exceptions",
    "pynamodb.models",
    "pynamodb.attributes",
    "pynamodb.indexes",
    "pynamodb.connection",
    "pynamodb.transactions",
    "pynamodb.exceptions",
    "stripe",
    "pydantic",
    "aws_lambda_powertools",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.event_handler.openapi.params",
    "aws_lambda_powertools.event_handler.openapi.dependant",
    "aws_lambda_powertools.event_handler.openapi.encoders",
    "aws_lambda_powertools.event_handler.middlewares.openapi_validation",
    "aws_lambda_powertools.utilities.typing",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.data_classes",
    "aws_lambda_powertools.utilities.idempotency",
    "aws_lambda_powertools.utilities.jmespath_utils",
    "ctypes",
)
"""Third-party modules (and ctypes, for prctl) the functions import; imported once, here."""

SHARED_SERVICES = ("dynamodb", "sqs", "events", "stepfunctions", "sesv2", "secretsmanager", "ssm", "cognito-idp")
"""The AWS services whose botocore data (models, endpoint rules) the zygote loads for all workers."""

IMPORT_TIME_ENV = (
    "AWS_EXECUTION_ENV",  # Powertools' user agent
    "POWERTOOLS_DEBUG",  # Powertools' package logger
    "LAMBDA_INITIALIZATION_TYPE",  # Powertools' metrics cold start
    "PYNAMODB_CONFIG",  # pynamodb's settings module
    "STRIPE_LOG",  # stripe's logging
    "BOTO_DISABLE_CRT",  # botocore's CRT switch
)
"""Variables the preloaded libraries read when imported (module level), not when used."""

PR_SET_PDEATHSIG = 1
MAX_MESSAGE = 1 << 20


def send(sock: socket.socket, message: dict[str, Any], fds: tuple[int, ...] = ()) -> None:
    """One datagram: the message as JSON, with `fds` passed along (SCM_RIGHTS)."""
    data = json.dumps(message).encode()
    if fds:
        sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        sock.sendall(data)


def receive(sock: socket.socket) -> tuple[dict[str, Any] | None, list[int]]:
    """The next datagram and the descriptors it carries; (None, []) when the peer closed."""
    fds = array.array("i")
    data, ancillary, _, _ = sock.recvmsg(MAX_MESSAGE, socket.CMSG_SPACE(16 * fds.itemsize))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
    if not data:
        for fd in fds:
            os.close(fd)
        return None, []
    message: dict[str, Any] = json.loads(data)
    return message, list(fds)


def die_with_parent(parent_pid: int) -> bool:
    """SIGKILL this process when the thread that forked or started it ends (prctl); exits at once
    when that parent is already gone. False where prctl is not available."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent_pid:
        os._exit(0)
    return True


def single_threaded() -> bool:
    """True when this process runs one thread, Python's and the C libraries' alike."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        import threading

        return threading.active_count() == 1


def preload(modules: tuple[str, ...] = PRELOAD) -> list[str]:
    """Import `modules`; returns the ones that could not be imported (the worker imports those
    itself, or fails as it would have)."""
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:
            missing.append(name)
    return missing


class UniquePaths(list[str]):
    """A loader's search paths shared by many sessions: boto3 appends its data folder once per
    session, which here would repeat it in the one shared list."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


def share_botocore_data(services: tuple[str, ...] = SHARED_SERVICES) -> bool:
    """Give every botocore session of the workers one data loader, primed here with the models and
    endpoint data of `services`: a worker's first client then neither parses nor holds its own
    copy of them (about 9 MB per worker, measured). The loader holds data files only, the same
    for every session; a session configured with its own data path (AWS_DATA_PATH) gets its own.
    The priming clients use placeholder credentials and are dropped at once: no credential,
    region or connection outlives them."""
    try:
        import boto3.session
        import botocore.loaders
        import botocore.session
    except ImportError:
        return False
    loader = botocore.loaders.create_loader()
    loader._search_paths = UniquePaths(loader.search_paths)
    original = botocore.loaders.create_loader

    def create_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
        return loader if search_path_string is None else original(search_path_string)

    botocore.session.create_loader = create_loader
    priming = boto3.session.Session(
        botocore_session=botocore.session.Session(),
        region_name="us-east-1",
        aws_access_key_id="zygote",
        aws_secret_access_key="zygote",
    )
    for service in services:
        with contextlib.suppress(Exception):
            priming.client(service, endpoint_url="http://127.0.0.1:9")
    with contextlib.suppress(Exception):
        priming.resource("dynamodb", endpoint_url="http://127.0.0.1:9")
    del priming
    return True


def exit_status(status: int) -> int:
    """A wait status as subprocess reports it: the exit code, or minus the signal's number."""
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


class Zygote:
    """The fork server's loop: spawn requests in, worker pids and exit statuses out."""

    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.base_path = list(sys.path)
        self.children: set[int] = set()
        self.wakeup_read, self.wakeup_write = os.pipe()
        os.set_blocking(self.wakeup_read, False)
        os.set_blocking(self.wakeup_write, False)

    def serve(self) -> None:
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # wakes select through the wakeup fd
        signal.set_wakeup_fd(self.wakeup_write, warn_on_full_buffer=False)
        send(self.control, {"op": "ready"})
        while True:
            readable, _, _ = select.select([self.control.fileno(), self.wakeup_read], [], [], 5.0)
            if self.wakeup_read in readable:
                while True:
                    try:
                        if not os.read(self.wakeup_read, 512):
                            break
                    except BlockingIOError:
                        break
            self.reap()
            if self.control.fileno() in readable:
                message, fds = receive(self.control)
                if message is None:
                    return
                self.handle(message, fds)

    def reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.children.clear()
                return
            if pid == 0:
                return
            self.children.discard(pid)
            send(self.control, {"op": "exited", "pid": pid, "status": exit_status(status)})

    def handle(self, message: dict[str, Any], fds: list[int]) -> None:
        op = message.get("op")
        if op == "modules":
            answer = {"op": "modules", "id": message.get("id"), "modules": sorted(sys.modules)}
            send(self.control, {**answer, "single_threaded": single_threaded()})
        elif op == "spawn":
            self.spawn(message, fds)
        for fd in fds:
            os.close(fd)

    def spawn(self, message: dict[str, Any], fds: list[int]) -> None:
        ident = message.get("id")
        if len(fds) != 3:
            send(self.control, {"op": "failed", "id": ident, "error": f"expected 3 descriptors, got {len(fds)}"})
            return
        if not single_threaded():
            send(self.control, {"op": "failed", "id": ident, "error": "the zygote runs more than one thread"})
            return
        zygote_pid = os.getpid()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the loop
            status = 1
            try:
                become_worker(message, fds, zygote_pid, self.base_path, (self.control, self.wakeup_read))
                status = 0
            except SystemExit as exc:
                status = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                traceback.print_exc()
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(status)
        self.children.add(pid)
        send(self.control, {"op": "spawned", "id": ident, "pid": pid})


def become_worker(
    message: dict[str, Any],
    fds: list[int],
    zygote_pid: int,
    base_path: list[str],
    zygote_fds: tuple[socket.socket, int],
) -> None:
    """In the forked child: take the function's environment, path, directory and priority, make
    fresh what must be, then serve invocations as `shopstack.localcloud.worker` does."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    die_with_parent(zygote_pid)
    control, wakeup_read = zygote_fds
    control.close()
    os.close(wakeup_read)
    request_fd, response_fd, output_fd = fds
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    os.close(output_fd)
    env: dict[str, str] = message["env"]
    os.environ.clear()
    os.environ.update(env)
    cwd = str(message["cwd"])
    os.chdir(cwd)
    niceness = int(message.get("niceness", 0))
    if niceness:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, niceness)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:] = [cwd, *paths, *base_path]
    importlib.invalidate_caches()
    fresh_state()
    # The zygote's objects stay frozen: a collection here would write to (and so copy) their pages.
    worker_module = importlib.import_module("shopstack.localcloud.worker")
    sys.argv = [str(worker_module.__file__), message["handler"], str(request_fd), str(response_fd)]
    worker_module.run(message["handler"], request_fd, response_fd, zygote_pid)


def fresh_state() -> None:
    """Reset what the zygote's imports may hold that a fresh interpreter would not: the random
    seed, boto3's default session (and with it botocore's credentials and region), the root
    logger's handlers."""
    import logging
    import random

    random.seed()
    boto3 = sys.modules.get("boto3")
    if boto3 is not None:
        setattr(boto3, "DEFAULT_SESSION", None)  # noqa: B010
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)


def main(argv: list[str]) -> int:
    control_fd, parent_pid = int(argv[0]), int(argv[1])
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != here]
    control = socket.socket(fileno=control_fd)
    die_with_parent(parent_pid)
    missing = preload()
    if missing:
        print(f"zygote: not preloaded (the workers import them): {', '.join(missing)}", flush=True)
    share_botocore_data()
    gc.collect()
    gc.freeze()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        Zygote(control).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
