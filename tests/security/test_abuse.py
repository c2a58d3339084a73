"""One client cannot throttle everyone (security review, issue 10 item 2): the web ACL's per-client
limits, applied by the local gateway from the deployed template, keyed by the caller's address.

Every local client is 127.0.0.1 unless it says otherwise: each test client here binds its socket to a
loopback address of its own (Linux routes all of 127.0.0.0/8 to lo), as different callers would be."""

from __future__ import annotations

import http.client
import json
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from shopstack.harness import LocalCloud

pytestmark = pytest.mark.integration

PER_IP = 20
CHECKOUT_PER_IP = 5


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Caller:
    """HTTP from one source address."""

    def __init__(self, base_url: str, source: str) -> None:
        url = urllib.parse.urlsplit(base_url)
        self.host, self.port, self.source = url.hostname or "127.0.0.1", url.port or 80, source

    def send(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Answer:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30, source_address=(self.source, 0))
        try:
            data = None if body is None else json.dumps(body).encode()
            connection.request(
                method,
                path,
                body=data,
                headers={"Content-Type": "application/json", "User-Agent": "shopstack-tests", **(headers or {})},
            )
            response = connection.getresponse()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()


@pytest.fixture
def lowered(cloud: LocalCloud) -> Iterator[dict[str, Any]]:
    """The per-client limits lowered for one test, those in force before restored after it (the
    session's cloud runs with them raised: tests/conftest.py)."""
    before = cloud.rate_limits()
    try:
        yield cloud.set_rate_limits(perIp=PER_IP, checkoutPerIp=CHECKOUT_PER_IP)
    finally:
        restored = cloud.set_rate_limits(perIp=before["perIp"], checkoutPerIp=before["checkoutPerIp"])
        assert (restored["perIp"], restored["checkoutPerIp"]) == (before["perIp"], before["checkoutPerIp"])


def _caller(cloud: LocalCloud) -> Caller:
    """A caller at a loopback address no other test uses (counts are per address)."""
    octets = uuid.uuid4().bytes
    return Caller(cloud.base_url, f"127.{octets[0]}.{octets[1]}.{max(2, octets[2] % 254)}")


def test_the_deployed_limits_are_the_templates(cloud: LocalCloud) -> None:
    from infra.settings import load_cdk_json_context

    context = load_cdk_json_context()
    rules = {rule["name"]: rule for rule in cloud.rate_limits()["rules"]}
    assert rules["RateLimitPerClientIp"]["deployedLimit"] == context["apiRateLimitPerIp"]
    assert rules["CheckoutRateLimitPerClientIp"]["deployedLimit"] == context["checkoutRateLimitPerIp"]
    assert {rule["windowSeconds"] for rule in rules.values()} == {300}


def test_one_client_bursting_is_blocked_while_another_is_served(cloud: LocalCloud, lowered: dict[str, Any]) -> None:
    assert (lowered["perIp"], lowered["checkoutPerIp"]) == (PER_IP, CHECKOUT_PER_IP)
    noisy, shopper = _caller(cloud), _caller(cloud)
    preflight = {"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"}
    # unauthenticated preflights count like any request (WAF sees them before API Gateway does)
    statuses = [noisy.send("OPTIONS", "/products", headers=preflight).status for _ in range(PER_IP)]
    assert 429 not in statuses
    blocked = noisy.send("GET", "/products", headers={"X-Forwarded-For": "198.51.100.23"})
    assert blocked.status == 429
    assert blocked.headers["content-type"] == "application/json"  # what WAF sends for APPLICATION_JSON
    assert blocked.headers["retry-after"] == "60"
    problem = blocked.json
    assert problem["status"] == 429 and problem["title"] == "Too Many Requests" and problem["code"] == "RATE_LIMITED"
    assert noisy.send("OPTIONS", "/products", headers=preflight).status == 429
    # the other client is served as usual, by the same gateway, meanwhile
    served = shopper.send("GET", "/products")
    assert served.status == 200, served.body
    assert shopper.send("OPTIONS", "/products", headers=preflight).status != 429


def test_checkout_has_its_own_tighter_limit(cloud: LocalCloud, lowered: dict[str, Any]) -> None:
    buyer, other = _caller(cloud), _caller(cloud)
    checkout = f"/carts/{uuid.uuid4()}/checkout"
    attempts = [buyer.send("POST", checkout, body={}) for _ in range(CHECKOUT_PER_IP)]
    assert [a.status for a in attempts if a.status == 429] == [], [a.status for a in attempts]
    blocked = buyer.send("POST", checkout, body={})
    assert blocked.status == 429 and blocked.json["code"] == "CHECKOUT_RATE_LIMITED"
    # the same client's other requests are under the per-IP limit still (5 + 1 + these < 20)
    assert buyer.send("GET", "/products").status == 200
    assert buyer.send("OPTIONS", checkout, headers={"Origin": "https://shop.example"}).status != 429
    # and another client's checkout is not affected
    assert other.send("POST", checkout, body={}).status != 429
