"""The webhook sender connects to the address the destination rules checked, never resolving the
name again (a DNS answer changed after the check cannot redirect a delivery), over loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from integrations.adapters.delivery import HttpSender


@pytest.fixture
def receiver() -> Iterator[tuple[int, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(dict(self.headers.items()))
            self.send_response(202)
            self.end_headers()
            self.wfile.write(b"x" * 10_000)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


def test_the_sender_connects_to_the_checked_address_not_to_what_the_name_resolves_to(
    receiver: tuple[int, list[dict[str, str]]],
) -> None:
    port, seen = receiver
    # `.invalid` never resolves: the request can only have gone to the address given.
    reply = HttpSender().post(f"http://receiver.invalid:{port}/in", "127.0.0.1", b"{}", {"X-Test": "1"})
    assert reply.status_code == 202 and seen[0]["Host"] == f"receiver.invalid:{port}"
    assert len(reply.body) == 4096, "the receiver's answer is read up to a bound"


def test_an_unreachable_receiver_is_an_attempt_without_status() -> None:
    reply = HttpSender().post("https://receiver.invalid:1/in", "127.0.0.1", b"{}", {})
    assert reply.status_code is None and reply.error and "refused" in reply.error.lower()
