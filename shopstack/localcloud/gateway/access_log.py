"""The gateway's access log: one line per request (address, request id, time, request line,
status, size, latency), with times in the Common Log Format API Gateway uses for `requestTime`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TextIO

from shopstack.localcloud.gateway.model import Request


def clf_time(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def log_request(stream: TextIO | None, request: Request, status: int, size: int, latency_ms: float) -> None:
    """One access log line per request (to `stream`, else stdout)."""
    environ = request.environ
    line = (
        f"{environ.get('REMOTE_ADDR', '-')} {request.request_id} [{request.request_time}] "
        f'"{request.method} {request.raw_path} {environ.get("SERVER_PROTOCOL", "HTTP/1.1")}" '
        f"{status} {size} {latency_ms:.2f}ms"
    )
    print(line, file=stream or sys.stdout, flush=True)
