"""ShopstackWeb: the pages bucket, the distribution with its behaviours and response headers policy, the
pages and config.json deployment, and the local cloud's reading of the same template.

When `web/dist/` is missing at synth (the pages are built by `make web`), the stack deploys an empty
placeholder object instead of the pages; the tests below hold either way and say which they saw."""

from __future__ import annotations

import json
import re
from typing import Any

from infra.stacks.web import REPO_ROOT, WEB_DIST, content_security_policy
from shopstack.localcloud import site
from tests.infra.conftest import Synthesized

STACK = "ShopstackWeb"


def _one(synthesized: Synthesized, kind: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = synthesized.resources(STACK, kind).items()
    return logical_id, resource


def _distribution(synthesized: Synthesized) -> dict[str, Any]:
    config: dict[str, Any] = _one(synthesized, "AWS::CloudFront::Distribution")[1]["Properties"]["DistributionConfig"]
    return config


def _pages_bucket(synthesized: Synthesized) -> tuple[str, dict[str, Any]]:
    return next((k, r) for k, r in synthesized.resources(STACK, "AWS::S3::Bucket").items() if k.startswith("Pages"))


def test_pages_bucket_is_private_encrypted_versioned_and_logged(synthesized: Synthesized) -> None:
    _, bucket = _pages_bucket(synthesized)
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert props["LoggingConfiguration"]["LogFilePrefix"] == "s3/"
    assert "WebsiteConfiguration" not in props and "AccessControl" not in props
    # dev's removal policy is DESTROY: the objects go with the stack
    assert bucket["DeletionPolicy"] == "Delete"


def test_bucket_policy_denies_plain_http_and_lets_only_this_distribution_read(synthesized: Synthesized) -> None:
    bucket_id, _ = _pages_bucket(synthesized)
    distribution_id, _ = _one(synthesized, "AWS::CloudFront::Distribution")
    policy = next(
        p["Properties"]["PolicyDocument"]
        for p in synthesized.resources(STACK, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    )
    statements = policy["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )
    reads = [s for s in statements if s.get("Principal") == {"Service": "cloudfront.amazonaws.com"}]
    assert len(reads) == 1
    assert reads[0]["Action"] == "s3:GetObject"
    assert distribution_id in json.dumps(reads[0]["Condition"]["StringEquals"]["AWS:SourceArn"])
    assert not any(s.get("Principal") in ("*", {"AWS": "*"}) and s["Effect"] == "Allow" for s in statements)


def test_distribution_behaviours(synthesized: Synthesized) -> None:
    config = _distribution(synthesized)
    assert config["DefaultRootObject"] == "index.html"
    origins = {o["Id"]: o for o in config["Origins"]}
    default = config["DefaultCacheBehavior"]
    s3_origin = origins[default["TargetOriginId"]]
    assert "OriginAccessControlId" in s3_origin and s3_origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert default["AllowedMethods"] == ["GET", "HEAD"]
    [index_pages] = default["FunctionAssociations"]
    assert index_pages["EventType"] == "viewer-request"
    function = synthesized.raw[STACK]["Resources"][index_pages["FunctionARN"]["Fn::GetAtt"][0]]
    assert function["Properties"]["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    ((api,),) = [config["CacheBehaviors"]]
    assert api["PathPattern"] == "/v1/*"
    assert sorted(api["AllowedMethods"]) == sorted(["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"])
    assert api["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # Managed-CachingDisabled
    assert api["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # AllViewerExceptHostHeader
    assert api["ViewerProtocolPolicy"] == "https-only"
    api_origin = origins[api["TargetOriginId"]]
    assert "OriginPath" not in api_origin  # /v1/products reaches the stage v1
    domain = json.dumps(api_origin["DomainName"])
    assert ".execute-api." in domain and "rest-api-id" in json.dumps(synthesized.raw[STACK]["Parameters"])
    assert api_origin["CustomOriginConfig"] == {"OriginProtocolPolicy": "https-only", "OriginSSLProtocols": ["TLSv1.2"]}
    assert config["Logging"]["Prefix"] == "cloudfront/"


def test_rest_api_id_is_published_not_exported(synthesized: Synthesized) -> None:
    parameters = synthesized.resources("ShopstackApi", "AWS::SSM::Parameter")
    assert any(p["Properties"]["Name"] == "/shopstack/dev/api/rest-api-id" for p in parameters.values())
    web_parameters = synthesized.raw[STACK]["Parameters"]
    assert {p["Default"] for p in web_parameters.values()} >= {
        "/shopstack/dev/api/rest-api-id",
        "/shopstack/dev/cognito/user-pool-id",
        "/shopstack/dev/cognito/user-pool-client-id",
    }
    assert "Fn::ImportValue" not in json.dumps(synthesized.raw[STACK])


def test_response_headers_policy(synthesized: Synthesized) -> None:
    policy_id, policy = _one(synthesized, "AWS::CloudFront::ResponseHeadersPolicy")
    config = _distribution(synthesized)
    for behaviour in [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]:
        assert behaviour["ResponseHeadersPolicyId"] == {"Ref": policy_id}
    security = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = json.dumps(security["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    for directive in (
        "default-src 'self'",
        "script-src 'self' https://js.stripe.com",
        "frame-src https://js.stripe.com https://*.stripe.com",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "connect-src 'self' https://cognito-idp.",
    ):
        assert directive in csp, directive
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and " * " not in csp
    assert len(content_security_policy("ap-southeast-2")) <= 1783  # CloudFront's limit for the header
    assert security["StrictTransportSecurity"] == {
        "AccessControlMaxAgeSec": 63072000,
        "IncludeSubdomains": True,
        "Preload": True,
        "Override": True,
    }
    assert security["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert security["ContentTypeOptions"] == {"Override": True}
    assert security["ReferrerPolicy"]["ReferrerPolicy"] == "strict-origin-when-cross-origin"


def test_pages_and_config_json_are_deployed_and_the_cache_invalidated(synthesized: Synthesized) -> None:
    _, deployment = _one(synthesized, "Custom::CDKBucketDeployment")
    props = deployment["Properties"]
    bucket_id, _ = _pages_bucket(synthesized)
    assert props["DestinationBucketName"] == {"Ref": bucket_id}
    assert len(props["SourceObjectKeys"]) == 2  # the pages (or the placeholder), then config.json
    assert props["Prune"] is True
    assert props["DistributionPaths"] == ["/*"]
    metadata = deployment["Metadata"]
    assert metadata["shopstack:config"] == "config.json"
    # The local cloud serves the pages from this folder. These templates are synthesized without
    # bundling, as the local cloud's are: the pages are not staged and an empty placeholder stands in
    # for them (a deployable `cdk synth` stages web/dist/ when `make web` has built it, else the same
    # placeholder), so these tests hold whether or not web/dist/ exists.
    assert metadata["shopstack:source"] == WEB_DIST
    markers = json.dumps(props["SourceMarkers"][1])
    for reference in ("cognitouserpoolid", "cognitouserpoolclientid", "https://cognito-idp."):
        assert reference in markers


def test_config_json_content(synthesized: Synthesized) -> None:
    manifest = json.loads((synthesized.outdir / f"{STACK}.assets.json").read_text())
    _, deployment = _one(synthesized, "Custom::CDKBucketDeployment")
    config_key = deployment["Properties"]["SourceObjectKeys"][1]
    (entry,) = [
        e for e in manifest["files"].values() if any(d["objectKey"] == config_key for d in e["destinations"].values())
    ]
    folder = synthesized.outdir / entry["source"]["path"]
    text = (folder / "config.json").read_text()
    # deploy-time values are markers standing for whole JSON strings, replaced by the custom resource
    document = json.loads(re.sub(r"<<marker:0xbaba:\d+>>", '"<deploy-time>"', text))
    assert document["apiBase"] == "/v1"
    assert document["payments"] == {"mode": "stripe", "publishableKey": "pk_test_replace_me"}
    for key in ("region", "userPoolId", "userPoolClientId", "cognitoEndpoint"):
        assert document[key] == "<deploy-time>", key


def test_deployment_function_may_invalidate_only_this_distribution(synthesized: Synthesized) -> None:
    distribution_id, _ = _one(synthesized, "AWS::CloudFront::Distribution")
    (policy,) = synthesized.resources(STACK, "AWS::IAM::Policy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    invalidation = next(s for s in statements if "cloudfront:CreateInvalidation" in s["Action"])
    assert distribution_id in json.dumps(invalidation["Resource"])
    assert all(s["Resource"] != "*" for s in statements)


def test_distribution_web_acl_in_us_east_1(synthesized: Synthesized) -> None:
    template = synthesized.raw[STACK]
    assert template["Conditions"]["InUsEast1"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}
    acl = template["Resources"]["WebAcl"]
    assert acl["Condition"] == "InUsEast1"
    assert acl["Properties"]["Scope"] == "CLOUDFRONT"
    rules = {r["Name"]: r for r in acl["Properties"]["Rules"]}
    assert rules["RateLimitPerViewerIp"]["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"
    assert _distribution(synthesized)["WebACLId"] == {
        "Fn::If": ["InUsEast1", {"Fn::GetAtt": ["WebAcl", "Arn"]}, {"Ref": "AWS::NoValue"}]
    }


def test_site_url_output(synthesized: Synthesized) -> None:
    outputs = synthesized.raw[STACK]["Outputs"]
    assert "SiteUrl" in outputs and "DistributionId" in outputs


def test_the_local_cloud_reads_the_same_behaviours(synthesized: Synthesized) -> None:
    """shopstack.localcloud.site compiles this template into what the gateway serves."""
    compiled = site.compile_site([synthesized.raw[STACK]], repo_root=REPO_ROOT, region="us-east-1")
    assert compiled is not None
    assert compiled.problems == ()
    assert compiled.readable
    assert compiled.default_root_object == "index.html"
    assert [(b.path_pattern, b.origin) for b in compiled.behaviours] == [("/v1/*", "api"), ("*", "s3")]
    assert compiled.config_object == "config.json"
    pages = compiled.behaviours[-1]
    assert pages.viewer_request is not None, "the pages behaviour runs its CloudFront Function locally too"
    assert site.viewer_request(pages.viewer_request, "GET", "/console/") == "/console/index.html"
    assert site.viewer_request(pages.viewer_request, "GET", "/assets/app.js") == "/assets/app.js"
    headers = {rule.name: rule.value for rule in compiled.behaviours[-1].headers}
    assert headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Content-Security-Policy"] == content_security_policy("us-east-1")
