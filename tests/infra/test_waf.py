"""The API's web ACL beyond the rate limits (issue 10, hardening in CDK): AWS managed rule groups in a
fixed order, the rule actions we override and why, the 8 KB body rule, and the local cloud's reading
of the same template (what the local gateway enforces)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.app import build_app
from infra.settings import load_cdk_json_context
from shopstack.localcloud import ratelimit
from tests.infra.conftest import Synthesized

CONTEXT = load_cdk_json_context()
EXPECTED_ORDER = [
    (0, "RateLimitPerClientIp"),
    (1, "CheckoutRateLimitPerClientIp"),
    (2, "AWS-AWSManagedRulesAmazonIpReputationList"),
    (3, "AWS-AWSManagedRulesKnownBadInputsRuleSet"),
    (4, "AWS-AWSManagedRulesCommonRuleSet"),
    (5, "BodyTooLarge"),
]
"""Rate limits first (every request of a client counts, even one a later rule blocks), then Amazon's
address lists (cheap), known exploits, the core rule set, and the body rule that reads its label."""


def _acl(synthesized: Synthesized, **context: Any) -> dict[str, Any]:
    if context:
        app = build_app(local=True, context=context)
        template = app.synth().get_stack_artifact("ShopstackApi").template
        resources = template["Resources"]
    else:
        resources = synthesized.raw["ShopstackApi"]["Resources"]
    (acl,) = [r for r in resources.values() if r["Type"] == "AWS::WAFv2::WebACL"]
    props: dict[str, Any] = acl["Properties"]
    return props


def _rule(props: dict[str, Any], name: str) -> dict[str, Any]:
    rule: dict[str, Any] = next(r for r in props["Rules"] if r["Name"] == name)
    return rule


def _overrides(rule: dict[str, Any]) -> dict[str, dict[str, Any]]:
    statement = rule["Statement"]["ManagedRuleGroupStatement"]
    return {o["Name"]: o["ActionToUse"] for o in statement.get("RuleActionOverrides", [])}


def test_rules_and_their_priorities(synthesized: Synthesized) -> None:
    props = _acl(synthesized)
    assert [(r["Priority"], r["Name"]) for r in props["Rules"]] == EXPECTED_ORDER
    assert props["DefaultAction"] == {"Allow": {}}


@pytest.mark.parametrize(
    "group",
    ["AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesCommonRuleSet"],
)
def test_managed_groups_are_aws_groups_that_block(synthesized: Synthesized, group: str) -> None:
    rule = _rule(_acl(synthesized), f"AWS-{group}")
    statement = rule["Statement"]["ManagedRuleGroupStatement"]
    assert statement["VendorName"] == "AWS" and statement["Name"] == group
    assert rule["OverrideAction"] == {"None": {}}, "the group's own actions apply (not Count)"
    assert "Action" not in rule
    assert "ScopeDownStatement" not in statement, "every request is inspected"
    assert rule["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True
    assert rule["VisibilityConfig"]["SampledRequestsEnabled"] is True


def test_anonymous_ip_list_is_not_used(synthesized: Synthesized) -> None:
    """VPN and privacy-relay shoppers and cloud-hosted webhook senders would be refused."""
    text = json.dumps(_acl(synthesized))
    assert "AWSManagedRulesAnonymousIpList" not in text


def test_only_the_two_documented_core_rules_are_overridden(synthesized: Synthesized) -> None:
    props = _acl(synthesized)
    assert _overrides(_rule(props, "AWS-AWSManagedRulesKnownBadInputsRuleSet")) == {}
    assert _overrides(_rule(props, "AWS-AWSManagedRulesAmazonIpReputationList")) == {}
    overrides = _overrides(_rule(props, "AWS-AWSManagedRulesCommonRuleSet"))
    assert set(overrides) == {"SizeRestrictions_BODY", "NoUserAgent_HEADER"}
    # the 8 KB body rule only labels: BodyTooLarge blocks with its label, outside two routes
    assert overrides["SizeRestrictions_BODY"] == {"Count": {}}
    # a request without User-Agent is still blocked, with problem details instead of a bare 403
    custom = overrides["NoUserAgent_HEADER"]["Block"]["CustomResponse"]
    assert custom["ResponseCode"] == 403
    body = props["CustomResponseBodies"][custom["CustomResponseBodyKey"]]
    assert body["ContentType"] == "APPLICATION_JSON"
    assert json.loads(body["Content"])["code"] == "USER_AGENT_REQUIRED"


def test_bodies_over_8_kb_are_blocked_with_413_outside_the_large_body_routes(synthesized: Synthesized) -> None:
    props = _acl(synthesized)
    rule = _rule(props, "BodyTooLarge")
    label, exempt = rule["Statement"]["AndStatement"]["Statements"]
    assert label == {
        "LabelMatchStatement": {"Scope": "LABEL", "Key": "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body"}
    }
    routes = exempt["NotStatement"]["Statement"]["OrStatement"]["Statements"]
    assert [r["AndStatement"]["Statements"][0]["ByteMatchStatement"]["SearchString"] for r in routes] == ["PUT", "POST"]
    for r in routes:
        path = r["AndStatement"]["Statements"][1]["RegexMatchStatement"]
        assert path["TextTransformations"] == [{"Priority": 0, "Type": "URL_DECODE"}]
        assert path["RegexString"].startswith("^") and path["RegexString"].endswith("/*$")
    custom = rule["Action"]["Block"]["CustomResponse"]
    assert custom["ResponseCode"] == 413
    assert "Retry-After" not in {h["Name"] for h in custom.get("ResponseHeaders", [])}
    problem = json.loads(props["CustomResponseBodies"][custom["CustomResponseBodyKey"]]["Content"])
    assert problem["status"] == 413 and problem["code"] == "BODY_TOO_LARGE" and "8192" in problem["detail"]


# The same template as the local gateway reads it (tests/security/test_waf.py checks it over HTTP)

HEADERS = {"user-agent": "storefront/1.0", "content-type": "application/json"}


def _request(method: str, path: str, *, body: int = 0, **changes: Any) -> ratelimit.WebRequest:
    fields: dict[str, Any] = {"method": method, "uri_path": path, "query": "", "headers": HEADERS, "body_size": body}
    fields.update(changes)
    return ratelimit.WebRequest(**fields)


def _verdict(acl: ratelimit.WebAcl, request: ratelimit.WebRequest) -> int | None:
    limiter = ratelimit.RateLimiter()
    limiter.load({"api": acl})
    blocked = limiter.check("api", "127.0.0.9", request)
    return blocked.status if blocked is not None else None


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        (_request("GET", "/v1/products"), None),
        (_request("GET", "/v1/products", headers={}), 403),
        (_request("GET", "/v1/products", headers={"user-agent": " "}), 403),
        (_request("GET", "/v1/products", headers={"user-agent": "Nmap Scripting Engine"}), 403),
        (_request("POST", "/v1/carts/c1/checkout", body=8192), None),
        (_request("POST", "/v1/carts/c1/checkout", body=8193), 413),
        (_request("POST", "/v1/webhooks/carrier", body=9000), 413),
        (_request("POST", "/v1/webhooks/stripe", body=9000), None),
        (_request("POST", "/v1/orders/o1/returns", body=30_000), None),
        (_request("POST", "/v1/admin/customers/c1/interactions", body=12_000), None),
        (_request("POST", "/v1/orders/o1/cancel", body=9000), 413),
        (_request("POST", "/v1/admin/webhooks", body=9000), 413),
        (_request("PUT", "/v1/carts/c1/items/SKU-1", body=9000), 413),
        (_request("PUT", "/v1/admin/products/SKU-1", body=60_000), None),
        (_request("PUT", "/admin/products/SKU-1", body=60_000), None),
        (_request("PUT", "/v1/me", body=20_000), None),
        (_request("POST", "/v1/me", body=20_000), 413),
        (_request("PUT", "/v1/admin/products/SKU-1/x", body=20_000), 413),
        (_request("PUT", "/v1/admin/products/a%2F..%2F..%2Fcarts", body=20_000), 413),
        (_request("GET", "/v1/products", query="q=" + "x" * 2047), 403),
        (_request("GET", "/v1/products", query="q=" + "x" * 2046), None),
        (_request("GET", "/v1/" + "p" * 1021), 403),
        (_request("GET", "/v1/products", headers={**HEADERS, "cookie": "c=" + "x" * 10239}), 403),
        (_request("PROPFIND", "/v1/products"), 403),
    ],
)
def test_the_local_gateway_reads_the_managed_rules_as_aws_documents_them(
    synthesized: Synthesized, request_: ratelimit.WebRequest, status: int | None
) -> None:
    acl = ratelimit.compile_web_acl(_acl(synthesized))
    assert _verdict(acl, request_) == status


def test_a_managed_group_the_local_cloud_does_not_know_is_refused(synthesized: Synthesized) -> None:
    props = json.loads(json.dumps(_acl(synthesized)))
    props["Rules"][2]["Statement"]["ManagedRuleGroupStatement"]["Name"] = "AWSManagedRulesBotControlRuleSet"
    with pytest.raises(ratelimit.UnsupportedRule, match="BotControl"):
        ratelimit.compile_web_acl(props)


def test_waf_count_rules_turn_one_rule_to_count(synthesized: Synthesized) -> None:
    """cdk.json wafCountRules: for a rule that misfires on real traffic, deployed and local alike."""
    assert CONTEXT["wafCountRules"] == []
    props = _acl(synthesized, wafCountRules=["AWSManagedRulesCommonRuleSet/NoUserAgent_HEADER"])
    overrides = _overrides(_rule(props, "AWS-AWSManagedRulesCommonRuleSet"))
    assert overrides["NoUserAgent_HEADER"] == {"Count": {}}
    acl = ratelimit.compile_web_acl(props)
    assert _verdict(acl, _request("GET", "/v1/products", headers={})) is None


def test_waf_count_rules_name_a_group_of_the_web_acl() -> None:
    with pytest.raises(ValueError, match="wafCountRules"):
        build_app(local=True, context={"wafCountRules": ["AWSManagedRulesAnonymousIpList/AnonymousIPList"]})
