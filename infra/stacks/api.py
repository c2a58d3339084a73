"""ShopstackApi: the REST API, its Cognito authorizer and every route of `infra.routes`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra import names, references
from infra.components import waf
from infra.components.alarms import GREATER, stage_alarm
from infra.components.service_function import FUNCTIONS_DIR, ServiceFunction
from infra.components.waf import CHECKOUT_METHOD, checkout_requests, per_ip, visibility
from infra.routes import ROUTES, Route
from infra.settings import CREATE, REPO_ROOT, Settings

STAGE_NAME = "v1"
ALLOWED_HEADERS = [
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "X-Cart-Token",
    "X-Order-Token",
]
EXPOSED_HEADERS = ["Retry-After", "Location"]

ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "caller": "$context.authorizer.claims.sub",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "errorMessage": "$context.error.message",
    "xrayTraceId": "$context.xrayTraceId",
}

PROBLEM_RESPONSES: list[tuple[str, apigw.ResponseType, str | None, str]] = [
    ("Unauthorized", apigw.ResponseType.UNAUTHORIZED, "401", "Unauthorized"),
    ("AccessDenied", apigw.ResponseType.ACCESS_DENIED, "403", "Forbidden"),
    ("UnknownRoute", apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, "404", "Not Found"),
    ("Throttled", apigw.ResponseType.THROTTLED, "429", "Too Many Requests"),
    ("Default4xx", apigw.ResponseType.DEFAULT_4_XX, None, "Request rejected"),
    ("Default5xx", apigw.ResponseType.DEFAULT_5_XX, None, "Gateway error"),
]
"""Gateway-generated errors answered as RFC 9457 problem details, like the handlers' errors."""


def _problem_template(title: str, status: str | None) -> str:
    fields = [
        '"type":"about:blank"',
        f'"title":"{title}"',
        *([f'"status":{status}'] if status else []),
        '"detail":$context.error.messageString',
        '"code":"$context.error.responseType"',
    ]
    return "{" + ",".join(fields) + "}"


RATE_LIMITED_BODY = json.dumps(
    {
        "type": "about:blank",
        "title": "Too Many Requests",
        "status": 429,
        "detail": "Too many requests from this address in 5 minutes; retry later.",
        "code": "RATE_LIMITED",
    },
    separators=(",", ":"),
)
CHECKOUT_RATE_LIMITED_BODY = json.dumps(
    {
        "type": "about:blank",
        "title": "Too Many Requests",
        "status": 429,
        "detail": "Too many checkout attempts from this address in 5 minutes; retry later.",
        "code": "CHECKOUT_RATE_LIMITED",
    },
    separators=(",", ":"),
)
"""WAF block responses: RFC 9457 problem details. WAF sends them as `application/json` (a custom
response body's content type is TEXT_PLAIN, TEXT_HTML or APPLICATION_JSON, and its custom headers may
be anything but Content-Type), so unlike the gateway's own problems they are not problem+json."""
RATE_LIMITED_RETRY_AFTER = "60"
CHECKOUT_PATH = "/carts/{cartId}/checkout"


BODY_LIMIT_BYTES = 8 * 1024
"""Request bodies WAF lets through (AWSManagedRulesCommonRuleSet SizeRestrictions_BODY: 8 KB, fixed),
except on LARGE_BODY_ROUTES, where the functions' own 64 KiB limit applies."""
LARGE_BODY_ROUTES = (
    ("PUT", f"^(/{STAGE_NAME})?/(admin/products/[^/]+|me)/*$"),
    ("POST", f"^(/{STAGE_NAME})?/(orders/[^/]+/returns|admin/customers/[^/]+/interactions|webhooks/stripe)/*$"),
)
"""The routes whose valid bodies can pass 8 KB: a staff product upsert (a 5,000-character description
is up to 20 KB in UTF-8, plus ten image URLs), a customer's profile with ten addresses, a return of 50
lines with 500-character reasons, a staff interaction of 2,000 characters (8 KB in UTF-8), and Stripe's
webhook events, whose size is Stripe's. The stage prefix is optional: a custom domain's base path
mapping (and the local gateway) serve the routes without it."""
BODY_LABEL = "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body"
BODY_TOO_LARGE_BODY = json.dumps(
    {
        "type": "about:blank",
        "title": "Content Too Large",
        "status": 413,
        "detail": f"The request body exceeds {BODY_LIMIT_BYTES} bytes.",
        "code": "BODY_TOO_LARGE",
    },
    separators=(",", ":"),
)
NO_USER_AGENT_BODY = json.dumps(
    {
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
        "detail": "Requests must carry a User-Agent header.",
        "code": "USER_AGENT_REQUIRED",
    },
    separators=(",", ":"),
)


