"""What AWS checks that the local cloud forgave: the first deploy in a fresh account, the second
deploy after a code change, and a second stage in the same account."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.app import STACK_IDS, build_app
from infra.settings import load_cdk_json_context
from tests.infra.conftest import Synthesized, load_json, render

STAGE = load_cdk_json_context()["stage"]
SSM_PARAMETER = "AWS::SSM::Parameter::Value<String>"
BOOTSTRAP_PARAMETER_PREFIX = "/cdk-bootstrap/"
SCOPED_NAMES = {
    ("AWS::ApiGateway::Stage", "StageName"): "a stage name is unique within its REST API",
    ("AWS::ApiGateway::Authorizer", "Name"): "an authorizer name is unique within its REST API",
    ("AWS::Cognito::UserPoolGroup", "GroupName"): "a group name is unique within its user pool",
    ("AWS::IAM::Policy", "PolicyName"): "an inline policy name is unique within its role",
    ("AWS::Events::Rule", "EventBusName"): "names the bus the rule is on, not a resource of its own",
    ("AWS::CloudWatch::Alarm", "MetricName"): "names the metric watched, not a resource of its own",
}
"""Top-level `*Name` properties that name nothing account-wide."""


def _manifest(outdir: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = load_json(outdir / "manifest.json")
    return manifest["artifacts"]


def _depends_on(artifacts: dict[str, Any], stack: str) -> set[str]:
    """Every stack `stack` is deployed after, directly or not."""
    found: set[str] = set()
    pending = [stack]
    while pending:
        for dependency in artifacts[pending.pop()].get("dependencies", []):
            if dependency in STACK_IDS and dependency not in found:
                found.add(dependency)
                pending.append(dependency)
    return found


def _outputs_exported(raw: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        f"{stack}.{key}": output["Export"]
        for stack, template in raw.items()
        for key, output in template.get("Outputs", {}).items()
        if "Export" in output
    }


def _contains(node: Any, key: str) -> bool:
    if isinstance(node, dict):
        return key in node or any(_contains(value, key) for value in node.values())
    if isinstance(node, list):
        return any(_contains(value, key) for value in node)
    return False


def _physical_names(raw: dict[str, dict[str, Any]]) -> set[tuple[str, str]]:
    """Every literal name a stage gives a resource, as (`Type.Property`, name)."""
    names: set[tuple[str, str]] = set()
    for template in raw.values():
        for resource in template["Resources"].values():
            kind = resource["Type"]
            for key, value in resource.get("Properties", {}).items():
                named = key.endswith("Name") or (kind, key) == ("AWS::SES::EmailIdentity", "EmailIdentity")
                if named and isinstance(value, str) and (kind, key) not in SCOPED_NAMES:
                    names.add((f"{kind}.{key}", value))
    return names


# --- 2: the second deploy after a change under layers/shared ----------------------------------------


def test_no_stack_exports_anything(synthesized: Synthesized) -> None:
    """CloudFormation refuses to change an export another stack imports, so the layer version ARN (new
    with every change under layers/shared), function and state machine ARNs and table names must not be
    exported. Nothing is: every export across all stacks is listed and the allowed set is empty."""
    assert _outputs_exported(synthesized.raw) == {}
    for stack, template in synthesized.raw.items():
        assert not _contains(template, "Fn::ImportValue"), stack


def test_the_layer_reaches_every_function_through_ssm(synthesized: Synthesized) -> None:
    parameter_name = f"/shopstack/{STAGE}/layers/shared/arn"
    (layer_id,) = synthesized.resources("ShopstackShared", "AWS::Lambda::LayerVersion")
    layer = synthesized.raw["ShopstackShared"]["Resources"][layer_id]
    assert layer["DeletionPolicy"] == layer["UpdateReplacePolicy"] == "Retain", "rollbacks keep their version"
    published = [
        (p["Properties"]["Type"], p["Properties"]["Value"])
        for p in synthesized.resources("ShopstackShared", "AWS::SSM::Parameter").values()
        if p["Properties"]["Name"] == parameter_name
    ]
    assert published == [("String", {"Ref": layer_id})]
    functions = 0
    for stack, template in synthesized.raw.items():
        if stack == "ShopstackWeb":  # only aws-cdk-lib's deployment functions, none of ours
            continue
        for function in synthesized.resources(stack, "AWS::Lambda::Function").values():
            (layer_ref,) = function["Properties"]["Layers"]
            parameter = template["Parameters"][layer_ref["Ref"]]
            assert (parameter["Type"], parameter["Default"]) == (SSM_PARAMETER, parameter_name), stack
            functions += 1
    assert functions >= 10


def test_every_ssm_parameter_read_is_published_by_a_stack_deployed_before(synthesized: Synthesized) -> None:
    """A template parameter read from SSM at deploy time resolves only if a stack deployed earlier
    wrote it (the local cloud passes no parameter values: the defaults must be right)."""
    artifacts = _manifest(synthesized.outdir)
    published = {
        p["Properties"]["Name"]: stack
        for stack in STACK_IDS
        for p in synthesized.resources(stack, "AWS::SSM::Parameter").values()
    }
    read = 0
    for stack, template in synthesized.raw.items():
        for key, parameter in template.get("Parameters", {}).items():
            if parameter["Type"] != SSM_PARAMETER or parameter["Default"].startswith(BOOTSTRAP_PARAMETER_PREFIX):
                continue
            owner = published.get(parameter["Default"])
            assert owner is not None, f"{stack}.{key} reads {parameter['Default']}, which no stack writes"
            assert owner in _depends_on(artifacts, stack), f"{stack} must deploy after {owner}"
            read += 1
    assert read >= 15
    assert all(name.startswith(f"/shopstack/{STAGE}/") for name in published)


def test_api_functions_are_integrated_by_their_published_arns(synthesized: Synthesized) -> None:
    template = synthesized.raw["ShopstackApi"]
    defaults = {
        parameter["Default"]
        for parameter in template["Parameters"].values()
        if parameter["Type"] == SSM_PARAMETER and "/functions/" in parameter["Default"]
    }
    assert defaults == {
        f"/shopstack/{STAGE}/functions/{name}/arn"
        for name in ("InventoryApi", "CheckoutApi", "OrdersApi", "CustomersApi", "AnalyticsApi", "IntegrationsApi")
    }


# --- 1: the first deploy in a fresh account --------------------------------------------------------


def test_the_stage_depends_on_the_account_cloudwatch_role(synthesized: Synthesized) -> None:
    """Access and execution logs need the account's API Gateway CloudWatch role: the Api stack sets
    it (apiGatewayAccountRole=create, cdk.json's default) before the Stage is created."""
    resources = synthesized.raw["ShopstackApi"]["Resources"]
    ((account_id, account),) = synthesized.resources("ShopstackApi", "AWS::ApiGateway::Account").items()
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    role = resources[role_id]
    assert account["DeletionPolicy"] == role["DeletionPolicy"] == "Retain", "account-wide: kept on teardown"
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "apigateway.amazonaws.com"
    }
    assert [render(arn) for arn in role["Properties"]["ManagedPolicyArns"]] == [
        "arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
    ]
    ((stage_id, stage),) = synthesized.resources("ShopstackApi", "AWS::ApiGateway::Stage").items()
    assert account_id in stage["DependsOn"]
    props = stage["Properties"]
    assert "DestinationArn" in props["AccessLogSetting"]
    (defaults,) = [s for s in props["MethodSettings"] if (s["ResourcePath"], s["HttpMethod"]) == ("/*", "*")]
    assert defaults["LoggingLevel"] == "ERROR" and defaults["DataTraceEnabled"] is False
    (execution_logs,) = [
        key
        for key, res in synthesized.resources("ShopstackApi", "AWS::Logs::LogGroup").items()
        if "API-Gateway-Execution-Logs_" in render(res["Properties"].get("LogGroupName", ""))
    ]
    assert execution_logs in stage["DependsOn"], "created with a retention before API Gateway creates it"
    assert stage_id


