"""Accepted cdk-nag AwsSolutions findings, each recorded on the construct it concerns with its reason."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct

if TYPE_CHECKING:
    from infra.stacks import AnalyticsStack, ApiStack, InventoryStack, OrdersStack, SharedStack

PACK = "AwsSolutions"

XRAY_WILDCARD = (
    "X-Ray has no resource-level permissions: xray:PutTraceSegments and xray:PutTelemetryRecords "
    "(added by active tracing) only accept Resource '*'."
)
TABLE_INDEXES = (
    "The wildcard is limited to the indexes of this function's own table (Products/index/*), "
    "needed to query the byCategory GSI."
)
WORKFLOW_WILDCARD = (
    "Added by Step Functions logging and tracing: the CloudWatch Logs delivery actions "
    "(logs:CreateLogDelivery, PutResourcePolicy, ...) and X-Ray actions do not support "
    "resource-level permissions, so AWS requires Resource '*'."
)
WORKFLOW_INVOKE = (
    "The wildcard only covers versions and aliases of OrderTasks (<arn>:*), the one function "
    "the workflow's Lambda tasks invoke."
)
PUBLIC_ROUTE = (
    "Public by contract (API.md): health, the OpenAPI document and the product catalog are read "
    "anonymously by the storefront; every /admin route uses the Cognito authorizer."
)
PUBLIC_ROUTE_COGNITO = (
    "Anonymous catalog route by contract (API.md), so no Cognito authorizer; /admin routes use it."
)
REQUEST_VALIDATION = (
    "Requests are validated in the handlers (Powertools + pydantic) so that every rejection is an "
    "RFC 9457 problem+json 400/422 with a field list; an API Gateway validator would duplicate the "
    "schema and answer in another format."
)
EXECUTION_LOGS = (
    "Execution logging needs the account-wide API Gateway CloudWatch role (AWS::ApiGateway::Account), "
    "a per-account singleton this app must not own; the stage has JSON access logs, X-Ray tracing "
    "and detailed metrics instead."
)
NO_WAF = (
    "No WAF web ACL yet: the API is protected by stage throttling (rate and burst limits), the "
    "Cognito authorizer on /admin routes and handler-side validation; a WAFv2 web ACL (billed per "
    "ACL and request) is associated per environment by the account's edge configuration."
)
MFA_OPTIONAL = (
    "Shoppers sign up themselves and must be able to check out without a second factor, so MFA is "
    "optional (TOTP offered); staff in the admin group are required by the runbook to enable TOTP."
)
NO_PLUS_TIER = (
    "Threat protection (Plus feature plan) is billed per monthly active user; the pool enforces a "
    "12-character complex password policy, prevents user-existence errors and offers TOTP MFA."
)


def _ack(scope: IConstruct, rules: Mapping[str, str]) -> None:
    cdk.Validations.of(scope).acknowledge(
        *(cdk.Acknowledgment(id=f"{PACK}::{PACK}-{rule}", reason=reason) for rule, reason in rules.items())
    )


def _logical_id(construct: IConstruct) -> str:
    """The CloudFormation logical id of an L2 construct's resource, as cdk-nag names it."""
    resource = construct.node.default_child
    assert isinstance(resource, cdk.CfnElement)
    stack = cdk.Stack.of(construct)
    return str(stack.resolve(stack.get_logical_id(resource)))


def _role(function: lambda_.IFunction) -> IConstruct:
    role = function.role
    assert role is not None, "every function has an execution role"
    return role


def acknowledge_findings(
    *,
    shared: SharedStack,
    inventory: InventoryStack,
    orders: OrdersStack,
    analytics: AnalyticsStack,
    api: ApiStack,
) -> None:
    """Acknowledge the accepted findings on the narrowest construct that owns them."""
    _ack(shared.user_pool, {"COG2": MFA_OPTIONAL, "COG8": NO_PLUS_TIER})

    products = _logical_id(inventory.products_table)
    _ack(
        _role(inventory.api_function),
        {"IAM5[Resource::*]": XRAY_WILDCARD, f"IAM5[Resource::<{products}.Arn>/index/*]": TABLE_INDEXES},
    )
    _ack(_role(orders.tasks_function), {"IAM5[Resource::*]": XRAY_WILDCARD})
    _ack(_role(analytics.consumer), {"IAM5[Resource::*]": XRAY_WILDCARD})
    tasks = _logical_id(orders.tasks_function)
    _ack(
        orders.workflow.role,
        {"IAM5[Resource::*]": WORKFLOW_WILDCARD, f"IAM5[Resource::<{tasks}.Arn>:*]": WORKFLOW_INVOKE},
    )

    _ack(api.rest_api, {"APIG2": REQUEST_VALIDATION})
    _ack(api.rest_api.deployment_stage, {"APIG3": NO_WAF, "APIG6": EXECUTION_LOGS})
    for route, method in api.methods.items():
        if route.auth == "none":
            _ack(method, {"APIG4": PUBLIC_ROUTE, "COG4": PUBLIC_ROUTE_COGNITO})
