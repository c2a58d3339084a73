"""ShopstackApi: the REST API, its Cognito authorizer and every route of `infra.routes`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.components.service_function import ServiceFunction
from infra.routes import ROUTES, Route
from infra.settings import Settings

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


DOCUMENTED_SERVICES = ("inventory", "checkout", "orders", "customers")
"""Services whose handlers the ApiDocs function imports to build the OpenAPI document."""


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
        routes: list[Route] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, description="shopstack: REST API", **kwargs)

        self.docs_function = ServiceFunction(
            self,
            "ApiDocs",
            service="apidocs",
            packages=DOCUMENTED_SERVICES,
            handler="apidocs.entrypoints.api.handler",
            description="shopstack: the OpenAPI document of every service, and Swagger UI",
            timeout=Duration.seconds(10),
            layers=[layer],
            log_retention=settings.log_retention,
            environment={},
        ).function
        functions = {**functions, "ApiDocs": self.docs_function}

        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=settings.log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        cors_origin = settings.cors_allow_origins
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"shopstack-{settings.stage}",
            description="shopstack HTTP API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=False,
            deploy=True,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                throttling_rate_limit=settings.api_rate_limit,
                throttling_burst_limit=settings.api_burst_limit,
                tracing_enabled=True,
                metrics_enabled=True,
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

        CfnOutput(self, "ApiUrl", value=self.rest_api.url)

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
