"""Outbound webhooks, pure: signatures across a secret rotation, the retry schedule, when a
subscription is disabled, and which destinations are refused (before and after DNS)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from commerce.errors import ValidationFailed
from integrations.domain import webhooks as wh

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def subscription(**changes: Any) -> wh.Subscription:
    base = wh.Subscription("wh1", "https://hooks.example.com/in", ("OrderConfirmed",), (wh.Secret("old"),), "t")
    return replace(base, **changes)


def test_a_receiver_verifies_the_signature_with_its_secret_and_refuses_a_changed_body_or_stale_time() -> None:
    body = b'{"id":"e1","type":"OrderConfirmed"}'
    header = wh.signature(["s3cret"], 1_800_000_000, body)
    assert header.startswith("t=1800000000,v1=")
    assert wh.verify("s3cret", header, body, now=1_800_000_010)
    assert not wh.verify("s3cret", header, body + b" ", now=1_800_000_010)
    assert not wh.verify("other", header, body, now=1_800_000_010)
    assert not wh.verify("s3cret", header, body, now=1_800_000_000 + 301)


def test_after_a_rotation_both_secrets_sign_until_the_grace_period_ends() -> None:
    rotated = subscription().rotated("new", NOW)
    during = rotated.signing_secrets(wh._iso(NOW + timedelta(hours=1)))
    assert during == ["new", "old"]
    header = wh.signature(during, 1, b"x")
    assert wh.verify("old", header, b"x", now=1) and wh.verify("new", header, b"x", now=1)
    assert rotated.signing_secrets(wh._iso(NOW + wh.ROTATION_GRACE + timedelta(seconds=1))) == ["new"]
    twice = rotated.rotated("newer", NOW + timedelta(hours=2))
    assert [s.value for s in twice.secrets] == ["newer", "new", "old"]
    assert twice.secrets[2].expires_at == rotated.secrets[1].expires_at, "a second rotation never extends the grace"


def test_retries_span_more_than_a_day_with_jitter_then_stop() -> None:
    attempts = range(1, len(wh.SCHEDULE_SECONDS) + 1)
    slowest = [wh.retry_delay(n, rand=lambda: 1.0) or 0 for n in attempts]
    fastest = [wh.retry_delay(n, rand=lambda: 0.0) or 0 for n in attempts]
    assert all(slowest) and all(fastest)
    assert sum(fastest) > 24 * 3600, "even the earliest schedule lasts over a day"
    assert slowest == sorted(slowest) and fastest[0] < slowest[0]
    assert wh.retry_delay(len(wh.SCHEDULE_SECONDS) + 1) is None


def test_a_subscription_failing_for_a_day_is_disabled_and_a_success_resets_it() -> None:
    failing = subscription().after_attempt(False, NOW)
    assert failing.failing_since == wh._iso(NOW) and failing.status is wh.SubscriptionStatus.ACTIVE
    assert failing.after_attempt(True, NOW + timedelta(hours=23)).failing_since is None
    still = failing.after_attempt(False, NOW + timedelta(hours=23))
    assert still.status is wh.SubscriptionStatus.ACTIVE
    disabled = still.after_attempt(False, NOW + timedelta(days=1))
    assert disabled.status is wh.SubscriptionStatus.DISABLED and not disabled.wants("OrderConfirmed")


def test_a_subscription_wants_its_event_types_or_all() -> None:
    assert subscription().wants("OrderConfirmed") and not subscription().wants("OrderShipped")
    assert subscription(events=("*",)).wants("OrderShipped")


def test_the_payload_is_id_type_occurred_at_and_data() -> None:
    envelope = {
        "detail-type": "OrderConfirmed",
        "detail": {"id": "e1", "occurredAt": "t", "data": {"a": 1}, "metadata": {}},
    }
    assert wh.payload(envelope) == {"id": "e1", "type": "OrderConfirmed", "occurredAt": "t", "data": {"a": 1}}


PUBLIC = {"hooks.example.com": ["93.184.216.34"], "rebind.example.com": ["93.184.216.34", "169.254.169.254"]}


def resolve(host: str) -> list[str]:
    return PUBLIC.get(host, ["10.0.0.7"])


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/in",  # not https
        "https://10.0.0.5/in",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/in",
        "https://[fd00::1]/in",
        "https://localhost/in",
        "https://metadata.google.internal/",
        "https://intranet.example.com/",  # resolves to a private address
        "https://rebind.example.com/",  # one of its addresses is link-local
        "https://user:pw@hooks.example.com/",
        "ftp://hooks.example.com/",
        "https:///nohost",
    ],
)
def test_private_link_local_metadata_and_plain_http_destinations_are_refused(url: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        wh.check_destination(url, resolve=resolve)
    assert refused.value.problem_code == "invalid_destination"


def test_a_public_https_destination_is_accepted_and_loopback_http_only_where_allowed() -> None:
    assert wh.check_destination("https://hooks.example.com/in", resolve=resolve) == ["93.184.216.34"]
    assert wh.check_destination("http://127.0.0.1:8123/in", resolve=resolve, allow_loopback_http=True) == ["127.0.0.1"]
    with pytest.raises(ValidationFailed):
        wh.check_destination("http://127.0.0.1:8123/in", resolve=resolve)
    with pytest.raises(ValidationFailed):
        wh.check_destination("http://10.0.0.1/in", resolve=resolve, allow_loopback_http=True)


@pytest.mark.parametrize("error", [OSError(-2, "Name or service not known"), UnicodeError("label too long")])
def test_a_host_no_resolver_can_answer_is_refused_not_a_500(error: Exception) -> None:
    """Found by contract fuzzing: `https://ø` made getaddrinfo raise, and registering answered 500."""

    def failing(host: str) -> list[str]:
        raise error

    with pytest.raises(ValidationFailed) as refused:
        wh.check_destination("https://no-such-host.example/in", resolve=failing)
    assert refused.value.problem_code == "invalid_destination"


@pytest.mark.parametrize("url", ["http://[\u00a0\u00d7", "https://[::1/in", "https://[nope]/in"])
def test_a_url_urllib_cannot_split_is_refused_not_a_500(url: str) -> None:
    """Found by contract fuzzing: an unclosed IPv6 bracket made urlsplit raise, and registering answered 500."""
    with pytest.raises(ValidationFailed) as refused:
        wh.check_destination(url, resolve=resolve, allow_loopback_http=True)
    assert refused.value.problem_code == "invalid_destination"
