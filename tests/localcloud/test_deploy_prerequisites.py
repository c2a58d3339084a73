"""Deploying into the local cloud checks what AWS checks before a stack can create: an API Gateway
stage with access logs needs the account's CloudWatch Logs role (hook cfn_create_failed and the
AWS::ApiGateway::Account model)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shopstack.localcloud.deploy import Deployer, DeployError
from shopstack.localcloud.server import ACCOUNT_ID, REGION
from shopstack.localcloud.up import LocalCloud

Aws = Callable[[str], Any]
LOGS_ROLE_MESSAGE = "CloudWatch Logs role ARN must be set in account settings to enable logging"


def api_template(*, access_logs: bool, account: bool) -> dict[str, Any]:
    stage: dict[str, Any] = {
        "Type": "AWS::ApiGateway::Stage",
        "Properties": {"RestApiId": {"Ref": "Api"}, "DeploymentId": {"Ref": "Deployment"}, "StageName": "prod"},
    }
    if access_logs:
        stage["Properties"]["AccessLogSetting"] = {
            "DestinationArn": {"Fn::GetAtt": ["AccessLogs", "Arn"]},
            "Format": '{"requestId":"$context.requestId"}',
        }
    resources: dict[str, Any] = {
        "AccessLogs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": f"access-{uuid.uuid4().hex}"}},
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "prereq"}},
        "Root": {
            "Type": "AWS::ApiGateway::Method",
            "Properties": {
                "RestApiId": {"Ref": "Api"},
                "ResourceId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                "HttpMethod": "GET",
                "AuthorizationType": "NONE",
                "Integration": {"Type": "MOCK", "RequestTemplates": {"application/json": '{"statusCode": 200}'}},
            },
        },
        "Deployment": {
            "Type": "AWS::ApiGateway::Deployment",
            "Properties": {"RestApiId": {"Ref": "Api"}},
            "DependsOn": ["Root"],
        },
        "Stage": stage,
    }
    if account:
        resources["CloudWatchRole"] = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "apigateway.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "ManagedPolicyArns": ["arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"],
            },
        }
        resources["Account"] = {
            "Type": "AWS::ApiGateway::Account",
            "Properties": {"CloudWatchRoleArn": {"Fn::GetAtt": ["CloudWatchRole", "Arn"]}},
            "DependsOn": ["Api"],
        }
        stage["DependsOn"] = ["Account"]
    return {"Resources": resources}


@pytest.fixture
def deployer(cloud: LocalCloud, aws: Aws) -> Iterator[Deployer]:
    """A deployer into a region whose API Gateway settings have no CloudWatch role yet (the fixture
    assembly sets one: it is put back after the test)."""
    apigateway = aws("apigateway")
    before = apigateway.get_account().get("cloudwatchRoleArn", "")
    _set_role(apigateway, "")
    yield Deployer(cloud.moto_url, REGION, ACCOUNT_ID)
    _set_role(apigateway, before)


def _set_role(apigateway: Any, arn: str) -> None:
    apigateway.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": arn}])


def test_a_stage_with_access_logs_and_no_account_role_fails_to_create(deployer: Deployer, aws: Aws) -> None:
    assert not aws("apigateway").get_account().get("cloudwatchRoleArn")
    name = f"NoRole{uuid.uuid4().hex[:6]}"
    with pytest.raises(DeployError) as failed:
        deployer.create_stack(name, api_template(access_logs=True, account=False))
    assert "ROLLBACK_COMPLETE" in str(failed.value)
    assert f"Stage: {LOGS_ROLE_MESSAGE}" in str(failed.value)
    events = aws("cloudformation").describe_stack_events(StackName=name)["StackEvents"]
    failed_stage = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert [e["LogicalResourceId"] for e in failed_stage] == ["Stage"]
    assert aws("cloudformation").describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"


def test_a_stage_without_access_logs_needs_no_role(deployer: Deployer) -> None:
    deployer.create_stack(f"NoLogs{uuid.uuid4().hex[:6]}", api_template(access_logs=False, account=False))


def test_the_account_resource_sets_the_role_so_the_stage_creates(deployer: Deployer, aws: Aws) -> None:
    deployer.create_stack(f"WithRole{uuid.uuid4().hex[:6]}", api_template(access_logs=True, account=True))
    role = aws("apigateway").get_account()["cloudwatchRoleArn"]
    assert role.startswith(f"arn:aws:iam::{ACCOUNT_ID}:role/")
    # Account settings outlive the stack that set them: a later stack's stage finds the role.
    deployer.create_stack(f"Later{uuid.uuid4().hex[:6]}", api_template(access_logs=True, account=False))


# --- cfn_lambda_layers: a function keeps its layers; an unknown layer fails the stack -------------


def layer_template(layers: list[Any]) -> dict[str, Any]:
    code = {"S3Bucket": "prereq-assets", "S3Key": "code.zip"}
    return {
        "Resources": {
            "Layer": {"Type": "AWS::Lambda::LayerVersion", "Properties": {"Content": code}},
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                },
            },
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Code": code,
                    "Handler": "index.handler",
                    "Runtime": "python3.12",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Layers": layers,
                },
            },
        },
        "Outputs": {"Fn": {"Value": {"Ref": "Fn"}}, "Layer": {"Value": {"Ref": "Layer"}}},
    }


@pytest.fixture
def assets(aws: Aws) -> None:
    from shopstack.localcloud.deploy import stub_zip

    s3 = aws("s3")
    s3.create_bucket(Bucket="prereq-assets")
    s3.put_object(Bucket="prereq-assets", Key="code.zip", Body=stub_zip())


def test_a_function_keeps_the_layers_its_template_names(deployer: Deployer, aws: Aws, assets: None) -> None:
    outputs = deployer.create_stack(f"Layers{uuid.uuid4().hex[:6]}", layer_template([{"Ref": "Layer"}]))
    configuration = aws("lambda").get_function(FunctionName=outputs["Fn"])["Configuration"]
    assert [layer["Arn"] for layer in configuration["Layers"]] == [outputs["Layer"]]


def test_a_function_naming_an_unknown_layer_version_fails_to_create(deployer: Deployer, assets: None) -> None:
    missing = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:layer:nothing:9"
    with pytest.raises(DeployError) as failed:
        deployer.create_stack(f"NoLayer{uuid.uuid4().hex[:6]}", layer_template([missing]))
    assert "ROLLBACK_COMPLETE" in str(failed.value)
    assert "Fn: One or more LayerVersion does not exist" in str(failed.value)


def test_a_function_whose_code_is_not_uploaded_fails_to_create(deployer: Deployer, assets: None) -> None:
    template = layer_template([])
    template["Resources"]["Fn"]["Properties"]["Code"] = {"S3Bucket": "prereq-assets", "S3Key": "never-uploaded.zip"}
    with pytest.raises(DeployError) as failed:
        deployer.create_stack(f"NoCode{uuid.uuid4().hex[:6]}", template)
    assert "Fn: Error occurred while GetObject. S3 Error Code: NoSuchKey" in str(failed.value)
