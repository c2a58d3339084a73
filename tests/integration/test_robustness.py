"""No route of the gateway's route table answers 5xx to malformed JSON, wrong types, huge bodies
or unknown fields."""

from __future__ import annotations

import pytest

from shopstack.harness import LocalCloud

pytestmark = pytest.mark.integration

BAD_BODIES: list[bytes] = [
    b"{not json",
    b"",
    b"null",
    b"[]",
    b'"string"',
    b'{"delta": "two", "reason": 5}',
    b'{"name": 1, "price": {"amount": 1.5, "currency": "USD"}}',
    b'{"unknown": true, "price": {"amount": 1, "currency": "usd"}, "status": "ACTIVE"}',
    b'{"delta": 1e400}',
    '{"name": "\u0000\ud800"}'.encode("utf-8", "surrogatepass"),
    b"\xff\xfe\x00garbage",
    b'{"a":' * 5000 + b"1" + b"}" * 5000,
    b'{"description": "' + b"x" * (11 * 1024 * 1024) + b'"}',
]


def concrete(path: str) -> str:
    return path.replace("{sku}", "TENT-2P").replace("{cartId}", "01JCART000000000000000000").replace("{proxy+}", "x")


def test_no_route_answers_5xx_to_bad_input(cloud: LocalCloud) -> None:
    from infra.routes import ROUTES
    from shopstack.localcloud.tokens import issue_token

    # A staff member of its own: DELETE /me with an empty body erases whoever sends it.
    admin_token = issue_token(cloud.base_url, "robustness-staff@example.com", admin=True)
    failures = []
    for route in ROUTES:
        for body in BAD_BODIES:
            for token in (None, admin_token):
                reply = cloud.request(
                    route.method, concrete(route.path), raw=body, token=token, headers={"Idempotency-Key": "fuzz"}
                )
                if reply.status >= 500:
                    failures.append((route.method, route.path, body[:40], reply.status, reply.text[:200]))
    assert failures == []


@pytest.mark.parametrize("query", ["limit=-1", "limit=abc", "cursor=%%%", "cursor=eyJ4IjoxfQ", "category=" + "x" * 500])
def test_bad_list_queries_are_client_errors(cloud: LocalCloud, query: str) -> None:
    reply = cloud.request("GET", f"/products?{query}")
    assert 400 <= reply.status < 500
    assert reply.headers["content-type"] == "application/problem+json"