@dataclass(frozen=True)
class ManagedGroup:
    """An AWS managed rule group on the web ACL, with rules whose action we override."""

    name: str
    priority: int
    overrides: tuple[tuple[str, str], ...] = ()
    """(rule, "count" | a custom response body key for a Block with that response)."""


MANAGED_GROUPS = (
    # Amazon threat intelligence: addresses of malicious bots and of reconnaissance are blocked; cheap
    # (25 WCU), so first, before any inspection. Its DDoS list only labels (AWS's default): the
    # per-client rate limits already cap each address.
    ManagedGroup("AWSManagedRulesAmazonIpReputationList", 2),
    # Request patterns of known exploits (Log4j, Java deserialization, exploitable paths, PROPFIND,
    # Host: localhost); nothing in the API's contract looks like them.
    ManagedGroup("AWSManagedRulesKnownBadInputsRuleSet", 3),
    # OWASP-style core rules. SizeRestrictions_BODY counts only (it labels the request) and the rule
    # BodyTooLarge below blocks with the label, outside the routes whose contract allows larger
    # bodies; NoUserAgent_HEADER blocks with problem details instead of WAF's bare 403.
    ManagedGroup(
        "AWSManagedRulesCommonRuleSet",
        4,
        (("SizeRestrictions_BODY", "count"), ("NoUserAgent_HEADER", "NoUserAgent")),
    ),
)
"""Not added: AWSManagedRulesAnonymousIpList. Its AnonymousIPList blocks VPNs, Tor and relays such as
iCloud Private Relay, which real shoppers browse through, and its HostingProviderIPList blocks cloud and
hosting addresses, where carriers' tracking webhooks and server-side integrations come from."""
BODY_RULE_PRIORITY = 5

SHARED_LIBRARY_DIR = REPO_ROOT / "layers" / "shared" / "python"


