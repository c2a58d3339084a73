"""The local gateway serves a deployed distribution as CloudFront does: behaviours, default root object
and response headers policy read from the template; pages from the deployment's source folder; S3's
403 for a missing object; the Cognito relay refuses what needs AWS credentials."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.stacks.web import INDEX_PAGES
from shopstack.localcloud.deploy import Deployer
from shopstack.localcloud.gateway import LocalGateway
from shopstack.localcloud.up import LocalCloud
from tests.localcloud.conftest import ACCOUNT_ID, REGION, serving

CSP = "default-src 'self'; frame-ancestors 'none'"


def web_template(api_id: str, *, readable: bool = True) -> dict[str, Any]:
    read = {
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": ["Pages", "Arn"]}, "/*"]]},
        "Condition": {
            "StringEquals": {
                "AWS:SourceArn": {"Fn::Join": ["", ["arn:aws:cloudfront::1:distribution/", {"Ref": "Dist"}]]}
            }
        },
    }
    return {
        "Resources": {
            "Pages": {"Type": "AWS::S3::Bucket"},
            "PagesPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {"Bucket": {"Ref": "Pages"}, "PolicyDocument": {"Statement": [read] if readable else []}},
            },
            "Oac": {
                "Type": "AWS::CloudFront::OriginAccessControl",
                "Properties": {
                    "OriginAccessControlConfig": {
                        "Name": "pages",
                        "OriginAccessControlOriginType": "s3",
                        "SigningBehavior": "always",
                        "SigningProtocol": "sigv4",
                    }
                },
            },
            "Headers": {
                "Type": "AWS::CloudFront::ResponseHeadersPolicy",
                "Properties": {
                    "ResponseHeadersPolicyConfig": {
                        "Name": "security",
                        "SecurityHeadersConfig": {
                            "ContentSecurityPolicy": {"ContentSecurityPolicy": CSP, "Override": True},
                            "StrictTransportSecurity": {
                                "AccessControlMaxAgeSec": 63072000,
                                "IncludeSubdomains": True,
                                "Override": True,
                            },
                            "FrameOptions": {"FrameOption": "DENY", "Override": True},
                            "ContentTypeOptions": {"Override": True},
                        },
                    }
                },
            },
            "Dist": {
                "Type": "AWS::CloudFront::Distribution",
                "Properties": {
                    "DistributionConfig": {
                        "DefaultRootObject": "index.html",
                        "Origins": [
                            {
                                "Id": "s3",
                                "DomainName": {"Fn::GetAtt": ["Pages", "RegionalDomainName"]},
                                "OriginAccessControlId": {"Fn::GetAtt": ["Oac", "Id"]},
                                "S3OriginConfig": {"OriginAccessIdentity": ""},
                            },
                            {
                                "Id": "api",
                                "DomainName": f"{api_id}.execute-api.{REGION}.amazonaws.com",
                                "CustomOriginConfig": {"OriginProtocolPolicy": "https-only"},
                            },
                        ],
                        "DefaultCacheBehavior": {
                            "TargetOriginId": "s3",
                            "AllowedMethods": ["GET", "HEAD"],
                            "ResponseHeadersPolicyId": {"Ref": "Headers"},
                            "FunctionAssociations": [
                                {"EventType": "viewer-request", "FunctionARN": {"Fn::GetAtt": ["Index", "FunctionARN"]}}
                            ],
                        },
                        "CacheBehaviors": [
                            {
                                "PathPattern": "/v1/*",
                                "TargetOriginId": "api",
                                "AllowedMethods": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
                                "ResponseHeadersPolicyId": {"Ref": "Headers"},
                            }
                        ],
                        "Enabled": True,
                    }
                },
            },
            "Index": {
                "Type": "AWS::CloudFront::Function",
                "Properties": {
                    "Name": "index",
                    "AutoPublish": True,
                    "FunctionConfig": {"Comment": "index pages", "Runtime": "cloudfront-js-2.0"},
                    "FunctionCode": INDEX_PAGES,
                },
            },
            "Deploy": {
                "Type": "Custom::CDKBucketDeployment",
                "Metadata": {"shopstack:source": "pages", "shopstack:config": "config.json"},
                "Properties": {
                    "ServiceToken": "arn:aws:lambda:::function:x",
                    "DestinationBucketName": {"Ref": "Pages"},
                },
            },
        }
    }


@pytest.fixture(scope="module")
def site_url(cloud: LocalCloud, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("repo")
    (root / "pages" / "assets").mkdir(parents=True)
    (root / "pages" / "index.html").write_text("<!doctype html><title>shop</title>")
    (root / "pages" / "console").mkdir()
    (root / "pages" / "console" / "index.html").write_text("<!doctype html><title>console</title>")
    (root / "pages" / "assets" / "app.js").write_text("export {};")
    (root / "pages" / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (root / "secret.txt").write_text("outside the pages")
    apis = cloud.client("apigateway").get_rest_apis()["items"]
    Deployer(cloud.moto_url, REGION, ACCOUNT_ID).create_stack("site-test", web_template(apis[0]["id"]))
    assert cloud.pool is not None
    gateway = LocalGateway(region=REGION, account_id=ACCOUNT_ID, invoke=cloud.pool.invoke, moto_url=cloud.moto_url)
    gateway.log_stream = io.StringIO()
    gateway.site.repo_root = root
    gateway.refresh()
    try:
        with serving(gateway) as url:
            yield url
    finally:
        cloud.client("cloudformation").delete_stack(StackName="site-test")


def fetch(
    url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def test_a_folders_path_is_its_index_page_as_the_distributions_function_makes_it(site_url: str) -> None:
    status, headers, body = fetch(site_url + "/console/")
    assert status == 200 and b"<title>console</title>" in body
    assert headers["content-type"].startswith("text/html")
    assert fetch(site_url + "/console")[0] == 403, "S3 has no object `console`"


def test_root_is_the_default_root_object_with_the_policy_headers(site_url: str) -> None:
    status, headers, body = fetch(site_url + "/")
    assert status == 200
    assert body.startswith(b"<!doctype html>")
    assert headers["content-type"] == "text/html"
    assert headers["content-security-policy"] == CSP
    assert headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    etag = headers["etag"]
    assert fetch(site_url + "/", headers={"If-None-Match": etag})[0] == 304


@pytest.mark.parametrize(("path", "kind"), [("/assets/app.js", "text/javascript"), ("/logo.svg", "image/svg+xml")])
def test_files_have_their_content_types(site_url: str, path: str, kind: str) -> None:
    status, headers, _ = fetch(site_url + path)
    assert (status, headers["content-type"]) == (200, kind)


@pytest.mark.parametrize("path", ["/nope.html", "/assets/", "/assets", "/../secret.txt", "/%2e%2e/secret.txt"])
def test_a_missing_object_is_s3s_403_with_the_policy_headers(site_url: str, path: str) -> None:
    status, headers, body = fetch(site_url + path)
    assert status == 403
    assert b"<Code>AccessDenied</Code>" in body
    assert headers["x-frame-options"] == "DENY"


def test_a_method_the_pages_behaviour_does_not_allow_is_cloudfronts_403(site_url: str) -> None:
    status, _, body = fetch(site_url + "/index.html", method="POST", body=b"{}")
    assert status == 403
    assert b"not configured to allow the HTTP request method" in body


def test_the_api_behaviour_reaches_the_stage_and_the_root_still_serves_the_api(site_url: str) -> None:
    # the fixture's echo function answers its event, not a proxy response: API Gateway's 502, from the API
    status, headers, body = fetch(site_url + "/v1/echo")
    assert status == 502 and b"Internal server error" in body
    assert headers["strict-transport-security"].startswith("max-age=")
    status, headers, body = fetch(site_url + "/echo")
    assert status == 502 and b"Internal server error" in body
    assert "strict-transport-security" not in headers  # the local convenience path is not the distribution's


def test_config_json_is_written_for_the_local_cloud(site_url: str) -> None:
    status, headers, body = fetch(site_url + "/config.json")
    assert status == 200 and headers["content-type"] == "application/json"
    config = json.loads(body)
    assert config["apiBase"] == "/v1"
    assert config["cognitoEndpoint"] == site_url + "/_localcloud/cognito-idp/"
    assert config["payments"]["mode"] == "emulator"
    assert config["payments"]["publishableKey"] == "pk_test_local"


def test_the_cognito_relay_refuses_operations_that_need_aws_credentials(site_url: str) -> None:
    status, _, body = fetch(
        site_url + "/_localcloud/cognito-idp/",
        method="POST",
        body=json.dumps({"UserPoolId": "x", "Username": "a", "GroupName": "admin"}).encode(),
        headers={
            "X-Amz-Target": "AWSCognitoIdentityProviderService.AdminAddUserToGroup",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    assert status == 400
    assert json.loads(body)["__type"] == "MissingAuthenticationTokenException"


def test_without_a_bucket_policy_for_the_distribution_every_page_is_403(tmp_path: Path) -> None:
    from shopstack.localcloud import site

    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "index.html").write_text("hi")
    compiled = site.compile_site([web_template("abc", readable=False)], repo_root=tmp_path, region=REGION)
    assert compiled is not None and not compiled.readable
    assert compiled.problems
    status, _, _ = site.serve_object(compiled, compiled.behaviours[-1], "GET", "index.html", b"hi", None)
    assert status == 403
