"""What the web ACL's AWS managed rule groups block, over HTTP (issue 10, hardening in CDK): the local
gateway applies the rules of the deployed template whose documented conditions are exact, so a client
that would be refused on AWS is refused here too. The rules it cannot evaluate (signatures, Amazon's IP
lists) are listed in docs/architecture.md; tests/infra/test_waf.py pins the template.

Each test calls from a loopback address of its own (the per-client rate limits count per address)."""

from __future__ import annotations

import http.client
import json
import urllib.parse
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pytest

from shopstack.harness import LocalCloud

pytestmark = pytest.mark.integration

UA = "shopstack-tests/1.0"
LIMIT = 8192


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def send(
    cloud: LocalCloud,
    method: str,
    path: str,
    body: bytes | Iterable[bytes] | None = None,
    headers: dict[str, str] | None = None,
    *,
    chunked: bool = False,
) -> Answer:
    """One request with exactly `headers` (http.client adds no User-Agent of its own)."""
    url = urllib.parse.urlsplit(cloud.base_url)
    octets = uuid.uuid4().bytes
    source = f"127.{octets[0]}.{octets[1]}.{max(2, octets[2] % 254)}"
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30, source_address=(source, 0))
    try:
        connection.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
        response = connection.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def _json(size: int) -> bytes:
    """A JSON object of exactly `size` bytes."""
    head, tail = b'{"pad":"', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def _problem(answer: Answer, status: int, code: str) -> None:
    assert answer.status == status, answer.body[:300]
    assert answer.headers["content-type"] == "application/json"  # WAF's APPLICATION_JSON
    problem = answer.json
    assert problem["status"] == status and problem["code"] == code and problem["type"] == "about:blank"


def test_a_request_without_user_agent_is_refused(cloud: LocalCloud) -> None:
    _problem(send(cloud, "GET", "/products"), 403, "USER_AGENT_REQUIRED")
    _problem(send(cloud, "GET", "/products", headers={"User-Agent": ""}), 403, "USER_AGENT_REQUIRED")
    assert send(cloud, "GET", "/products", headers={"User-Agent": UA}).status == 200


def test_a_scanner_user_agent_is_refused(cloud: LocalCloud) -> None:
    answer = send(cloud, "GET", "/products", headers={"User-Agent": "Mozilla/5.0 (compatible; Nmap Scripting Engine)"})
    assert answer.status == 403


def test_bodies_over_8_kb_are_refused_with_413(cloud: LocalCloud) -> None:
    headers = {"User-Agent": UA, "Content-Type": "application/json"}
    _problem(send(cloud, "POST", "/carts", _json(LIMIT + 1), headers), 413, "BODY_TOO_LARGE")
    _problem(send(cloud, "POST", "/webhooks/carrier", _json(20_000), headers), 413, "BODY_TOO_LARGE")
    at_limit = send(cloud, "POST", "/carts", _json(LIMIT), headers)
    assert at_limit.status != 413 and at_limit.status < 500  # the function answers it


def test_a_chunked_body_is_measured_too(cloud: LocalCloud) -> None:
    headers = {"User-Agent": UA, "Content-Type": "application/json"}
    body = _json(LIMIT + 100)
    chunks = [body[i : i + 1000] for i in range(0, len(body), 1000)]
    _problem(send(cloud, "POST", "/carts", iter(chunks), headers, chunked=True), 413, "BODY_TOO_LARGE")


def test_the_large_body_routes_reach_their_functions(cloud: LocalCloud, admin_token: str) -> None:
    """A product's 5,000-character description (10 KB in UTF-8 here), a profile's ten addresses, a
    return's 50 lines and Stripe's events may pass 8 KB: those routes keep the functions' 64 KiB."""
    headers = {"User-Agent": UA, "Content-Type": "application/json"}
    product = json.dumps({"name": "WAF check", "description": "é" * 5000}).encode()
    assert len(product) > LIMIT
    answer = send(
        cloud,
        "PUT",
        f"/admin/products/WAF-{uuid.uuid4().hex[:8]}",
        product,
        {**headers, "Authorization": f"Bearer {admin_token}"},
    )
    # the function's answer (problem+json: 422 without a price, nothing saved), not the WAF's 413
    assert answer.status in (401, 422), answer.body[:300]
    assert answer.headers["content-type"] == "application/problem+json"
    anonymous = send(cloud, "PUT", "/me", _json(20_000), headers)
    # the handler's answer (401 or 422, problem+json), not the WAF's 413
    assert anonymous.status in (401, 422), anonymous.body[:300]
    assert anonymous.headers["content-type"] == "application/problem+json"
    _problem(send(cloud, "POST", "/me", _json(20_000), headers), 413, "BODY_TOO_LARGE")
    for path in ("/orders/01JORDER00000000000000000/returns", "/webhooks/stripe"):
        answer = send(cloud, "POST", path, _json(20_000), headers)
        assert answer.status != 413 and answer.status < 500, (path, answer.body[:300])
        assert answer.headers["content-type"] == "application/problem+json", path


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/products?category=" + "x" * 2040, {}),  # query string over 2,048 bytes
        ("GET", "/products/" + "p" * 1020, {}),  # URI path over 1,024 bytes
        ("GET", "/products", {"Cookie": "session=" + "x" * 10240}),  # Cookie header over 10,240 bytes
        ("PROPFIND", "/products", {}),
    ],
)
def test_documented_core_and_known_bad_input_rules_block(
    cloud: LocalCloud, method: str, path: str, headers: dict[str, str]
) -> None:
    answer = send(cloud, method, path, headers={"User-Agent": UA, **headers})
    assert answer.status == 403, answer.body[:300]


def test_the_gateway_reports_the_rules_it_applies(cloud: LocalCloud) -> None:
    inspections = {rule["name"]: rule["action"] for rule in cloud.rate_limits()["inspections"]}
    core = "AWS-AWSManagedRulesCommonRuleSet"
    assert inspections[f"{core}:NoUserAgent_HEADER"] == "block"
    assert inspections[f"{core}:SizeRestrictions_BODY"] == "count"  # BodyTooLarge blocks by its label
    assert inspections["BodyTooLarge"] == "block"
    assert inspections["AWS-AWSManagedRulesKnownBadInputsRuleSet:PROPFIND_METHOD"] == "block"
