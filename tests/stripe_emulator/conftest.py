"""The emulator on a loopback port for each test module, a webhook receiver, and SDK clients."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import stripe
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from shopstack.stripe_emulator import EmulatorServer, RetryPolicy, StripeEmulator
from shopstack.waiting import eventually

API_KEY = "sk_test_emulator"


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]
    at: float

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Receiver:
    """A webhook endpoint that records what it gets and answers from a plan (status or seconds to hang)."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    plan: list[int | float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        body = request.get_data()
        with self.lock:
            step: int | float = self.plan.pop(0) if self.plan else 200
            self.received.append(Received(body, dict(request.headers), time.monotonic()))
        if isinstance(step, float):
            time.sleep(step)
            step = 200
        return Response("ok", status=step)(environ, start_response)

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r.event for r in self.received]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        def enough() -> list[Received] | None:
            with self.lock:
                return list(self.received) if len(self.received) >= count else None

        return eventually(enough, timeout=timeout, interval=0.01, what=f"{count} webhook requests")

    def reset(self) -> None:
        with self.lock:
            self.received.clear()
            self.plan.clear()


@dataclass
class Control:
    """The emulator's `/_emulator` endpoints over HTTP."""

    base: str

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status), json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return int(exc.code), json.loads(exc.read() or b"null")

    def post(self, path: str, body: Any = None) -> Any:
        status, answer = self.call("POST", path, body if body is not None else {})
        assert status == 200, answer
        return answer

    def get(self, path: str) -> Any:
        status, answer = self.call("GET", path)
        assert status == 200, answer
        return answer


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    emulator = StripeEmulator(webhook_policy=RetryPolicy(max_attempts=5, base_delay=0.05, max_delay=0.2, timeout=0.5))
    with EmulatorServer(port=0, emulator=emulator) as running:
        yield running


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    recorder = Receiver()
    http = make_server("127.0.0.1", 0, recorder, threaded=True)
    recorder.url = f"http://127.0.0.1:{http.server_port}/webhooks/stripe"
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield recorder
    http.shutdown()
    http.server_close()


@pytest.fixture
def control(server: EmulatorServer) -> Iterator[Control]:
    ctl = Control(server.url)
    ctl.post("/_emulator/reset", {"webhook_endpoints": True})
    ctl.post("/_emulator/webhooks/config", {"max_attempts": 5, "base_delay": 0.05, "max_delay": 0.2, "timeout": 0.5})
    yield ctl
    ctl.call("DELETE", "/_emulator/faults")


@pytest.fixture
def client(server: EmulatorServer, control: Control) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": server.url}, max_network_retries=0)


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's retry backoff (0.5 s and up) shortened so that the tests stay fast."""
    from stripe import _http_client

    monkeypatch.setattr(_http_client.HTTPClient, "INITIAL_DELAY", 0.01)
    monkeypatch.setattr(_http_client.HTTPClient, "MAX_DELAY", 0.05)


@pytest.fixture
def retrying_client(server: EmulatorServer, control: Control, fast_retries: None) -> stripe.StripeClient:
    """A client with a short timeout that retries, as checkout configures it."""
    return stripe.StripeClient(
        API_KEY,
        base_addresses={"api": server.url},
        max_network_retries=2,
        http_client=stripe.RequestsClient(timeout=0.5),
    )
