"""ShopstackWeb: the storefront's pages in a private S3 bucket behind a CloudFront distribution that
also serves the REST API under `/v1/*`, so the browser talks to one origin and needs no CORS.

The pages come from `web/dist/` (built by `make web`); `config.json` beside them is written at deploy
time from the user pool's ids (SSM parameters of ShopstackShared) and cdk.json's Stripe publishable
key. The API origin is the REST API's execute-api domain, its id read from the SSM parameter
ShopstackApi publishes (no export).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsii
from aws_cdk import Aspects, CfnCondition, CfnOutput, CfnResource, Duration, Fn, IAspect, RemovalPolicy, Stack, Token
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct, IConstruct

from infra import names, references
from infra.components.waf import checkout_requests, per_ip, visibility
from infra.settings import Settings
from infra.stacks.api import STAGE_NAME

BUNDLING_STACKS = "aws:cdk:bundling-stacks"
REPO_ROOT = Path(__file__).resolve().parents[2]
WEB_DIST = "web/dist"
"""The built pages, relative to the repository root (the BucketDeployment's source directory)."""
SOURCE_METADATA = "shopstack:source"
"""Metadata key on the Custom::CDKBucketDeployment resource naming its page source directory
(repository-relative): the local cloud serves the pages from there."""
CONFIG_METADATA = "shopstack:config"
API_PATH_PATTERN = f"/{STAGE_NAME}/*"
DEFAULT_ROOT_OBJECT = "index.html"
INDEX_PAGES = """function handler(event) {
  var request = event.request;
  if (request.uri.endsWith("/")) {
    request.uri += "index.html";
  }
  return request;
}
"""
"""The viewer-request function of the pages: S3 behind Origin Access Control has no index
documents (a website endpoint would need a public bucket), so `/console/` becomes
`/console/index.html` here. The local cloud runs this code as CloudFront does."""
CONFIG_OBJECT = "config.json"

STRIPE_SCRIPT_ORIGIN = "https://js.stripe.com"
STRIPE_ORIGINS = "https://*.stripe.com"
HSTS_MAX_AGE = Duration.days(730)


def cognito_endpoint(region: str) -> str:
    return f"https://cognito-idp.{region}.amazonaws.com/"


def content_security_policy(region: str) -> str:
    """Only the site itself, Stripe.js and its frames (the Payment Element, 3-D Secure), and Cognito's
    Identity Provider endpoint for sign-up and sign-in. `region` may be a token (`${AWS::Region}`)."""
    directives = [
        "default-src 'self'",
        f"script-src 'self' {STRIPE_SCRIPT_ORIGIN}",
        "style-src 'self'",
        f"img-src 'self' data: {STRIPE_ORIGINS}",
        "font-src 'self'",
        f"connect-src 'self' {cognito_endpoint(region)} https://api.stripe.com {STRIPE_ORIGINS}",
        f"frame-src {STRIPE_SCRIPT_ORIGIN} {STRIPE_ORIGINS}",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'self'",
        "object-src 'none'",
        "upgrade-insecure-requests",
    ]
    return "; ".join(directives)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@jsii.implements(IAspect)
class _NarrowInvalidation:
    """aws-s3-deployment grants cloudfront:CreateInvalidation and GetInvalidation on Resource '*';
    CloudFront supports resource-level permissions for both, so the grant is narrowed to this
    stack's distribution (once the construct has written its policy, before synthesis)."""

    def __init__(self, stack: WebStack) -> None:
        self.stack = stack

    def visit(self, node: IConstruct) -> None:
        role = self.stack.deployment_function.role
        if role is None or not isinstance(node, iam.CfnPolicy) or not node.node.path.startswith(role.node.path + "/"):
            return
        distribution_arn = self.stack.format_arn(
            service="cloudfront",
            region="",
            resource="distribution",
            resource_name=self.stack.distribution.distribution_id,
        )
        document = self.stack.resolve(node.policy_document)
        for statement in document["Statement"]:
            actions = _as_list(statement.get("Action"))
            if statement.get("Resource") == "*" and all(str(a).startswith("cloudfront:") for a in actions):
                statement["Resource"] = self.stack.resolve(distribution_arn)
        node.policy_document = document


class WebStack(Stack):
    """The storefront's pages and the distribution in front of them and the API."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        pages: Path | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, description="shopstack: storefront pages and CloudFront", **kwargs)
        stage = settings.stage
        pages = pages if pages is not None else REPO_ROOT / WEB_DIST
        self.pages_present = pages.is_dir()
        # A synth without asset bundling (`--local`: the local cloud and the template tests) does not stage
        # the pages (the local cloud serves them from their folder, named in the metadata below), so its
        # templates do not change with every `make web`.
        staged = self.pages_present and self.node.try_get_context(BUNDLING_STACKS) != []
        # The REST API's id and the user pool's ids, published in SSM by ShopstackApi and ShopstackShared.
        rest_api_id = references.read(self, names.rest_api_id_parameter(stage))
        user_pool_id = references.read(self, names.user_pool_id_parameter(stage))
        user_pool_client_id = references.read(self, names.user_pool_client_id_parameter(stage))

        removal = settings.removal_policy
        destroy = removal == RemovalPolicy.DESTROY
        # CloudFront standard logs and the pages bucket's server access logs. CloudFront's standard
        # logging writes with an ACL, so this bucket keeps ACLs enabled (BUCKET_OWNER_PREFERRED).
        self.log_bucket = s3.Bucket(
            self,
            "LogBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
            removal_policy=removal,
            auto_delete_objects=destroy,
        )
        # Private: only the distribution reads it (Origin Access Control, the bucket policy CDK writes
        # names the distribution's ARN). Versioned: a bad deploy of the pages is undone by restoring the
        # previous versions (BucketDeployment prunes what the new build lacks); old versions expire.
        self.bucket = s3.Bucket(
            self,
            "PagesBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(30))],
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix="s3/",
            removal_policy=removal,
            auto_delete_objects=destroy,
        )

        region = Stack.of(self).region
        self.headers_policy = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            response_headers_policy_name=names.resource_name(stage, "web-security-headers"),
            comment="shopstack: CSP (self, Stripe, Cognito), HSTS, no framing, nosniff, referrer policy",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=content_security_policy(region), override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=HSTS_MAX_AGE, include_subdomains=True, preload=True, override=True
                ),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override=True
                ),
            ),
        )

        api_domain = f"{rest_api_id}.execute-api.{region}.{Stack.of(self).url_suffix}"
        api_origin = origins.HttpOrigin(
            api_domain,
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
            origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
        )
        self.web_acl_arn = self._web_acl(settings)
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"shopstack {stage}: storefront pages and the API under {API_PATH_PATTERN}",
            default_root_object=DEFAULT_ROOT_OBJECT,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                function_associations=[
                    cloudfront.FunctionAssociation(
                        function=cloudfront.Function(
                            self,
                            "IndexPages",
                            comment="A path ending in / is its folder's index.html (/console/ is the console)",
                            code=cloudfront.FunctionCode.from_inline(INDEX_PAGES),
                            runtime=cloudfront.FunctionRuntime.JS_2_0,
                        ),
                        event_type=cloudfront.FunctionEventType.VIEWER_REQUEST,
                    )
                ],
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=self.headers_policy,
                compress=True,
            ),
            additional_behaviors={
                API_PATH_PATTERN: cloudfront.BehaviorOptions(
                    origin=api_origin,
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                    cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                    origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                    response_headers_policy=self.headers_policy,
                    compress=True,
                )
            },
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=self.log_bucket,
            log_file_prefix="cloudfront/",
            web_acl_id=self.web_acl_arn,
        )

        config = {
            "apiBase": f"/{STAGE_NAME}",
            "region": region,
            "userPoolId": user_pool_id,
            "userPoolClientId": user_pool_client_id,
            "cognitoEndpoint": cognito_endpoint(region),
            "payments": {"mode": "stripe", "publishableKey": settings.stripe_publishable_key},
        }
        sources = [
            s3deploy.Source.asset(str(pages)) if staged else s3deploy.Source.data(".placeholder", ""),
            s3deploy.Source.json_data(CONFIG_OBJECT, config),
        ]
        self.deployment = s3deploy.BucketDeployment(
            self,
            "DeployPages",
            destination_bucket=self.bucket,
            sources=sources,
            # Browsers revalidate every page (ETag, 304); CloudFront keeps them a day and each deploy
            # invalidates every path, so a new build is live when the deployment ends.
            cache_control=[s3deploy.CacheControl.from_string("public, max-age=0, s-maxage=86400, must-revalidate")],
            distribution=self.distribution,
            distribution_paths=["/*"],
            memory_limit=512,
        )
        # The deployment's function (a singleton of aws-s3-deployment) and its invalidation grant, which
        # the construct writes on Resource '*': narrowed to this distribution (CloudFront supports it).
        self.deployment_function = next(
            c
            for c in self.node.children
            if isinstance(c, lambda_.Function) and c.node.id.startswith("Custom::CDKBucketDeployment")
        )
        Aspects.of(self).add(_NarrowInvalidation(self))
        custom = next(
            c
            for c in self.deployment.node.find_all()
            if isinstance(c, CfnResource) and c.cfn_resource_type == "Custom::CDKBucketDeployment"
        )
        # Where the pages come from and which object is the runtime configuration, for the local cloud
        # (which serves the pages from their folder and writes its own configuration).
        custom.add_metadata(SOURCE_METADATA, WEB_DIST)
        custom.add_metadata(CONFIG_METADATA, CONFIG_OBJECT)

        CfnOutput(self, "SiteUrl", value=f"https://{self.distribution.distribution_domain_name}")
        CfnOutput(self, "DistributionId", value=self.distribution.distribution_id)
        CfnOutput(self, "PagesBucketName", value=self.bucket.bucket_name)

    def _web_acl(self, settings: Settings) -> str | None:
        """The distribution's own web ACL: per-viewer rate limits (CloudFront's WAF sees the viewer's
        address; the API's web ACL sees CloudFront's). A CLOUDFRONT-scope web ACL exists only in
        us-east-1: in that region this stack creates it; elsewhere cdk.json `webAclArn` names one made
        in us-east-1, or the distribution has none (docs/deploy.md)."""
        region = Stack.of(self).region
        if not Token.is_unresolved(region) and region != "us-east-1":
            return settings.web_acl_arn
        in_us_east_1 = CfnCondition(self, "InUsEast1", expression=Fn.condition_equals(region, "us-east-1"))

        checkout = checkout_requests()
        acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=names.resource_name(settings.stage, "web"),
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility("shopstack-web"),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="RateLimitPerViewerIp",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=per_ip(settings.api_rate_limit_per_ip),
                    visibility_config=visibility("RateLimitPerViewerIp"),
                ),
                wafv2.CfnWebACL.RuleProperty(
                    name="CheckoutRateLimitPerViewerIp",
                    priority=1,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=per_ip(settings.checkout_rate_limit_per_ip, checkout),
                    visibility_config=visibility("CheckoutRateLimitPerViewerIp"),
                ),
                wafv2.CfnWebACL.RuleProperty(
                    name="AWSManagedRulesAmazonIpReputationList",
                    priority=2,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS", name="AWSManagedRulesAmazonIpReputationList"
                        )
                    ),
                    visibility_config=visibility("AWSManagedRulesAmazonIpReputationList"),
                ),
            ],
        )
        acl.cfn_options.condition = in_us_east_1
        otherwise = settings.web_acl_arn or Fn.ref("AWS::NoValue")
        return Token.as_string(Fn.condition_if(in_us_east_1.logical_id, acl.attr_arn, otherwise))
