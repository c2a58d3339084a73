"""Physical names, all stage-prefixed so that two stages share an account without a shared name.

Both the owning stack and the stacks that use a resource compute its name from the stage, so no
CloudFormation export is needed to share it (an export in use can never change: see
docs/architecture.md, "References between stacks").
"""

from __future__ import annotations

PROJECT = "shopstack"


def stack_name(stage: str, service: str) -> str:
    """`shopstack-<stage>-<service>`, the CloudFormation stack name of one of the app's stacks."""
    return f"{PROJECT}-{stage}-{service}"


def resource_name(stage: str, name: str) -> str:
    """`shopstack-<stage>-<name>`: tables, state machines, the REST API, the web ACL."""
    return f"{PROJECT}-{stage}-{name}"


def secret_name(stage: str, name: str) -> str:
    """`shopstack/<stage>/<name>`, a Secrets Manager secret name."""
    return f"{PROJECT}/{stage}/{name}"


def parameter_name(stage: str, *path: str) -> str:
    """`/shopstack/<stage>/<path>`, an SSM parameter that publishes a value to other stacks."""
    return "/".join(["", PROJECT, stage, *path])


def function_arn_parameter(stage: str, function: str) -> str:
    """The SSM parameter holding the ARN of an API function, read by the Api stack."""
    return parameter_name(stage, "functions", function, "arn")


def layer_arn_parameter(stage: str) -> str:
    """The SSM parameter holding the current version ARN of the shared layer."""
    return parameter_name(stage, "layers", "shared", "arn")


def user_pool_id_parameter(stage: str) -> str:
    return parameter_name(stage, "cognito", "user-pool-id")


def user_pool_client_id_parameter(stage: str) -> str:
    return parameter_name(stage, "cognito", "user-pool-client-id")


def rest_api_id_parameter(stage: str) -> str:
    """The SSM parameter holding the REST API's id (ShopstackApi), read by ShopstackWeb for its origin."""
    return parameter_name(stage, "api", "rest-api-id")


def alarm_topic_name(stage: str) -> str:
    """`shopstack-<stage>-alarms`, the SNS topic every alarm of the stage notifies (ShopstackShared)."""
    return resource_name(stage, "alarms")


def dashboard_name(stage: str) -> str:
    """`shopstack-<stage>`, the stage's CloudWatch dashboard."""
    return f"{PROJECT}-{stage}"
