"""The delivery queue (SQS), the HTTP sender and name resolution for outbound webhooks.

- SQS delays a message by 15 minutes at most, so a message carries its attempt's due time; the
  consumer sends a message received early again with the rest of the wait (`early`).
- The sender connects to the address the destination rules accepted, never resolving the name
  again (a DNS answer that changes in between cannot point a
  delivery at a private address), with TLS verified against the name.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from commerce.clock import now, rfc3339
from commerce.config import setting
from commerce.observability import current_correlation_id
from integrations.service import Delivery, Response

MAX_SQS_DELAY = 900
TIMEOUT_SECONDS = 5.0
MAX_RESPONSE_BYTES = 4096


@cache
def _sqs() -> Any:
    import boto3

    return boto3.client("sqs")


def message(delivery_id: str, attempt: int, due: datetime) -> dict[str, Any]:
    return {"deliveryId": delivery_id, "attempt": attempt, "due": rfc3339(due)}


def _delay(due: datetime) -> int:
    return max(0, min(MAX_SQS_DELAY, int((due - now()).total_seconds() + 0.999)))


class SqsDeliveryQueue:
    def schedule(self, delivery_id: str, attempt: int, due: datetime) -> None:
        body = message(delivery_id, attempt, due)
        correlation = current_correlation_id()
        if correlation:  # the event's, so every attempt logs under it
            body["correlationId"] = correlation
        _sqs().send_message(
            QueueUrl=setting("DELIVERY_QUEUE_URL"),
            MessageBody=json.dumps(body),
            DelaySeconds=_delay(due),
        )

    def dead_letter(self, delivery: Delivery) -> None:
        body = {"deliveryId": delivery.delivery_id, "webhookId": delivery.webhook_id, "eventId": delivery.event_id}
        _sqs().send_message(QueueUrl=setting("DELIVERY_DLQ_URL"), MessageBody=json.dumps(body))


def early(body: Mapping[str, Any], moment: datetime) -> bool:
    """True (and the message sent again with the rest of its wait) when it is not yet due."""
    due = datetime.fromisoformat(str(body["due"]).replace("Z", "+00:00"))
    if due <= moment:
        return False
    SqsDeliveryQueue().schedule(str(body["deliveryId"]), int(body["attempt"]), due)
    return True


def resolve(host: str) -> list[str]:
    """Every address `host` resolves to (an IP literal is itself)."""
    infos = socket.getaddrinfo(host.strip("[]"), None, proto=socket.IPPROTO_TCP)
    return sorted({str(info[4][0]) for info in infos})


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to `address` whatever `host` resolves to now."""

    def __init__(self, host: str, address: str, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(_PinnedHTTPConnection, http.client.HTTPSConnection):
    """The same over TLS, verified against `host`."""

    def connect(self) -> None:
        _PinnedHTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.host)  # type: ignore[attr-defined]


class HttpSender:
    """POSTs a delivery to the address the destination check accepted."""

    def post(self, url: str, address: str, body: bytes, headers: Mapping[str, str]) -> Response:
        parts = urlsplit(url)
        host = parts.hostname or ""
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        started = time.monotonic()
        try:
            if parts.scheme == "https":
                connection: http.client.HTTPConnection = _PinnedHTTPSConnection(
                    host, address, port=parts.port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
                )
            else:
                connection = _PinnedHTTPConnection(host, address, port=parts.port, timeout=TIMEOUT_SECONDS)
            try:
                connection.request("POST", path, body=body, headers=dict(headers))
                reply = connection.getresponse()
                content = reply.read(MAX_RESPONSE_BYTES)
                status = reply.status
            finally:
                connection.close()
        except (OSError, http.client.HTTPException) as exc:
            latency = int((time.monotonic() - started) * 1000)
            return Response(None, latency, b"", error=type(exc).__name__ + (f": {exc}" if str(exc) else ""))
        return Response(status, int((time.monotonic() - started) * 1000), content)
