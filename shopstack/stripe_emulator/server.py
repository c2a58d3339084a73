"""The emulator on its own threaded werkzeug server."""

from __future__ import annotations

import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from shopstack.stripe_emulator.app import StripeEmulator


class _QuietHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log_error(self, format: str, *args: Any) -> None:
        return None


class EmulatorServer:
    """`EmulatorServer(port=0).start()`; `.url` is the base address for the `stripe` SDK."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, emulator: StripeEmulator | None = None) -> None:
        self.emulator = emulator or StripeEmulator()
        self.server: BaseWSGIServer = make_server(
            host, port, self.emulator, threaded=True, request_handler=_QuietHandler
        )
        self.host = host
        self.port = int(self.server.server_port)
        self._thread = threading.Thread(target=self.server.serve_forever, name="stripe-emulator", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> EmulatorServer:
        self.emulator.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
        self.emulator.stop()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
