"""The local gateway's per-client rate limits: WAFv2 rate-based rules read from the deployed template."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from werkzeug.test import Client

from shopstack.localcloud import ratelimit
from shopstack.localcloud.gateway import LocalGateway
from tests.localcloud.test_gateway import FakeLambda, deployed, fake  # noqa: F401  (fixtures)

BODY = '{"type":"about:blank","title":"Too Many Requests","status":429,"code":"RATE_LIMITED"}'
CHECKOUT_BODY = '{"type":"about:blank","title":"Too Many Requests","status":429,"code":"CHECKOUT_RATE_LIMITED"}'


def _block(key: str) -> dict[str, Any]:
    headers = [{"Name": "Retry-After", "Value": "60"}, {"Name": "Access-Control-Allow-Origin", "Value": "*"}]
    return {
        "Block": {"CustomResponse": {"ResponseCode": 429, "CustomResponseBodyKey": key, "ResponseHeaders": headers}}
    }


CHECKOUT_SCOPE = {
    "AndStatement": {
        "Statements": [
            {
                "ByteMatchStatement": {
                    "FieldToMatch": {"Method": {}},
                    "PositionalConstraint": "EXACTLY",
                    "SearchString": "POST",
                    "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
                }
            },
            {
                "RegexMatchStatement": {
                    "FieldToMatch": {"UriPath": {}},
                    "RegexString": "/checkout/*$",
                    "TextTransformations": [{"Priority": 0, "Type": "URL_DECODE"}],
                }
            },
        ]
    }
}
WEB_ACL = {
    "Name": "shopstack-test-api",
    "DefaultAction": {"Allow": {}},
    "CustomResponseBodies": {
        "RateLimited": {"ContentType": "APPLICATION_JSON", "Content": BODY},
        "CheckoutRateLimited": {"ContentType": "APPLICATION_JSON", "Content": CHECKOUT_BODY},
    },
    "Rules": [
        {
            "Name": "CheckoutRateLimitPerClientIp",
            "Priority": 1,
            "Action": _block("CheckoutRateLimited"),
            "Statement": {
                "RateBasedStatement": {
                    "AggregateKeyType": "IP",
                    "Limit": 10,
                    "EvaluationWindowSec": 300,
                    "ScopeDownStatement": CHECKOUT_SCOPE,
                }
            },
        },
        {
            "Name": "RateLimitPerClientIp",
            "Priority": 0,
            "Action": _block("RateLimited"),
            "Statement": {"RateBasedStatement": {"AggregateKeyType": "IP", "Limit": 20, "EvaluationWindowSec": 300}},
        },
    ],
}
"""The shape `infra/stacks/api.py` synthesizes (tests/infra/test_rate_limits.py checks the real one)."""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _limiter(acl: dict[str, Any] = WEB_ACL) -> tuple[ratelimit.RateLimiter, Clock]:
    clock = Clock()
    limiter = ratelimit.RateLimiter(clock=clock)
    limiter.load({"api1": ratelimit.compile_web_acl(acl)})
    return limiter, clock


def _request(method: str = "GET", path: str = "/v1/products") -> ratelimit.WebRequest:
    return ratelimit.WebRequest(method=method, uri_path=path, query="", headers={})


def test_rules_compile_in_priority_order_with_their_custom_responses() -> None:
    acl = ratelimit.compile_web_acl(WEB_ACL)
    assert [(r.name, r.limit, r.window_seconds) for r in acl.rules] == [
        ("RateLimitPerClientIp", 20, 300),
        ("CheckoutRateLimitPerClientIp", 10, 300),
    ]
    response = acl.rules[0].response
    assert response.status == 429 and response.body == BODY.encode()
    assert dict(response.headers) == {
        "Content-Type": "application/json",
        "Retry-After": "60",
        "Access-Control-Allow-Origin": "*",
    }


def test_a_client_over_its_limit_is_blocked_and_others_are_not() -> None:
    limiter, _ = _limiter()
    assert all(limiter.check("api1", "10.0.0.1", _request()) is None for _ in range(20))
    blocked = limiter.check("api1", "10.0.0.1", _request("OPTIONS"))
    assert blocked is not None and json.loads(blocked.body)["code"] == "RATE_LIMITED"
    assert limiter.check("api1", "10.0.0.2", _request()) is None
    assert limiter.check("other-api", "10.0.0.1", _request()) is None  # no web ACL on it


def test_the_window_slides_and_blocked_requests_count() -> None:
    limiter, clock = _limiter()
    for _ in range(20):
        assert limiter.check("api1", "10.0.0.1", _request()) is None
        clock.now += 10  # 20 requests over 200 s
    assert limiter.check("api1", "10.0.0.1", _request()) is not None  # 21 within 300 s
    clock.now += 95  # the first has left the window, but the blocked one is counted
    assert limiter.check("api1", "10.0.0.1", _request()) is not None
    clock.now += 300
    assert limiter.check("api1", "10.0.0.1", _request()) is None


@pytest.mark.parametrize(
    ("method", "path", "counted"),
    [
        ("POST", "/v1/carts/c-1/checkout", True),
        ("POST", "/carts/c-1/checkout/", True),
        ("POST", "/v1/carts/c-1/%63heckout", True),
        ("GET", "/v1/carts/c-1/checkout", False),
        ("OPTIONS", "/v1/carts/c-1/checkout", False),
        ("POST", "/v1/carts/c-1/items/checkout-gift", False),
        ("POST", "/v1/carts", False),
    ],
)
def test_checkout_limit_counts_post_checkout_only(method: str, path: str, counted: bool) -> None:
    limiter, _ = _limiter()
    results = [limiter.check("api1", "10.0.0.9", _request(method, path)) for _ in range(11)]
    assert results[:10] == [None] * 10
    if counted:
        assert results[10] is not None and json.loads(results[10].body)["code"] == "CHECKOUT_RATE_LIMITED"
    else:
        assert results[10] is None


def test_a_request_blocked_by_the_first_rule_is_not_counted_by_the_next() -> None:
    limiter, _ = _limiter()
    for _ in range(20):
        limiter.check("api1", "10.0.0.3", _request())
    for _ in range(5):
        assert limiter.check("api1", "10.0.0.3", _request("POST", "/v1/carts/c/checkout")) is not None
    limiter.set_limits({"perIp": 1000})
    results = [limiter.check("api1", "10.0.0.3", _request("POST", "/v1/carts/c/checkout")) for _ in range(11)]
    assert results[:10] == [None] * 10 and results[10] is not None


def test_control_endpoint_lowers_and_restores_the_limits() -> None:
    limiter, _ = _limiter()
    status, state = limiter.handle("PUT", b'{"perIp": 3, "checkoutPerIp": 2}')
    assert status == 200 and state["perIp"] == 3 and state["checkoutPerIp"] == 2
    assert {r["name"]: r["deployedLimit"] for r in state["rules"]} == {
        "RateLimitPerClientIp": 20,
        "CheckoutRateLimitPerClientIp": 10,
    }
    assert [limiter.check("api1", "10.0.0.4", _request()) is None for _ in range(4)] == [True, True, True, False]
    status, state = limiter.handle("DELETE", b"")
    assert status == 200 and (state["perIp"], state["checkoutPerIp"]) == (20, 10)
    assert limiter.check("api1", "10.0.0.4", _request()) is None  # counts start afresh
    assert limiter.handle("PUT", b'{"perIp": 0}')[0] == 400
    assert limiter.handle("PUT", b'{"nope": 5}')[0] == 400
    assert limiter.handle("PUT", b"[1]")[0] == 400
    assert limiter.handle("POST", b"{}")[0] == 405
    assert limiter.handle("GET", b"")[1]["perIp"] == 20


@pytest.mark.parametrize(
    "statement",
    [
        {"GeoMatchStatement": {"CountryCodes": ["XX"]}},
        {"ByteMatchStatement": {"FieldToMatch": {"Body": {}}, "PositionalConstraint": "EXACTLY", "SearchString": "x"}},
        {
            "ByteMatchStatement": {
                "FieldToMatch": {"UriPath": {}},
                "PositionalConstraint": "EXACTLY",
                "SearchString": "x",
                "TextTransformations": [{"Priority": 0, "Type": "BASE64_DECODE"}],
            }
        },
    ],
)
def test_a_rule_the_local_cloud_cannot_evaluate_is_refused_not_skipped(statement: dict[str, Any]) -> None:
    acl = json.loads(json.dumps(WEB_ACL))
    acl["Rules"][0]["Statement"]["RateBasedStatement"]["ScopeDownStatement"] = statement
    with pytest.raises(ratelimit.UnsupportedRule):
        ratelimit.compile_web_acl(acl)


def test_waf_limits_below_its_minimum_are_refused() -> None:
    acl = json.loads(json.dumps(WEB_ACL))
    acl["Rules"][1]["Statement"]["RateBasedStatement"]["Limit"] = 5
    with pytest.raises(ratelimit.UnsupportedRule, match="Limit 5"):
        ratelimit.compile_web_acl(acl)


def test_web_acls_are_found_through_their_association_with_the_stage() -> None:
    resources = {
        "RestApi": {"Type": "AWS::ApiGateway::RestApi"},
        "Stage": {"Type": "AWS::ApiGateway::Stage"},
        "WebAcl": {"Type": "AWS::WAFv2::WebACL", "Properties": WEB_ACL},
        "WebAclAssociation": {
            "Type": "AWS::WAFv2::WebACLAssociation",
            "Properties": {
                "ResourceArn": {
                    "Fn::Join": [
                        "",
                        [
                            "arn:",
                            {"Ref": "AWS::Partition"},
                            ":apigateway:",
                            {"Ref": "AWS::Region"},
                            "::/restapis/",
                            {"Ref": "RestApi"},
                            "/stages/",
                            {"Ref": "Stage"},
                        ],
                    ]
                },
                "WebACLArn": {"Fn::GetAtt": ["WebAcl", "Arn"]},
            },
        },
    }
    parsed = {"RestApi": SimpleNamespace(id="abc123"), "Stage": SimpleNamespace(physical_resource_id="v1")}
    acls = ratelimit.compile_web_acls([(resources, parsed)], ["abc123", "zzz"])
    assert list(acls) == ["abc123"]
    assert acls["abc123"].name == "shopstack-test-api"


def test_web_request_sees_the_path_as_sent() -> None:
    environ = {"REQUEST_URI": "/v1/carts/c%2D1/checkout?x=1", "PATH_INFO": "/v1/carts/c-1/checkout"}
    request = ratelimit.web_request(environ, "POST")
    assert request.uri_path == "/v1/carts/c%2D1/checkout"
    assert ratelimit.web_request({"PATH_INFO": "/a b"}, "GET").uri_path == "/a%20b"


# Through the gateway, keyed by the socket's remote address


def test_gateway_blocks_one_client_and_serves_another(deployed: dict[str, Any], fake: FakeLambda) -> None:  # noqa: F811
    gateway: LocalGateway = deployed["gateway"]
    gateway.rate_limiter.load({deployed["api_id"]: ratelimit.compile_web_acl(WEB_ACL)})
    client = Client(gateway)
    try:
        noisy = {"REMOTE_ADDR": "127.0.0.2"}
        spoofed = {"X-Forwarded-For": "203.0.113.7"}
        statuses = [client.options("/products", environ_base=noisy).status_code for _ in range(10)]
        statuses += [client.get("/products", headers=spoofed, environ_base=noisy).status_code for _ in range(10)]
        assert statuses == [204] * 10 + [200] * 10
        calls = len(fake.calls)
        blocked = client.get("/products", headers=spoofed, environ_base=noisy)
        assert blocked.status_code == 429
        assert blocked.headers["Content-Type"] == "application/json"
        assert blocked.headers["Retry-After"] == "60"
        assert blocked.json["code"] == "RATE_LIMITED" and blocked.json["status"] == 429
        assert len(fake.calls) == calls  # never reached the function
        assert client.get("/nowhere", environ_base=noisy).status_code == 429  # WAF sees unknown paths too
        assert client.get("/products", environ_base={"REMOTE_ADDR": "127.0.0.3"}).status_code == 200
        assert client.get("/_localcloud/ratelimits", environ_base=noisy).json["perIp"] == 20
    finally:
        gateway.rate_limiter.load({})
        gateway.rate_limiter.reset()


def test_gateway_control_endpoint(deployed: dict[str, Any], fake: FakeLambda) -> None:  # noqa: F811
    gateway: LocalGateway = deployed["gateway"]
    gateway.rate_limiter.load({deployed["api_id"]: ratelimit.compile_web_acl(WEB_ACL)})
    client = Client(gateway)
    try:
        assert client.put("/_localcloud/ratelimits", json={"perIp": 2}).json["perIp"] == 2
        addr = {"REMOTE_ADDR": "127.0.0.4"}
        assert [client.get("/products", environ_base=addr).status_code for _ in range(3)] == [200, 200, 429]
        assert client.delete("/_localcloud/ratelimits").json["perIp"] == 20
        assert client.get("/products", environ_base=addr).status_code == 200
    finally:
        gateway.rate_limiter.load({})
        gateway.rate_limiter.reset()
