"""References to resources another stack owns, made without CloudFormation exports.

An export that another stack imports can never change, so an exported value that changes with code
(a layer version ARN) or when a resource is replaced blocks the next deploy. Stacks therefore share
nothing through exports:

- named resources (tables, the event bus, secrets, state machines) carry a stage-prefixed physical
  name; the using stack imports them by that name (their ARN is built from the name);
- values CloudFormation generates (the layer version ARN, the Cognito pool and client ids, the API
  functions' ARNs) are published by the owning stack in an SSM parameter `/shopstack/<stage>/...`
  and read by the using stack as an `AWS::SSM::Parameter::Value<String>` parameter, resolved at
  every deploy. The using stack must be deployed after the owner: `compose` adds the dependency.

Each using stack replaces the constructs it receives by its own references, at the top of its
constructor, and grants are made on those references (a grant on the owner's construct would
reference its ARN and create an export).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack, Token
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct, IConstruct

from infra import names


def _same_stack(scope: IConstruct, construct: IConstruct) -> bool:
    return Stack.of(scope).node.path == Stack.of(construct).node.path


def physical_name(construct: IConstruct, attribute: str) -> str:
    """The literal physical name of an L2 construct's resource (`attribute` of its L1)."""
    resource = construct.node.default_child
    value = getattr(resource, attribute, None)
    if not isinstance(value, str) or Token.is_unresolved(value):
        raise ValueError(
            f"{construct.node.path} is used by another stack but has no literal {attribute}; "
            "give it a stage-prefixed name (infra.names) or publish it in an SSM parameter"
        )
    return value


def publish(scope: Construct, construct_id: str, *, name: str, value: str, description: str) -> ssm.StringParameter:
    """An SSM parameter holding `value` for the stacks that read it with `read`."""
    return ssm.StringParameter(scope, construct_id, parameter_name=name, string_value=value, description=description)


def read(scope: Construct, name: str) -> str:
    """The value of SSM parameter `name` at deploy time (a template parameter whose default is `name`)."""
    return ssm.StringParameter.value_for_string_parameter(scope, name)


def table(scope: Construct, construct_id: str, owned: dynamodb.ITable) -> dynamodb.ITable:
    """`owned` as seen from `scope`'s stack: by name, with index permissions if it has indexes."""
    if _same_stack(scope, owned):
        return owned
    resource = owned.node.default_child
    indexes: Any = Stack.of(owned).resolve(getattr(resource, "global_secondary_indexes", None))
    return dynamodb.Table.from_table_attributes(
        scope,
        construct_id,
        table_name=physical_name(owned, "table_name"),
        grant_index_permissions=bool(indexes),
    )


def event_bus(scope: Construct, construct_id: str, owned: events.IEventBus) -> events.IEventBus:
    if _same_stack(scope, owned):
        return owned
    return events.EventBus.from_event_bus_name(scope, construct_id, physical_name(owned, "name"))


def secret(scope: Construct, construct_id: str, owned: secretsmanager.ISecret) -> secretsmanager.ISecret:
    if _same_stack(scope, owned):
        return owned
    return secretsmanager.Secret.from_secret_name_v2(scope, construct_id, physical_name(owned, "name"))


def state_machine(scope: Construct, construct_id: str, owned: sfn.IStateMachine) -> sfn.IStateMachine:
    if _same_stack(scope, owned):
        return owned
    return sfn.StateMachine.from_state_machine_name(scope, construct_id, physical_name(owned, "state_machine_name"))


def topic(scope: Construct, construct_id: str, owned: sns.ITopic) -> sns.ITopic:
    """An SNS topic (the stage's alarm topic) by its name: its ARN built in `scope`'s stack."""
    if _same_stack(scope, owned):
        return owned
    arn = Stack.of(scope).format_arn(service="sns", resource=physical_name(owned, "topic_name"))
    return sns.Topic.from_topic_arn(scope, construct_id, arn)


def layer(scope: Construct, construct_id: str, owned: lambda_.ILayerVersion, *, stage: str) -> lambda_.ILayerVersion:
    """The shared layer's current version, read from the parameter the shared stack publishes."""
    if _same_stack(scope, owned):
        return owned
    return lambda_.LayerVersion.from_layer_version_arn(
        scope, construct_id, read(scope, names.layer_arn_parameter(stage))
    )


def user_pool(scope: Construct, construct_id: str, owned: cognito.IUserPool, *, stage: str) -> cognito.IUserPool:
    if _same_stack(scope, owned):
        return owned
    return cognito.UserPool.from_user_pool_id(scope, construct_id, read(scope, names.user_pool_id_parameter(stage)))


def user_pool_client_id(scope: Construct, owned: cognito.IUserPoolClient, *, stage: str) -> str:
    if _same_stack(scope, owned):
        return owned.user_pool_client_id
    return read(scope, names.user_pool_client_id_parameter(stage))


def publish_function_arn(scope: Construct, function: lambda_.IFunction, *, name: str, stage: str) -> None:
    """Publish an API function's ARN for the Api stack (`function_by_name` reads it)."""
    publish(
        scope,
        f"{name}ArnParameter",
        name=names.function_arn_parameter(stage, name),
        value=function.function_arn,
        description=f"ARN of the {name} function, read by the Api stack",
    )


def function(scope: Construct, name: str, owned: lambda_.IFunction, *, stage: str) -> lambda_.IFunction:
    """An API function owned by a service stack, by the ARN that stack publishes."""
    if _same_stack(scope, owned):
        return owned
    return lambda_.Function.from_function_attributes(
        scope,
        f"{name}Ref",
        function_arn=read(scope, names.function_arn_parameter(stage, name)),
        same_environment=True,
    )