def test_with_an_existing_account_role_the_app_does_not_set_it() -> None:
    app = build_app(local=True, context={"apiGatewayAccountRole": "existing"})
    template = Template.from_stack(app.node.find_child("ShopstackApi"))  # type: ignore[arg-type]
    template.resource_count_is("AWS::ApiGateway::Account", 0)
    stage = next(iter(template.find_resources("AWS::ApiGateway::Stage").values()))
    assert not any("Account" in dependency for dependency in stage.get("DependsOn", []))
    assert "AccessLogSetting" in stage["Properties"]


def test_account_role_setting_is_validated() -> None:
    with pytest.raises(ValueError, match="apiGatewayAccountRole"):
        build_app(local=True, context={"apiGatewayAccountRole": "maybe"})


# --- nag acknowledgements that used to be untrue: APIG3 and APIG6 ------------------------------------


def test_a_web_acl_limits_each_client_ip(synthesized: Synthesized) -> None:
    ((acl_id, acl),) = synthesized.resources("ShopstackApi", "AWS::WAFv2::WebACL").items()
    props = acl["Properties"]
    assert props["Scope"] == "REGIONAL" and props["DefaultAction"] == {"Allow": {}}
    rule = next(r for r in props["Rules"] if r["Name"] == "RateLimitPerClientIp")
    statement = rule["Statement"]["RateBasedStatement"]
    assert statement["AggregateKeyType"] == "IP"
    assert statement["Limit"] == load_cdk_json_context()["apiRateLimitPerIp"]
    assert rule["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429
    ((_, association),) = synthesized.resources("ShopstackApi", "AWS::WAFv2::WebACLAssociation").items()
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    (stage_id,) = synthesized.resources("ShopstackApi", "AWS::ApiGateway::Stage")
    assert f"<{stage_id}>" in render(association["Properties"]["ResourceArn"])


def test_no_acknowledgement_for_a_waf_or_execution_logs(synthesized: Synthesized) -> None:
    import aws_cdk as cdk

    acknowledged = {
        rule
        for construct in synthesized.app.node.find_all()
        for entry in construct.node.metadata
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule in entry.data
    }
    assert not {rule for rule in acknowledged if rule.endswith(("-APIG3", "-APIG6"))}


# --- 6: a second stage in the same account ----------------------------------------------------------


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, dict[str, Any]]]]:
    outdir = tmp_path_factory.mktemp("cdk.out.prod")
    assembly = build_app(outdir=str(outdir), local=True, context={"stage": "prod"}).synth()
    yield outdir, {stack: assembly.get_stack_artifact(stack).template for stack in STACK_IDS}


