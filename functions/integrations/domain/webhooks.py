"""Outbound webhooks: subscriptions, signatures, the retry schedule and destination rules.
Pure: no I/O (name resolution is passed in).

- A delivery's body is `{id, type, occurredAt, data}`; it is signed per subscription:
  `X-Shopstack-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`, one `v1` per secret in force
  (after a rotation the old secret keeps signing until its grace period ends).
- Failed attempts are retried on SCHEDULE_SECONDS (exponential, capped, jittered), spanning
  more than a day; after the last attempt the delivery is exhausted (dead-lettered,
  redeliverable by staff). A subscription whose deliveries have failed for DISABLE_AFTER is
  disabled.
- Destinations: https only, unless loopback http is allowed (the local cloud); no private,
  link-local, loopback, multicast, reserved or metadata addresses, checked on the name and again
  on every address it resolves to (a DNS answer cannot smuggle one in).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from commerce.errors import ValidationFailed

SCHEDULE_SECONDS: tuple[int, ...] = (10, 60, 120, 300, 600, 1_800, 3_600, 7_200, 14_400, *(21_600,) * 5)
"""The wait before retry n (the first attempt is immediate): 14 retries, 37.8 hours of waits,
jittered down by at most a quarter (`retry_delay`), so the last attempt comes at least 28 hours
after the first. SQS delays a message by 15 minutes at most: a longer wait is carried as a due
time and the message delayed again until then."""

DISABLE_AFTER = timedelta(days=1)
ROTATION_GRACE = timedelta(hours=24)
RESPONSE_EXCERPT = 512
ALL_EVENTS = "*"

_METADATA_NAMES = {"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"}


class SubscriptionStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"


@dataclass(frozen=True, slots=True)
class Secret:
    value: str
    expires_at: str | None = None  # None: in force until rotated


@dataclass(frozen=True, slots=True)
class Subscription:
    webhook_id: str
    url: str
    events: tuple[str, ...]
    secrets: tuple[Secret, ...]
    created_at: str
    description: str = ""
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    failing_since: str | None = None

    def wants(self, event_type: str) -> bool:
        return self.status is SubscriptionStatus.ACTIVE and (ALL_EVENTS in self.events or event_type in self.events)

    def signing_secrets(self, now: str) -> list[str]:
        return [s.value for s in self.secrets if s.expires_at is None or s.expires_at > now]

    def rotated(self, new_secret: str, now: datetime) -> Subscription:
        """A new secret; the ones in force keep signing for ROTATION_GRACE."""
        until = _iso(now + ROTATION_GRACE)
        kept = tuple(replace(s, expires_at=min(s.expires_at or until, until)) for s in self.secrets)
        live = tuple(s for s in kept if s.expires_at is None or s.expires_at > _iso(now))
        return replace(self, secrets=(Secret(new_secret), *live))

    def after_attempt(self, ok: bool, now: datetime) -> Subscription:
        """Failing since the first failure after a success; disabled once that is DISABLE_AFTER ago."""
        if ok:
            return replace(self, failing_since=None)
        since = self.failing_since or _iso(now)
        disabled = now - _parse(since) >= DISABLE_AFTER
        return replace(self, failing_since=since, status=SubscriptionStatus.DISABLED if disabled else self.status)


def _iso(moment: datetime) -> str:
    from commerce.clock import rfc3339

    return rfc3339(moment)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def payload(envelope: Mapping[str, Any]) -> dict[str, Any]:
    """What a receiver gets for an EventBridge envelope: `{id, type, occurredAt, data}`."""
    detail = envelope.get("detail") or {}
    return {
        "id": detail.get("id"),
        "type": envelope.get("detail-type"),
        "occurredAt": detail.get("occurredAt"),
        "data": detail.get("data") or {},
    }


def signature(secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    """`t=<unix>,v1=<hex>[,v1=<hex>]`: HMAC-SHA256 of `<t>.<body>` with each secret in force."""
    signed = f"{timestamp}.".encode() + body
    parts = [f"t={timestamp}"]
    parts += [f"v1={hmac.new(s.encode(), signed, hashlib.sha256).hexdigest()}" for s in secrets]
    return ",".join(parts)


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """What a receiver does (documented for integrators, used by the tests' receiver)."""
    fields = [p.split("=", 1) for p in header.split(",") if "=" in p]
    stamps = [v for k, v in fields if k == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit() or abs(now - int(stamps[0])) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{stamps[0]}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, v) for k, v in fields if k == "v1")


def retry_delay(attempt: int, *, rand: Callable[[], float] = random.random) -> int | None:
    """Seconds to wait after failed attempt `attempt` (1-based): SCHEDULE_SECONDS[attempt-1]
    jittered into [3/4, 1] of itself (receivers that failed together do not retry together);
    None once the schedule is spent (the delivery is exhausted)."""
    if attempt < 1 or attempt > len(SCHEDULE_SECONDS):
        return None
    base = SCHEDULE_SECONDS[attempt - 1]
    return int(base * 3 / 4 + rand() * base / 4)


def succeeded(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


def excerpt(body: bytes) -> str:
    return body[:RESPONSE_EXCERPT].decode("utf-8", "replace")


def check_destination(
    url: str, *, resolve: Callable[[str], Iterable[str]], allow_loopback_http: bool = False
) -> list[str]:
    """The addresses `url` may be delivered to (connect to these, never resolve again), or 422
    `invalid_destination` when the rules above forbid it."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise _refused("The URL is not a valid URL.") from None
    if not host or parts.username or parts.password:
        raise _refused("The URL needs a host and no credentials.")
    loopback = _loopback_addresses(host, resolve) if allow_loopback_http and parts.scheme == "http" else []
    if parts.scheme != "https" and not loopback:
        raise _refused("Webhook URLs must use https.")
    if loopback:
        return loopback
    if host in _METADATA_NAMES or host.endswith(".internal") or host == "localhost" or host.endswith(".localhost"):
        raise _refused(f"{host} is not a public host.")
    try:
        addresses = [host] if _is_ip(host) else list(resolve(host))
    except (OSError, UnicodeError):  # no such name (socket.gaierror), or none a resolver can look up
        addresses = []
    if not addresses:
        raise _refused(f"{host} does not resolve.")
    for address in addresses:
        if not ipaddress.ip_address(address.strip("[]").split("%", 1)[0]).is_global:
            raise _refused(f"{host} resolves to a private or reserved address ({address}).")
    return [a.strip("[]") for a in addresses]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _loopback_addresses(host: str, resolve: Callable[[str], Iterable[str]]) -> list[str]:
    """`host`'s addresses when every one is loopback; else none."""
    try:
        addresses = [host.strip("[]")] if _is_ip(host) else list(resolve(host))
        loopback = bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)
    except (OSError, ValueError):
        return []
    return addresses if loopback else []


def _refused(detail: str) -> ValidationFailed:
    return ValidationFailed(detail, code="invalid_destination", errors=[{"field": "url", "message": detail}])
