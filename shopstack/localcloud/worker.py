"""A warm Lambda worker: imports one handler once, then serves invocations over two pipes.

Run as `python -m shopstack.localcloud.worker HANDLER REQUEST_FD RESPONSE_FD`, or forked by the
zygote (`zygote.py`), which calls `run` once the child is the function's. Each message is a
4-byte big-endian length followed by that many bytes of JSON. The worker exits when the request
pipe closes or its parent goes away, so it never outlives the local cloud.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

HEADER = struct.Struct(">I")
Handler = Callable[[Any, Any], Any]


def read_message(fd: int) -> dict[str, Any] | None:
    header = read_exact(fd, HEADER.size)
    if header is None:
        return None
    body = read_exact(fd, HEADER.unpack(header)[0])
    if body is None:
        return None
    message: dict[str, Any] = json.loads(body)
    return message


def read_exact(fd: int, size: int) -> bytes | None:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = os.read(fd, remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def write_message(fd: int, message: dict[str, Any]) -> None:
    body = json.dumps(message).encode()
    data = HEADER.pack(len(body)) + body
    while data:
        written = os.write(fd, data)
        data = data[written:]


class LambdaContext:
    """The attributes of AWS Lambda's Python context object that handlers use."""

    def __init__(self, request: dict[str, Any]) -> None:
        env = os.environ
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.invoked_function_arn: str = request["invoked_function_arn"]
        self.aws_request_id: str = request["request_id"]
        self.identity = None
        self.client_context = None
        self._deadline_ms: float = request["deadline_ms"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))


def error_payload(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    frames = [
        line
        for frame, line in zip(
            traceback.extract_tb(exc.__traceback__), traceback.format_tb(exc.__traceback__), strict=True
        )
        if frame.filename != __file__
    ]
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": "",
        "stackTrace": frames,
    }


def load_handler(spec: str) -> Handler:
    module_name, _, attr = spec.rpartition(".")
    if not module_name:
        raise ImportError(f"Bad handler '{spec}': expected module.function")
    module = importlib.import_module(module_name)
    handler: Handler = getattr(module, attr)
    return handler


def report(context: LambdaContext, began: float) -> None:
    """The END and REPORT lines Lambda writes after each invocation."""
    import resource

    elapsed = (time.perf_counter() - began) * 1000
    used_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"END RequestId: {context.aws_request_id}")
    print(
        f"REPORT RequestId: {context.aws_request_id}\tDuration: {elapsed:.2f} ms\t"
        f"Billed Duration: {max(1, int(elapsed + 0.999))} ms\tMemory Size: {context.memory_limit_in_mb} MB\t"
        f"Max Memory Used: {used_mb} MB"
    )


def invoke(handler: Handler, request: dict[str, Any]) -> dict[str, Any]:
    context = LambdaContext(request)
    print(f"START RequestId: {context.aws_request_id} Version: {context.function_version}")
    began = time.perf_counter()
    try:
        result = handler(request["event"], context)
    except Exception as exc:
        payload = error_payload(exc)
        payload["requestId"] = context.aws_request_id
        traceback.print_exc()
        return {"errored": True, "payload": payload}
    finally:
        report(context, began)
    try:
        json.dumps(result)
    except (TypeError, ValueError) as exc:
        return {"errored": True, "payload": error_payload(exc, "Runtime.MarshalError")}
    return {"errored": False, "payload": result}


def watch_parent(parent_pid: int, interval: float = 0.5) -> None:
    """Exit as soon as the process that started this worker is gone."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> bool:
    """Ask Linux to SIGKILL this worker when the thread that started it ends, whatever ends the
    local cloud (SIGKILL, out of memory); False where prctl is not available."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(0)
    return True


def serve(handler_spec: str, request_fd: int, response_fd: int) -> None:
    init_error: dict[str, Any] | None = None
    handler: Handler | None = None
    try:
        handler = load_handler(handler_spec)
    except ImportError as exc:
        module = handler_spec.rpartition(".")[0]
        init_error = error_payload(
            ImportError(f"Unable to import module '{module}': {exc}"), "Runtime.ImportModuleError"
        )
        traceback.print_exc()
    except Exception as exc:
        init_error = error_payload(exc, f"Runtime.{type(exc).__name__}")
        traceback.print_exc()
    trim_heap()
    write_message(response_fd, {"ready": True, "initError": init_error})
    first = True
    while (request := read_message(request_fd)) is not None:
        reply = {"errored": True, "payload": init_error} if handler is None else invoke(handler, request)
        sys.stdout.flush()
        sys.stderr.flush()
        write_message(response_fd, reply)
        if first:  # the first invocation creates the clients: what it parsed and dropped goes back
            trim_heap()
            first = False


def trim_heap() -> None:
    """Hand the heap's free pages back to the kernel (glibc's malloc_trim; a no-op elsewhere):
    a worker sits idle most of its life, holding what its imports freed."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def run(handler_spec: str, request_fd: int, response_fd: int, parent: int) -> None:
    """Serve until the request pipe closes or `parent` goes away (a worker forked by the zygote
    comes here once its environment is the function's; it set die_with_parent itself)."""
    watch_parent(parent)  # where prctl is unavailable, or the spawning thread outlives the parent
    # From here on the handler sees only its asset and layers: no `shopstack` imports after this.
    from shopstack.localcloud.asset_imports import confine_from_env

    confine_from_env()
    serve(handler_spec, request_fd, response_fd)


def main(argv: list[str]) -> int:
    handler_spec, request_fd, response_fd = argv[0], int(argv[1]), int(argv[2])
    parent = os.getppid()
    die_with_parent(parent)
    run(handler_spec, request_fd, response_fd, parent)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
