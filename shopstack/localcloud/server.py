"""The AWS services of the local cloud: moto's server in this process, on loopback."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from shopstack.localcloud.chaos import CHAOS, Chaos
from shopstack.localcloud.usage import USAGE

LOOPBACK = "127.0.0.1"
"""moto answers anyone who reaches it, secrets included: it listens on loopback only."""
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
SFN_CONFIG: dict[str, Any] = {"stepfunctions": {"execute_state_machine": True}}

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class SerializedDynamoDB:
    """WSGI middleware running DynamoDB requests one at a time.

    moto does not serialize writes: two conditional updates racing on one item can both pass
    their condition. DynamoDB guarantees they cannot, so every DynamoDB call takes one lock. Stream
    reads take it too: moto applies a transaction item by item and rolls back by swapping tables.
    """

    def __init__(self, app: WsgiApp, chaos: Chaos = CHAOS) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.chaos = chaos
        self.writes = 0  # DynamoDB requests that may have changed data (durable.Snapshotter)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not is_dynamodb_request(environ):
            return self.app(environ, start_response)
        operation = environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2]
        fault = self.chaos.dynamodb_fault(operation, lambda: _request_body(environ))
        if fault is not None:
            status, body = fault
            start_response(
                f"{status} Bad Request",
                [
                    ("Content-Type", "application/x-amz-json-1.0"),
                    ("Content-Length", str(len(body))),
                    ("x-amzn-RequestId", str(uuid.uuid4())),
                ],
            )
            return [body]
        with self.lock:
            if not operation.startswith(READ_OPERATIONS):
                self.writes += 1
            return list(self.app(environ, start_response))


def _request_body(environ: dict[str, Any]) -> bytes:
    """The request body; read only for a refused call, which never reaches moto."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    data: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
    return data


READ_OPERATIONS = ("Get", "BatchGet", "TransactGet", "Query", "Scan", "Describe", "List")


def is_dynamodb_request(environ: dict[str, Any]) -> bool:
    """DynamoDB and DynamoDB Streams calls: a stream read must not see a transaction half applied."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    return target.startswith(("DynamoDB_", "DynamoDBStreams_"))


def configure_moto(port: int) -> None:
    """Point moto at its own port and turn on real Step Functions execution."""
    os.environ["MOTO_PORT"] = str(port)
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.set_config(SFN_CONFIG)


def _moto_app() -> WsgiApp:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)


def _quiet_handler() -> type:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class QuietHandler(MotoRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as AWS endpoints serve it

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            return None

    return QuietHandler


class MotoServer:
    """moto's WSGI app on a threaded werkzeug server, with DynamoDB serialized, on loopback."""

    def __init__(self, port: int = 0) -> None:
        self.host = LOOPBACK  # never another address: moto has no authentication and holds secrets
        self.requested_port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.dynamodb: SerializedDynamoDB | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("moto server not started")
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> MotoServer:
        app = self.dynamodb = SerializedDynamoDB(_moto_app())
        app.app = USAGE.middleware(app.app, ACCOUNT_ID, REGION)  # counted inside the DynamoDB lock
        self._server = make_server(self.host, self.requested_port, app, threaded=True, request_handler=_quiet_handler())
        configure_moto(self.port)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
