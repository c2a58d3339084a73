"""Accepted cdk-nag AwsSolutions findings, each recorded on the construct it concerns with its reason."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct

if TYPE_CHECKING:
    from infra.stacks import (
        AnalyticsStack,
        ApiStack,
        CheckoutStack,
        CustomersStack,
        IntegrationsStack,
        InventoryStack,
        OrdersStack,
        SharedStack,
        WebStack,
    )

PACK = "AwsSolutions"

XRAY_WILDCARD = (
    "X-Ray has no resource-level permissions: xray:PutTraceSegments and xray:PutTelemetryRecords "
    "(added by active tracing) only accept Resource '*'."
)
WORKFLOW_WILDCARD = (
    "Added by Step Functions logging and tracing: the CloudWatch Logs delivery actions "
    "(logs:CreateLogDelivery, PutResourcePolicy, ...) and X-Ray actions do not support "
    "resource-level permissions, so AWS requires Resource '*'."
)
PUBLISHER_WILDCARD = (
    "Resource '*' holds only actions without resource-level permissions: xray:PutTraceSegments and "
    "xray:PutTelemetryRecords (active tracing) and dynamodb:ListStreams (the stream event source); "
    "stream records are read from the Orders table's own stream ARN only."
)
ORDER_EVENTS_DLQ = (
    "This queue is itself a dead-letter queue: the on-failure destination of the Orders table "
    "stream's event source mapping, which sends it the records of batches that still fail after "
    "bisecting and 5 retries; operators inspect and replay it by hand."
)
CARRIER_ROTATION = (
    "The carriers sign tracking webhooks with this shared HMAC key, so a new key must be handed to "
    "each carrier and put in this secret in a coordinated change, which a rotation Lambda cannot do; "
    "the runbook rotates it by hand."
)
STRIPE_ROTATION = (
    "The secret holds Stripe's API key and webhook signing secret, which are issued and rolled in "
    "the Stripe dashboard (with an overlap period), not by a rotation Lambda; ops put the new "
    "values in this secret when they roll them."
)
PUBLIC_ROUTE = (
    "Public by contract (API.md): health, the OpenAPI document and the product catalog are read "
    "anonymously by the storefront; every /admin route uses the Cognito authorizer."
)
PUBLIC_ROUTE_COGNITO = "Anonymous catalog route by contract (API.md), so no Cognito authorizer; /admin routes use it."
CART_ROUTE = (
    "Guest checkout by contract (API.md): carts are created and bought without an account. The "
    "handler verifies an optional Cognito ID token itself and requires the cart's capability "
    "token (X-Cart-Token) or ownership by the signed-in customer for every /carts/{cartId} route."
)
CART_ROUTE_COGNITO = (
    "Sign-in is optional on cart routes (guest checkout), which a Cognito authorizer cannot "
    "express; the handler verifies the ID token against the user pool when one is sent."
)
STRIPE_WEBHOOK = (
    "Called by Stripe, which cannot present a Cognito token; the handler verifies the "
    "Stripe-Signature HMAC over the raw body with the webhook secret and a 300-second tolerance."
)
STRIPE_WEBHOOK_COGNITO = (
    "Stripe's webhook delivery cannot sign in to Cognito; requests are authenticated by the "
    "Stripe-Signature header, checked by the handler before any effect."
)
ORDER_ROUTE = (
    "Guest orders by contract (API.md): an order bought without an account is read, cancelled and "
    "tracked with its capability token (X-Order-Token); the handler verifies an optional Cognito ID "
    "token itself and answers only the order's owner or token holder (GET /orders needs a sign-in)."
)
ORDER_ROUTE_COGNITO = (
    "Sign-in is optional on order routes (guests hold X-Order-Token), which a Cognito authorizer "
    "cannot express; the handler verifies the ID token against the user pool when one is sent."
)
CARRIER_WEBHOOK = (
    "Called by carriers, which cannot present a Cognito token; the handler verifies the "
    "X-Carrier-Signature HMAC over the timestamp and raw body with the carrier secret before any effect."
)
CARRIER_WEBHOOK_COGNITO = (
    "Carrier tracking webhooks cannot sign in to Cognito; requests are authenticated by the "
    "X-Carrier-Signature header, checked by the handler before any effect."
)
ME_ROUTE = (
    "Every /me route is for a signed-in customer: the handler verifies the ID token against the user "
    "pool itself and reads or changes only the records keyed by the token's sub."
)
ME_ROUTE_COGNITO = (
    "The CustomersApi handler verifies the ID token (issuer, audience, token_use=id, expiry) against "
    "the user pool's keys before it reads or changes anything, as on the cart and order routes."
)
PUBLIC_ROUTE_REASONS: dict[str, tuple[str, str]] = {
    "/me": (ME_ROUTE, ME_ROUTE_COGNITO),
    "/carts": (CART_ROUTE, CART_ROUTE_COGNITO),
    "/webhooks/stripe": (STRIPE_WEBHOOK, STRIPE_WEBHOOK_COGNITO),
    "/orders": (ORDER_ROUTE, ORDER_ROUTE_COGNITO),
    "/webhooks/carrier": (CARRIER_WEBHOOK, CARRIER_WEBHOOK_COGNITO),
}
"""APIG4 and COG4 reasons of the public routes outside the catalog, by path prefix."""
REQUEST_VALIDATION = (
    "Requests are validated in the handlers (Powertools + pydantic) so that every rejection is an "
    "RFC 9457 problem+json 400/422 with a field list; an API Gateway validator would duplicate the "
    "schema and answer in another format."
)
GATEWAY_ACCOUNT_POLICY = "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
GATEWAY_ACCOUNT_ROLE = (
    "This is the account-wide role API Gateway assumes to write access and execution logs "
    "(AWS::ApiGateway::Account CloudWatchRoleArn); AmazonAPIGatewayPushToCloudWatchLogs is the "
    "AWS managed policy API Gateway documents for it, kept current by AWS, and the role trusts "
    "apigateway.amazonaws.com only."
)
MFA_OPTIONAL = (
    "Shoppers sign up themselves and must be able to check out without a second factor, and Cognito "
    "sets MFA for the whole pool, not per group, so MFA is optional; TOTP is offered to every user, "
    "staff included, but nothing enforces it for the admin group."
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


def _workflow_invoke(function_name: str) -> str:
    return (
        f"The wildcard only covers versions and aliases of {function_name} (<arn>:*), the one "
        "function the workflow's Lambda tasks invoke."
    )


def render_reference(node: Any) -> str:
    """A resolved CloudFormation value as cdk-nag prints it in finding ids (its flattenCfnReference):
    `{"Ref": X}` as `<X>`, `{"Fn::GetAtt": [X, A]}` as `<X.A>`, Fn::Join joined, `${X}` as `<X>`."""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict) and "Fn::Join" in node:
        delimiter, items = node["Fn::Join"]
        return str(delimiter).join(render_reference(item) for item in items)
    if isinstance(node, dict) and "Fn::Sub" in node:
        return render_reference(node["Fn::Sub"])
    if isinstance(node, dict) and "Fn::GetAtt" in node:
        resource, attribute = node["Fn::GetAtt"]
        return f"<{render_reference(resource)}.{render_reference(attribute)}>"
    if isinstance(node, dict) and "Ref" in node:
        return f"<{render_reference(node['Ref'])}>"
    raise ValueError(f"no cdk-nag rendering for {node!r}")


def _referenced(stack: cdk.Stack, value: str) -> str:
    """A resource reference (an ARN built from another stack's resource name) as cdk-nag prints it
    in the findings of `stack`."""
    return render_reference(stack.resolve(value))


def _public_route_reasons(path: str) -> tuple[str, str]:
    for prefix, reasons in PUBLIC_ROUTE_REASONS.items():
        if path == prefix or path.startswith(prefix + "/"):
            return reasons
    return PUBLIC_ROUTE, PUBLIC_ROUTE_COGNITO


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
    checkout: CheckoutStack,
    customers: CustomersStack,
    integrations: IntegrationsStack,
    api: ApiStack,
    web: WebStack | None = None,
) -> None:
    """Acknowledge the accepted findings on the narrowest construct that owns them."""
    _ack(shared.user_pool, {"COG2": MFA_OPTIONAL, "COG8": NO_PLUS_TIER})

    for function in (
        inventory.api_function,
        orders.tasks_function,
        orders.api_function,
        orders.reconciler_function,
        orders.fulfilment_consumer,
        orders.notifications_function,
        analytics.consumer,
        analytics.sweep_function,
        analytics.api_function,
        checkout.api_function,
        checkout.tasks_function,
        customers.api_function,
        integrations.fanout_function,
        integrations.delivery_function,
        integrations.api_function,
        api.docs_function,
    ):
        _ack(_role(function), {"IAM5[Resource::*]": XRAY_WILDCARD})
    _ack(_role(orders.events_publisher), {"IAM5[Resource::*]": PUBLISHER_WILDCARD})
    _ack(orders.order_events_dlq, {"SQS3": ORDER_EVENTS_DLQ})
    _ack(orders.carrier_secret, {"SMG4": CARRIER_ROTATION})
    tasks = _logical_id(orders.tasks_function)
    _ack(
        orders.workflow.role,
        {
            "IAM5[Resource::*]": WORKFLOW_WILDCARD,
            f"IAM5[Resource::<{tasks}.Arn>:*]": _workflow_invoke("OrderTasks"),
        },
    )

    _ack(shared.stripe_secret, {"SMG4": STRIPE_ROTATION})

    _ack(api.rest_api, {"APIG2": REQUEST_VALIDATION})
    if api.gateway_account_role is not None:
        _ack(
            api.gateway_account_role,
            {f"IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{GATEWAY_ACCOUNT_POLICY}]": GATEWAY_ACCOUNT_ROLE},
        )
    for route, method in api.methods.items():
        if route.auth == "none":
            apig4, cog4 = _public_route_reasons(route.path)
            _ack(method, {"APIG4": apig4, "COG4": cog4})

    if web is not None:
        acknowledge_web(web)


WEB_DEPLOYMENT_LOGS = (
    "The pages deployment's function (aws-s3-deployment's BucketDeployment custom resource) writes its "
    "logs through the AWS managed AWSLambdaBasicExecutionRole (CreateLogGroup, CreateLogStream, "
    "PutLogEvents only); it runs only while CloudFormation deploys the Web stack."
)
WEB_DEPLOYMENT_SOURCES = (
    "aws-s3-deployment grants its function read (s3:GetBucket*, GetObject*, List*) on the CDK bootstrap "
    "assets bucket of this account and region, where the CLI uploads the pages and config.json zips; "
    "the function reads only the object keys the custom resource names."
)
WEB_DEPLOYMENT_PAGES = (
    "The deployment syncs the built pages into this stack's own pages bucket (aws s3 sync --delete: put, "
    "overwrite, prune and abort uploads), so it needs object writes and deletes on PagesBucket/* and "
    "nothing outside that bucket."
)
WEB_DEPLOYMENT_RUNTIME = (
    "The BucketDeployment handler's runtime is fixed by aws-cdk-lib (it ships the AWS CLI layer built for "
    "it; the construct has no runtime property); it is updated with aws-cdk-lib and runs only at deploy."
)
WEB_NO_GEO_RESTRICTION = (
    "The storefront is public to shoppers in every country by design; where the shop ships and at what "
    "price is decided by checkout per destination country (cdk.json pricingRules), not by who may browse."
)
WEB_DEFAULT_CERTIFICATE = (
    "Until a custom domain is configured the distribution serves the default *.cloudfront.net "
    "certificate, whose security policy CloudFront fixes (TLSv1) and a template cannot raise; "
    "docs/deploy.md's custom domain setup adds an ACM certificate with TLSv1.2_2021."
)


def acknowledge_web(web: WebStack) -> None:
    """The Web stack's accepted findings: the BucketDeployment custom resource's function and role
    (written by aws-s3-deployment), no geo restriction, the default CloudFront certificate."""
    _ack(web.distribution, {"CFR1": WEB_NO_GEO_RESTRICTION, "CFR4": WEB_DEFAULT_CERTIFICATE})
    function = web.deployment_function
    _ack(function, {"L1": WEB_DEPLOYMENT_RUNTIME})
    assets = "arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*"
    pages = _logical_id(web.bucket)
    _ack(
        _role(function),
        {
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]": (
                WEB_DEPLOYMENT_LOGS
            ),
            "IAM5[Action::s3:GetBucket*]": WEB_DEPLOYMENT_SOURCES,
            "IAM5[Action::s3:GetObject*]": WEB_DEPLOYMENT_SOURCES,
            "IAM5[Action::s3:List*]": WEB_DEPLOYMENT_SOURCES,
            f"IAM5[Resource::{assets}]": WEB_DEPLOYMENT_SOURCES,
            "IAM5[Action::s3:Abort*]": WEB_DEPLOYMENT_PAGES,
            "IAM5[Action::s3:DeleteObject*]": WEB_DEPLOYMENT_PAGES,
            f"IAM5[Resource::<{pages}.Arn>/*]": WEB_DEPLOYMENT_PAGES,
        },
    )