def test_two_stages_share_no_stack_name(synthesized: Synthesized, prod: tuple[Path, dict[str, Any]]) -> None:
    prod_outdir, _ = prod

    def stack_names(outdir: Path) -> set[str]:
        artifacts = _manifest(outdir)
        return {artifacts[stack]["properties"]["stackName"] for stack in STACK_IDS}

    dev_names, prod_names = stack_names(synthesized.outdir), stack_names(prod_outdir)
    assert dev_names == {
        f"shopstack-{STAGE}-{s}"
        for s in ("shared", "inventory", "orders", "analytics", "checkout", "customers", "integrations", "api", "web")
    }
    assert len(prod_names) == len(STACK_IDS) and not dev_names & prod_names


def test_two_stages_share_no_physical_name(synthesized: Synthesized, prod: tuple[Path, dict[str, Any]]) -> None:
    """Every literal name (tables, bus, secrets, state machines, log groups, SSM parameters, the API,
    the web ACL, the SES identity) differs between dev and prod, so both deploy into one account."""
    _, prod_raw = prod
    dev_names, prod_names = _physical_names(synthesized.raw), _physical_names(prod_raw)
    kinds = {kind for kind, _ in dev_names}
    for kind in (
        "AWS::DynamoDB::Table.TableName",
        "AWS::Events::EventBus.Name",
        "AWS::SecretsManager::Secret.Name",
        "AWS::StepFunctions::StateMachine.StateMachineName",
        "AWS::Logs::LogGroup.LogGroupName",
        "AWS::SSM::Parameter.Name",
        "AWS::ApiGateway::RestApi.Name",
        "AWS::WAFv2::WebACL.Name",
        "AWS::SES::EmailIdentity.EmailIdentity",
    ):
        assert kind in kinds, kind
    shared = {name for _, name in dev_names} & {name for _, name in prod_names}
    assert shared == set()
    assert _outputs_exported(prod_raw) == {}


def test_the_sender_identity_is_owned_by_one_stage() -> None:
    """An SES identity exists once per address in an account and region: a stage that does not own
    the address sends from it without creating it."""
    app = build_app(local=True, context={"stage": "qa", "mailIdentity": "existing"})
    template = Template.from_stack(app.node.find_child("ShopstackOrders"))  # type: ignore[arg-type]
    template.resource_count_is("AWS::SES::EmailIdentity", 0)
    granted = [
        render(resource)
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "ses:SendEmail" in statement["Action"]
        for resource in (statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]])
    ]
    assert granted == ["arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/orders@shopstack.example"]


def test_settings_by_stage() -> None:
    from aws_cdk import App

    from infra.settings import Settings

    per_stage = {"mailFrom": {"default": "a@shop.example", "prod": "b@shop.example"}}
    assert Settings.from_node(App(context={**per_stage, "stage": "dev"}).node).mail_from == "a@shop.example"
    assert Settings.from_node(App(context={**per_stage, "stage": "prod"}).node).mail_from == "b@shop.example"
    role = {"apiGatewayAccountRole": {"default": "create", "prod": "existing"}}
    assert Settings.from_node(App(context={**role, "stage": "prod"}).node).api_gateway_account_role == "existing"
    with pytest.raises(ValueError, match="mailFrom"):
        Settings.from_node(App(context={"mailFrom": {"prod": "b@shop.example"}, "stage": "dev"}).node)
    with pytest.raises(ValueError, match="apiRateLimitPerIp"):
        Settings.from_node(App(context={"apiRateLimitPerIp": 5}).node)


def test_environment_comes_from_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    from infra.app import environment

    monkeypatch.delenv("CDK_DEFAULT_ACCOUNT", raising=False)
    monkeypatch.delenv("CDK_DEFAULT_REGION", raising=False)
    assert environment() is None, "offline synth: environment-agnostic"
    monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", "111122223333")
    monkeypatch.setenv("CDK_DEFAULT_REGION", "eu-west-1")
    env = environment()
    assert env is not None and (env.account, env.region) == ("111122223333", "eu-west-1")
