"""Signed webhook deliveries: `Stripe-Signature: t=<unix>,v1=<hmac-sha256 of "t.payload">`, retried
with exponential backoff (Stripe's three days compressed to seconds), pausable to test reordering."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from shopstack.stripe_emulator.errors import validation
from shopstack.stripe_emulator.state import Clock, Obj, new_id

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The `Stripe-Signature` header value for a payload."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(16)


def event_matches(enabled_events: list[str], event_type: str) -> bool:
    return "*" in enabled_events or event_type in enabled_events


def check_url(url: Any) -> str:
    if not isinstance(url, str) or not url:
        raise validation("Missing required param: url.", param="url", code="parameter_missing")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise validation(f"Invalid URL: {url}", param="url", code="url_invalid")
    if parts.hostname not in LOOPBACK_HOSTS:
        raise validation(
            f"Invalid URL: {url}. The emulator delivers webhooks to loopback addresses only.",
            param="url",
            code="url_invalid",
        )
    return url


@dataclass
class RetryPolicy:
    max_attempts: int = 8
    base_delay: float = 0.5
    max_delay: float = 30.0
    timeout: float = 5.0

    def delay(self, attempts: int) -> float:
        """Seconds before the attempt after `attempts` failed ones: base, 2 x base, 4 x base, ..."""
        return float(min(self.base_delay * (2 ** (attempts - 1)), self.max_delay))

    def update(self, spec: dict[str, Any]) -> None:
        for name in ("max_attempts", "base_delay", "max_delay", "timeout"):
            if name in spec:
                value = spec[name]
                if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                    raise validation(f"{name} must be a non-negative number", param=name)
                setattr(self, name, int(value) if name == "max_attempts" else float(value))


@dataclass
class Attempt:
    at: float
    status: int | None
    error: str | None
    signature: str


@dataclass
class Delivery:
    id: str
    seq: int
    event_id: str
    event_type: str
    endpoint_id: str
    url: str
    secret: str
    due: float
    attempts: int = 0
    last_status: int | None = None
    last_error: str | None = None
    delivered: bool = False
    failed: bool = False
    in_flight: bool = False
    history: list[Attempt] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        return not self.delivered and not self.failed

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "endpoint_id": self.endpoint_id,
            "url": self.url,
            "attempts": self.attempts,
            "last_status": self.last_status,
            "last_error": self.last_error,
            "delivered": self.delivered,
            "failed": self.failed,
            "pending": self.pending,
            "history": [
                {"at": a.at, "status": a.status, "error": a.error, "signature": a.signature} for a in self.history
            ],
        }


Post = Callable[[str, bytes, dict[str, str], float], int]


def http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST and return the status code; raises OSError on connection failures and timeouts."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.read()
        return int(exc.code)


class Dispatcher:
    """One background thread delivers due deliveries in order (due time, then creation)."""

    def __init__(
        self,
        lock: threading.RLock,
        clock: Clock,
        events: Callable[[str], Obj | None],
        policy: RetryPolicy | None = None,
        post: Post = http_post,
    ) -> None:
        self._cond = threading.Condition(lock)
        self._clock = clock
        self._events = events
        self._post = post
        self.policy = policy or RetryPolicy()
        self._deliveries: list[Delivery] = []
        self._seq = itertools.count()
        self._paused = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    # --- called with the lock held ---

    def schedule(self, event: Obj, endpoints: list[Obj], *, delay: float = 0.0) -> list[Delivery]:
        created = []
        for endpoint in endpoints:
            if endpoint.get("status") != "enabled" or not event_matches(endpoint["enabled_events"], event["type"]):
                continue
            delivery = Delivery(
                id=new_id("wd"),
                seq=next(self._seq),
                event_id=event["id"],
                event_type=event["type"],
                endpoint_id=endpoint["id"],
                url=endpoint["url"],
                secret=endpoint["secret"],
                due=time.monotonic() + delay,
            )
            self._deliveries.append(delivery)
            created.append(delivery)
        if created:
            self._cond.notify_all()
        return created

    def pending_for(self, event_id: str) -> int:
        return sum(1 for d in self._deliveries if d.event_id == event_id and d.pending)

    def pause(self) -> None:
        with self._cond:
            self._paused = True

    def resume(self, order: str = "created") -> None:
        """Release held deliveries; `order` "reverse" sends the waiting ones newest first."""
        if order not in ("created", "reverse"):
            raise validation("order must be created or reverse", param="order")
        with self._cond:
            waiting = sorted((d for d in self._deliveries if d.pending and not d.in_flight), key=lambda d: d.seq)
            if order == "reverse":
                now = time.monotonic()
                for rank, delivery in enumerate(reversed(waiting)):
                    delivery.due = now
                    delivery.seq = -len(waiting) + rank
            self._paused = False
            self._cond.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    def describe(self) -> list[dict[str, Any]]:
        with self._cond:
            return [d.describe() for d in self._deliveries]

    def clear(self) -> None:
        with self._cond:
            self._deliveries = [d for d in self._deliveries if d.in_flight]
            self._paused = False

    def idle(self) -> bool:
        with self._cond:
            return not any(d.pending for d in self._deliveries)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(0.02)
        return self.idle()

    # --- the thread ---

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="stripe-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _next_due(self) -> tuple[Delivery | None, float | None]:
        candidates = [d for d in self._deliveries if d.pending and not d.in_flight]
        if not candidates or self._paused:
            return None, None
        first = min(candidates, key=lambda d: (d.due, d.seq))
        wait = first.due - time.monotonic()
        return (first, None) if wait <= 0 else (None, wait)

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stopping:
                        return
                    delivery, wait = self._next_due()
                    if delivery is not None:
                        break
                    self._cond.wait(timeout=wait)
                delivery.in_flight = True
                event = self._events(delivery.event_id)
                if event is None:
                    delivery.failed = True
                    delivery.in_flight = False
                    continue
                payload = dict(event)
                payload["pending_webhooks"] = self.pending_for(delivery.event_id)
                body = json.dumps(payload, indent=2).encode()
                signature = sign(body, delivery.secret, self._clock.timestamp())
                timeout = self.policy.timeout
            status, error = self._attempt(delivery.url, body, signature, timeout)
            with self._cond:
                self._record(delivery, status, error, signature)

    def _attempt(self, url: str, body: bytes, signature: str, timeout: float) -> tuple[int | None, str | None]:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Stripe-Signature": signature,
        }
        try:
            return self._post(url, body, headers, timeout), None
        except (OSError, ValueError) as exc:
            return None, f"{type(exc).__name__}: {exc}"

    def _record(self, delivery: Delivery, status: int | None, error: str | None, signature: str) -> None:
        delivery.in_flight = False
        delivery.attempts += 1
        delivery.last_status = status
        delivery.last_error = error
        delivery.history.append(Attempt(self._clock.now(), status, error, signature))
        if status is not None and 200 <= status < 300:
            delivery.delivered = True
        elif delivery.attempts >= self.policy.max_attempts:
            delivery.failed = True
        else:
            delivery.due = time.monotonic() + self.policy.delay(delivery.attempts)
        self._cond.notify_all()
