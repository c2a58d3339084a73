"""Per-client rate limits (security review, issue 10 item 2): the WAF web ACL's two rate-based rules
and the stage's throttling, sized for a sale, with checkout's own limit."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.app import build_app
from infra.settings import load_cdk_json_context
from shopstack.localcloud import ratelimit
from tests.infra.conftest import Synthesized

CONTEXT = load_cdk_json_context()
CHECKOUT_RESOURCE_PATH = "/~1carts~1{cartId}~1checkout"


def _web_acl(synthesized: Synthesized) -> dict[str, Any]:
    ((_, acl),) = synthesized.resources("ShopstackApi", "AWS::WAFv2::WebACL").items()
    props: dict[str, Any] = acl["Properties"]
    return props


def _rule(props: dict[str, Any], name: str) -> dict[str, Any]:
    rule: dict[str, Any] = next(r for r in props["Rules"] if r["Name"] == name)
    return rule


def _custom_response(props: dict[str, Any], rule: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
    custom = rule["Action"]["Block"]["CustomResponse"]
    body = props["CustomResponseBodies"][custom["CustomResponseBodyKey"]]
    assert body["ContentType"] == "APPLICATION_JSON"  # WAF's only JSON type: sent as application/json
    headers = {h["Name"]: h["Value"] for h in custom["ResponseHeaders"]}
    return custom["ResponseCode"], headers, json.loads(body["Content"])


def test_every_request_counts_against_the_per_ip_limit(synthesized: Synthesized) -> None:
    props = _web_acl(synthesized)
    rule = _rule(props, "RateLimitPerClientIp")
    assert rule["Priority"] == 0
    assert rule["Statement"] == {
        "RateBasedStatement": {
            "AggregateKeyType": "IP",
            "Limit": CONTEXT["apiRateLimitPerIp"],
            "EvaluationWindowSec": 300,
        }
    }
    status, headers, body = _custom_response(props, rule)
    assert status == 429 and headers["Retry-After"] == "60"
    assert body["status"] == 429 and body["title"] == "Too Many Requests" and body["code"] == "RATE_LIMITED"
    assert body["type"] == "about:blank" and body["detail"]
    assert "Content-Type" not in headers and "content-type" not in headers  # WAF refuses it


def test_checkout_has_a_stricter_per_ip_limit_scoped_down_to_post_checkout(synthesized: Synthesized) -> None:
    props = _web_acl(synthesized)
    rule = _rule(props, "CheckoutRateLimitPerClientIp")
    assert rule["Priority"] == 1
    statement = rule["Statement"]["RateBasedStatement"]
    assert statement["AggregateKeyType"] == "IP" and statement["EvaluationWindowSec"] == 300
    assert statement["Limit"] == CONTEXT["checkoutRateLimitPerIp"] < CONTEXT["apiRateLimitPerIp"]
    method, path = statement["ScopeDownStatement"]["AndStatement"]["Statements"]
    assert method["ByteMatchStatement"]["FieldToMatch"] == {"Method": {}}
    assert method["ByteMatchStatement"]["PositionalConstraint"] == "EXACTLY"
    assert method["ByteMatchStatement"]["SearchString"] == "POST"
    assert path["RegexMatchStatement"]["FieldToMatch"] == {"UriPath": {}}
    assert path["RegexMatchStatement"]["TextTransformations"] == [{"Priority": 0, "Type": "URL_DECODE"}]
    status, headers, body = _custom_response(props, rule)
    assert status == 429 and headers["Retry-After"] == "60"
    assert body["status"] == 429 and body["code"] == "CHECKOUT_RATE_LIMITED"


@pytest.mark.parametrize(
    ("method", "path", "matches"),
    [
        ("POST", "/v1/carts/3f2a/checkout", True),
        ("POST", "/v1/carts/3f2a/checkout/", True),
        ("POST", "/v1/carts/3f2a/%63heckout", True),
        ("GET", "/v1/carts/3f2a/checkout", False),
        ("OPTIONS", "/v1/carts/3f2a/checkout", False),
        ("POST", "/v1/carts", False),
        ("POST", "/v1/carts/3f2a/items", False),
        ("PUT", "/v1/carts/3f2a/items/checkout", False),
    ],
)
def test_the_scope_down_selects_checkouts_only(synthesized: Synthesized, method: str, path: str, matches: bool) -> None:
    """Evaluated with the local cloud's reading of the rule, which the local gateway applies."""
    acl = ratelimit.compile_web_acl(_web_acl(synthesized))
    (checkout,) = [rule for rule in acl.rules if rule.scope is not None]
    assert checkout.scope is not None
    assert checkout.scope(ratelimit.WebRequest(method=method, uri_path=path, query="", headers={})) is matches


def test_the_web_acl_answers_cors_readable_429s(synthesized: Synthesized) -> None:
    props = _web_acl(synthesized)
    origins = CONTEXT["corsAllowOrigins"]
    customs = [r["Action"]["Block"]["CustomResponse"] for r in props["Rules"] if "Block" in r.get("Action", {})]
    for rule in props["Rules"]:  # managed rules blocking with our problem details (tests/infra/test_waf.py)
        for override in rule["Statement"].get("ManagedRuleGroupStatement", {}).get("RuleActionOverrides", []):
            if "Block" in override["ActionToUse"]:
                customs.append(override["ActionToUse"]["Block"]["CustomResponse"])
    assert len(customs) == 4
    for custom in customs:
        headers = {h["Name"]: h["Value"] for h in custom.get("ResponseHeaders", [])}
        if len(origins) == 1:
            assert headers["Access-Control-Allow-Origin"] == origins[0]


def test_stage_throttling_is_sized_for_a_sale_and_checkout_has_its_own(synthesized: Synthesized) -> None:
    ((_, stage),) = synthesized.resources("ShopstackApi", "AWS::ApiGateway::Stage").items()
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in stage["Properties"]["MethodSettings"]}
    everything = settings[("/*", "*")]
    assert everything["ThrottlingRateLimit"] == CONTEXT["apiThrottlingRateLimit"] == 500
    assert everything["ThrottlingBurstLimit"] == CONTEXT["apiThrottlingBurstLimit"] == 1000
    checkout = settings[(CHECKOUT_RESOURCE_PATH, "POST")]
    assert checkout["ThrottlingRateLimit"] == CONTEXT["checkoutThrottlingRateLimit"]
    assert checkout["ThrottlingBurstLimit"] == CONTEXT["checkoutThrottlingBurstLimit"]
    assert checkout["ThrottlingRateLimit"] < everything["ThrottlingRateLimit"]
    # a method's own settings replace the stage's for it: logging and metrics stay on
    assert checkout["LoggingLevel"] == "ERROR" and checkout["MetricsEnabled"] is True
    assert checkout["DataTraceEnabled"] is False


def test_the_per_ip_rules_sit_well_inside_the_stage_limit() -> None:
    """One client at its WAF limit uses a sliver of the stage's rate: it cannot starve the others."""
    per_client_rps = CONTEXT["apiRateLimitPerIp"] / 300
    assert per_client_rps < CONTEXT["apiThrottlingRateLimit"] / 50


@pytest.mark.parametrize("key", ["apiRateLimitPerIp", "checkoutRateLimitPerIp"])
def test_rate_limits_below_wafs_minimum_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match=key):
        build_app(local=True, context={key: 9})