def build_api_docs(*, catalog_currency: str) -> None:
    """Writes the ApiDocs function's static site (`openapi.json`, `docs.html`) into its package before
    the asset is staged: `python -m apidocs.build` in a subprocess, which imports every service's API;
    the deployed function only reads the files (and the CDK app imports no handler)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(FUNCTIONS_DIR), str(SHARED_LIBRARY_DIR)]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "CATALOG_CURRENCY": catalog_currency,
    }
    result = subprocess.run(
        [sys.executable, "-m", "apidocs.build"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"building the OpenAPI document failed ({result.returncode}):\n{result.stderr}")


class ApiStack(Stack):
    """The public HTTP API (REST, stage `v1`)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        user_pool: cognito.IUserPool,
        functions: Mapping[str, lambda_.IFunction],
        layer: lambda_.ILayerVersion,
        alarm_topic: sns.ITopic,
        routes: list[Route] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, description="shopstack: REST API", **kwargs)
        stage = settings.stage
        layer = references.layer(self, "SharedLayerRef", layer, stage=stage)
        user_pool = references.user_pool(self, "UserPoolRef", user_pool, stage=stage)
        functions = {name: references.function(self, name, fn, stage=stage) for name, fn in functions.items()}
        self.alarm_topic = references.topic(self, "AlarmTopicRef", alarm_topic)

        build_api_docs(catalog_currency=settings.catalog_currency)
        self.docs_function = ServiceFunction(
            self,
            "ApiDocs",
            service="apidocs",
            handler="apidocs.entrypoints.api.handler",
            description="shopstack: the OpenAPI document of every service, and Swagger UI",
            timeout=Duration.seconds(10),
            layers=[layer],
            log_retention=settings.log_retention,
            # the one currency prices are in: the document built above names it
            environment={"CATALOG_CURRENCY": settings.catalog_currency},
        ).function
        functions = {**functions, "ApiDocs": self.docs_function}

        self.access_logs = access_logs = logs.LogGroup(
            self, "AccessLogs", retention=settings.log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        cors_origin = settings.cors_allow_origins
        # Access and execution logs need the account's API Gateway CloudWatch role. With
        # apiGatewayAccountRole=create this stack sets it (AWS::ApiGateway::Account with
        # CloudWatchRoleArn, and its role, both retained: the setting is account-wide) and the Stage
        # depends on it; with `existing` the account must already have it (shopstack doctor checks).
        owns_account_role = settings.api_gateway_account_role == CREATE
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=names.resource_name(stage, "api"),
            description="shopstack HTTP API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=owns_account_role,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN if owns_account_role else None,
            deploy=True,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                # `*/*`: every method's default (cdk.json apiThrottlingRateLimit/BurstLimit, sized for a sale)
                throttling_rate_limit=settings.api_rate_limit,
                throttling_burst_limit=settings.api_burst_limit,
                # checkout calls Stripe: its own, lower limit (cdk.json checkoutThrottling*). Its detailed
                # metrics (per method: Latency, Count, 4XXError, 5XXError with Resource and Method) feed
                # the checkout p99 latency alarm; no other method has them, because detailed metrics are
                # billed as custom metrics (7 per method, about 80 methods). The API-wide metrics
                # (ApiName and Stage) are free and always on; the access log has every route's latency.
                method_options={
                    f"{CHECKOUT_PATH}/{CHECKOUT_METHOD}": apigw.MethodDeploymentOptions(
                        throttling_rate_limit=settings.checkout_throttle_rate_limit,
                        throttling_burst_limit=settings.checkout_throttle_burst_limit,
                        # a method's own settings replace the stage's for it: repeat logging
                        metrics_enabled=True,
                        logging_level=apigw.MethodLoggingLevel.ERROR,
                        data_trace_enabled=False,
                    )
                },
                tracing_enabled=True,
                metrics_enabled=False,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT)),
            ),
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=cors_origin,
                allow_methods=apigw.Cors.ALL_METHODS,
                allow_headers=ALLOWED_HEADERS,
                expose_headers=EXPOSED_HEADERS,
                max_age=None,
            ),
        )
        self._add_problem_responses(cors_origin)
        # The RestApi's AWS::ApiGateway::Account ("Account") and its role ("CloudWatchRole"), when created.
        self.gateway_account = self.rest_api.node.try_find_child("Account")
        self.gateway_account_role = self.rest_api.node.try_find_child("CloudWatchRole")
        self.execution_logs = self._execution_logs(settings)
        self.web_acl = self._web_acl(settings)

        self.authorizer = apigw.CognitoUserPoolsAuthorizer(
            self,
            "CognitoAuthorizer",
            cognito_user_pools=[user_pool],
            identity_source=apigw.IdentitySource.header("Authorization"),
        )
        self.methods: dict[Route, apigw.Method] = {}
        integrations: dict[str, apigw.LambdaIntegration] = {}
        for route in routes if routes is not None else ROUTES:
            if route.function not in integrations:
                integrations[route.function] = apigw.LambdaIntegration(
                    functions[route.function], proxy=True, allow_test_invoke=False
                )
            resource = self.rest_api.root.resource_for_path(route.path.lstrip("/"))
            if route.auth == "cognito":
                method = resource.add_method(
                    route.method,
                    integrations[route.function],
                    authorization_type=apigw.AuthorizationType.COGNITO,
                    authorizer=self.authorizer,
                )
            else:
                method = resource.add_method(
                    route.method,
                    integrations[route.function],
                    authorization_type=apigw.AuthorizationType.NONE,
                )
            self.methods[route] = method

        self._alarms(settings)
        # ShopstackWeb's distribution forwards /v1/* to this API's execute-api domain: the id it needs
        # is generated, so it is published here and read there at deploy time (no export).
        references.publish(
            self,
            "RestApiIdParameter",
            name=names.rest_api_id_parameter(stage),
            value=self.rest_api.rest_api_id,
            description="The REST API's id (its execute-api domain), read by ShopstackWeb",
        )
        CfnOutput(self, "ApiUrl", value=self.rest_api.url)

    def api_metric(self, metric_name: str, statistic: str, **dimensions: str) -> cloudwatch.Metric:
        """An AWS/ApiGateway metric of this API's stage (ApiName, Stage, and `dimensions`)."""
        return cloudwatch.Metric(
            namespace="AWS/ApiGateway",
            metric_name=metric_name,
            dimensions_map={"ApiName": self.rest_api.rest_api_name, "Stage": STAGE_NAME, **dimensions},
            statistic=statistic,
        )

    def _alarms(self, settings: Settings) -> None:
        """The API's 5xx rate, and the p99 latency of checkout (the one method with detailed metrics)."""
        self.server_error_alarm = stage_alarm(
            self,
            "Api5xxRateAlarm",
            settings=settings,
            topic=self.alarm_topic,
            name="api-5xx-rate",
            rule="api5xxRate",
            # 5XXError is 0 or 1 per request: its Average is the share of requests answered 5xx
            metric=self.api_metric("5XXError", cloudwatch.Stats.AVERAGE),
            comparison=GREATER,
            description=(
                "The share of API requests answered 5xx passed the cdk.json alarms.api5xxRate threshold. "
                "Find the route in the dashboard's access-log widgets (status >= 500 by resourcePath), then "
                "that function's logs and errors; a 502/504 is a function that failed or timed out, a 503 "
                "a dependency (Stripe, DynamoDB) refusing"
            ),
        )
        self.checkout_latency_alarm = stage_alarm(
            self,
            "CheckoutLatencyAlarm",
            settings=settings,
            topic=self.alarm_topic,
            name="checkout-p99-latency",
            rule="checkoutLatencyP99Ms",
            metric=self.api_metric("Latency", "p99", Resource=CHECKOUT_PATH, Method=CHECKOUT_METHOD),
            comparison=GREATER,
            description=(
                "The p99 latency of POST /carts/{cartId}/checkout passed the cdk.json "
                "alarms.checkoutLatencyP99Ms threshold (ms): shoppers wait at checkout and some give up. "
                "Check Stripe's status and the CheckoutApi traces in X-Ray (Stripe, DynamoDB conflicts on "
                "hot stock items, cold starts), and the CheckoutApi duration and throttles"
            ),
        )

    def _execution_logs(self, settings: Settings) -> logs.LogGroup:
        """The log group API Gateway writes the stage's execution logs (ERROR level) to, created here
        first so that it has a retention and goes with the stack."""
        log_group = logs.LogGroup(
            self,
            "ExecutionLogs",
            log_group_name=f"API-Gateway-Execution-Logs_{self.rest_api.rest_api_id}/{STAGE_NAME}",
            retention=settings.log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.rest_api.deployment_stage.node.add_dependency(log_group)
        return log_group

    def _web_acl(self, settings: Settings) -> wafv2.CfnWebACL:
        """A WAFv2 web ACL on the stage, per client IP (as API Gateway's sourceIp; a client-sent
        X-Forwarded-For is ignored): `apiRateLimitPerIp` requests of any kind (preflights included)
        per 5 minutes, and `checkoutRateLimitPerIp` checkouts (POST /carts/{cartId}/checkout) per 5
        minutes; over either, 429 problem details until the client's rate falls. The stage's
        throttling is the limit of all clients together, so one client can no longer spend it alone."""
        name = names.resource_name(settings.stage, "api")
        cors_origins = settings.cors_allow_origins

        def block(body_key: str, *, status: int = 429, retry_after: bool = True) -> wafv2.CfnWebACL.RuleActionProperty:
            headers = []
            if retry_after:
                headers.append(
                    wafv2.CfnWebACL.CustomHTTPHeaderProperty(name="Retry-After", value=RATE_LIMITED_RETRY_AFTER)
                )
            if len(cors_origins) == 1:  # WAF answers instead of API Gateway: a browser must still read the 429
                headers.append(
                    wafv2.CfnWebACL.CustomHTTPHeaderProperty(name="Access-Control-Allow-Origin", value=cors_origins[0])
                )
            return wafv2.CfnWebACL.RuleActionProperty(
                block=wafv2.CfnWebACL.BlockActionProperty(
                    custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                        response_code=status, custom_response_body_key=body_key, response_headers=headers or None
                    )
                )
            )

        checkout = checkout_requests()
        counted = settings.waf_count_rules

        def override(rule: str, action: str) -> wafv2.CfnWebACL.RuleActionOverrideProperty:
            if action == "count":
                to_use = wafv2.CfnWebACL.RuleActionProperty(count={})
            else:
                to_use = block(action, status=403, retry_after=False)
            return wafv2.CfnWebACL.RuleActionOverrideProperty(name=rule, action_to_use=to_use)

        def managed(group: ManagedGroup) -> wafv2.CfnWebACL.RuleProperty:
            actions = dict(group.overrides)
            # cdk.json wafCountRules: a rule that misfires on real traffic counts until it is fixed
            actions.update({rule: "count" for g, rule in counted if g == group.name})
            return wafv2.CfnWebACL.RuleProperty(
                name=f"AWS-{group.name}",
                priority=group.priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS",
                        name=group.name,
                        rule_action_overrides=[override(rule, action) for rule, action in actions.items()] or None,
                    )
                ),
                visibility_config=visibility(f"{name}-{group.name}"),
            )

        large_body_route = wafv2.CfnWebACL.StatementProperty(
            or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=[waf.route(*r) for r in LARGE_BODY_ROUTES])
        )
        # over 8 KB (labelled by the core rule set's SizeRestrictions_BODY) and not a large-body route
        body_too_large = wafv2.CfnWebACL.StatementProperty(
            and_statement=wafv2.CfnWebACL.AndStatementProperty(
                statements=[
                    wafv2.CfnWebACL.StatementProperty(
                        label_match_statement=wafv2.CfnWebACL.LabelMatchStatementProperty(scope="LABEL", key=BODY_LABEL)
                    ),
                    wafv2.CfnWebACL.StatementProperty(
                        not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=large_body_route)
                    ),
                ]
            )
        )
        web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=name,
            description="shopstack API: per-client rate limits and AWS managed rule groups",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility(name),
            custom_response_bodies={
                "RateLimited": wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON", content=RATE_LIMITED_BODY
                ),
                "CheckoutRateLimited": wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON", content=CHECKOUT_RATE_LIMITED_BODY
                ),
                "BodyTooLarge": wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON", content=BODY_TOO_LARGE_BODY
                ),
                "NoUserAgent": wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON", content=NO_USER_AGENT_BODY
                ),
            },
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="RateLimitPerClientIp",
                    priority=0,
                    action=block("RateLimited"),
                    statement=per_ip(settings.api_rate_limit_per_ip),
                    visibility_config=visibility(f"{name}-rate-limit-per-ip"),
                ),
                wafv2.CfnWebACL.RuleProperty(
                    name="CheckoutRateLimitPerClientIp",
                    priority=1,
                    action=block("CheckoutRateLimited"),
                    statement=per_ip(settings.checkout_rate_limit_per_ip, checkout),
                    visibility_config=visibility(f"{name}-checkout-rate-limit-per-ip"),
                ),
                *(managed(group) for group in MANAGED_GROUPS),
                wafv2.CfnWebACL.RuleProperty(
                    name="BodyTooLarge",
                    priority=BODY_RULE_PRIORITY,
                    action=block("BodyTooLarge", status=413, retry_after=False),
                    statement=body_too_large,
                    visibility_config=visibility(f"{name}-body-too-large"),
                ),
            ],
        )
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.rest_api.deployment_stage.stage_arn,
            web_acl_arn=web_acl.attr_arn,
        )
        return web_acl

    def _add_problem_responses(self, cors_origins: list[str]) -> None:
        for construct_id, response_type, status, title in PROBLEM_RESPONSES:
            headers = {"Content-Type": "'application/problem+json'"}
            if len(cors_origins) == 1:
                headers["Access-Control-Allow-Origin"] = f"'{cors_origins[0]}'"
            if response_type == apigw.ResponseType.THROTTLED:
                headers["Retry-After"] = "'1'"
            self.rest_api.add_gateway_response(
                construct_id,
                type=response_type,
                status_code=status,
                response_headers=headers,
                templates={"application/json": _problem_template(title, status)},
            )
