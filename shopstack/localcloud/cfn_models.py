"""CloudFormation resource types CDK templates use that moto's CloudFormation lacks.

Each model creates the resource in moto's own backend, so the APIs (Cognito, API Gateway, Secrets
Manager, CloudWatch) see it as if created directly. Types with no local effect (metadata, resource
policies, dashboards, custom resources) deploy as NullResource: a physical id and nothing else.
"""

from __future__ import annotations

import json
import secrets
import string
from typing import Any

from shopstack.localcloud import ses_sandbox


class CreateFailed(Exception):
    """A resource AWS would refuse to create; the stack fails and rolls back, as on AWS."""

    def __init__(self, logical_id: str, resource_type: str, reason: str) -> None:
        super().__init__(reason)
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.reason = reason


class LocalModel:
    """Just enough of moto's CloudFormationModel for its CloudFormation engine."""

    cf_resource_type = ""
    logical_resource_id = ""

    @property
    def physical_resource_id(self) -> str:
        raise NotImplementedError

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return self.physical_resource_id

    def is_created(self) -> bool:
        return True

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        return None


class NamedModel(LocalModel):
    """A resource whose physical id is the name (or id) it was created with."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def physical_resource_id(self) -> str:
        return self.name


class NullResource(NamedModel):
    """A resource with no local effect: metadata, policies, dashboards, custom resources."""

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kw: Any,
    ) -> NullResource:
        return cls(resource_name)


def _cognito(account_id: str, region_name: str) -> Any:
    from moto.cognitoidp.models import cognitoidp_backends

    return cognitoidp_backends[account_id][region_name]


class UserPool(LocalModel):
    def __init__(self, pool: Any, region_name: str) -> None:
        self.pool = pool
        self.region_name = region_name

    @property
    def physical_resource_id(self) -> str:
        return str(self.pool.id)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        provider = f"cognito-idp.{self.region_name}.amazonaws.com/{self.pool.id}"
        return {
            "Arn": self.pool.arn,
            "ProviderName": provider,
            "ProviderURL": f"https://{provider}",
            "UserPoolId": self.pool.id,
        }.get(attribute_name, self.pool.id)

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kw: Any,
    ) -> UserPool:
        properties = dict(cloudformation_json.get("Properties", {}))
        name = properties.pop("UserPoolName", resource_name)
        pool = _cognito(account_id, region_name).create_user_pool(name, properties)
        return cls(pool, region_name)


class UserPoolClient(LocalModel):
    def __init__(self, client: Any) -> None:
        self.client = client

    @property
    def physical_resource_id(self) -> str:
        return str(self.client.id)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "ClientSecret":
            return self.client.secret
        if attribute_name == "Name":
            return self.client.extended_config.get("ClientName", "")
        return self.client.id

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kw: Any,
    ) -> UserPoolClient:
        properties = dict(cloudformation_json.get("Properties", {}))
        pool_id = properties.pop("UserPoolId")
        generate_secret = bool(properties.pop("GenerateSecret", False))
        properties.setdefault("ClientName", resource_name)
        client = _cognito(account_id, region_name).create_user_pool_client(pool_id, generate_secret, properties)
        return cls(client)


class UserPoolGroup(NamedModel):
    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kw: Any,
    ) -> UserPoolGroup:
        properties = cloudformation_json.get("Properties", {})
        name = properties.get("GroupName", resource_name)
        _cognito(account_id, region_name).create_group(
            properties["UserPoolId"],
            name,
            properties.get("Description", ""),
            properties.get("RoleArn", ""),
            int(properties.get("Precedence", 0)),
        )
        return cls(name)


PUNCTUATION = string.punctuation


def secret_alphabets(spec: dict[str, Any]) -> list[str]:
    """The character classes GenerateSecretString draws from, after its Exclude* settings."""
    classes = [
        ("ExcludeLowercase", string.ascii_lowercase),
        ("ExcludeUppercase", string.ascii_uppercase),
        ("ExcludeNumbers", string.digits),
        ("ExcludePunctuation", PUNCTUATION),
    ]
    excluded = set(str(spec.get("ExcludeCharacters", "")))
    alphabets = ["".join(c for c in chars if c not in excluded) for flag, chars in classes if not spec.get(flag)]
    if spec.get("IncludeSpace") and " " not in excluded:
        alphabets.append(" ")
    return [a for a in alphabets if a]


def generated_password(spec: dict[str, Any]) -> str:
    """A random password as Secrets Manager generates it: PasswordLength (32) characters, one of each
    included type unless RequireEachIncludedType is false."""
    alphabets = secret_alphabets(spec)
    if not alphabets:
        raise ValueError("GenerateSecretString excludes every character")
    length = int(spec.get("PasswordLength", 32))
    every = "".join(alphabets)
    required = [secrets.choice(a) for a in alphabets] if spec.get("RequireEachIncludedType", True) else []
    chars = required[:length] + [secrets.choice(every) for _ in range(length - len(required[:length]))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def generated_secret(spec: dict[str, Any]) -> str:
    """A value for GenerateSecretString: a random password, inside the template if one is given."""
    password = generated_password(spec)
    template = spec.get("SecretStringTemplate")
    if template and spec.get("GenerateStringKey"):
        document = json.loads(template)
        document[spec["GenerateStringKey"]] = password
        return json.dumps(document)
    return password


class Secret(LocalModel):
    def __init__(self, arn: str, name: str) -> None:
        self.arn = arn
        self.name = name

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return self.name if attribute_name == "Name" else self.arn

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kw: Any,
    ) -> Secret:
        from moto.secretsmanager.models import secretsmanager_backends

        properties = cloudformation_json.get("Properties", {})
        name = properties.get("Name", resource_name)
        value = properties.get("SecretString")
        if value is None:
            value = generated_secret(properties.get("GenerateSecretString") or {})
        created = secretsmanager_backends[account_id][region_name].create_secret(
            name=name,
            secret_string=value,
            secret_binary=None,
            description=properties.get("Description"),
            tags=properties.get("Tags"),
            kms_key_id=None,
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        return cls(json.loads(created)["ARN"], name)


def _ses(account_id: str, region_name: str) -> Any:
    from moto.ses.models import ses_backends

    return ses_backends[account_id][region_name]


class EmailIdentity(LocalModel):
    """AWS::SES::EmailIdentity: an address, or a domain any of whose addresses may send. Pending
    in the SES sandbox (nobody can verify an address at an unverifiable domain), verified in
    production mode (see ses_sandbox.py)."""

    def __init__(self, identity: Any) -> None:
        self.identity = identity

    @property
    def physical_resource_id(self) -> str:
        return str(self.identity.email_identity)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name.startswith("DkimDNSTokenName"):
            return f"local{attribute_name[-1]}._domainkey.{self.identity.email_identity}"
        if attribute_name.startswith("DkimDNSTokenValue"):
            return f"local{attribute_name[-1]}.dkim.amazonses.com"
        return self.physical_resource_id

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kw: Any,
    ) -> EmailIdentity:
        properties = cloudformation_json.get("Properties", {})
        name = str(properties["EmailIdentity"])
        if "@" not in name:
            name = name.lower()
        configuration_set = (properties.get("ConfigurationSetAttributes") or {}).get("ConfigurationSetName")
        identity = _ses(account_id, region_name).create_email_identity_v2(
            name, None, properties.get("DkimSigningAttributes"), configuration_set
        )
        identity.local_from_cloudformation = True
        ses_sandbox.settle(identity)
        return cls(identity)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        _ses(account_id, region_name).email_identities.pop(resource_name, None)


class ConfigurationSet(NamedModel):
    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kw: Any,
    ) -> ConfigurationSet:
        properties = cloudformation_json.get("Properties", {})
        name = str(properties.get("Name") or resource_name)
        _ses(account_id, region_name).create_configuration_set(name)
        return cls(name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        _ses(account_id, region_name).config_sets.pop(resource_name, None)


def _apigateway(account_id: str, region_name: str) -> Any:
    from moto.apigateway.models import apigateway_backends

    return apigateway_backends[account_id][region_name]


def method_setting_operations(setting: dict[str, Any]) -> list[dict[str, str]]:
    """A Stage's MethodSettings entry as UpdateStage patch operations."""
    path = str(setting.get("ResourcePath", "/*")).lstrip("/").replace("/", "~1") or "*"
    prefix = f"/{path}/{setting.get('HttpMethod', '*')}"
    names = {
        "ThrottlingBurstLimit": "throttling/burstLimit",
        "ThrottlingRateLimit": "throttling/rateLimit",
        "LoggingLevel": "logging/loglevel",
        "DataTraceEnabled": "logging/dataTrace",
        "MetricsEnabled": "metrics/enabled",
        "CachingEnabled": "caching/enabled",
    }
    return [
        {
            "op": "replace",
            "path": f"{prefix}/{names[key]}",
            "value": str(value).lower() if isinstance(value, bool) else str(value),
        }
        for key, value in setting.items()
        if key in names
    ]


NO_LOGS_ROLE = (
    "CloudWatch Logs role ARN must be set in account settings to enable logging "
    "(Service: AmazonApiGateway; Status Code: 400; Error Code: BadRequestException)"
)


class ApiGatewayAccount(NamedModel):
    """AWS::ApiGateway::Account: the region's API Gateway settings, its CloudWatch Logs role."""

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kw: Any,
    ) -> ApiGatewayAccount:
        role_arn = cloudformation_json.get("Properties", {}).get("CloudWatchRoleArn")
        if role_arn:
            _apigateway(account_id, region_name).update_account(
                [{"op": "replace", "path": "/cloudwatchRoleArn", "value": str(role_arn)}]
            )
        return cls(resource_name)


class Stage(NamedModel):
    """AWS::ApiGateway::Stage; with access logs it needs the account's CloudWatch Logs role, as on AWS."""

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kw: Any,
    ) -> Stage:
        properties = cloudformation_json.get("Properties", {})
        backend = _apigateway(account_id, region_name)
        if properties.get("AccessLogSetting") and not backend.get_account().cloudwatch_role_arn:
            raise CreateFailed(str(kw.get("LogicalId", resource_name)), "AWS::ApiGateway::Stage", NO_LOGS_ROLE)
        api_id = properties["RestApiId"]
        name = properties.get("StageName", resource_name)
        stage = backend.create_stage(
            api_id,
            name,
            properties.get("DeploymentId"),
            variables=properties.get("Variables") or {},
            description=properties.get("Description", ""),
            tracing_enabled=properties.get("TracingEnabled"),
        )
        operations = [op for s in properties.get("MethodSettings", []) for op in method_setting_operations(s)]
        stage.apply_operations(operations)
        access_log = properties.get("AccessLogSetting")
        if access_log:
            stage.access_log_settings = {
                "destinationArn": access_log.get("DestinationArn"),
                "format": access_log.get("Format"),
            }
        return cls(name)


class Authorizer(NamedModel):
    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kw: Any,
    ) -> Authorizer:
        properties = cloudformation_json.get("Properties", {})
        ttl = properties.get("AuthorizerResultTtlInSeconds")
        authorizer = _apigateway(account_id, region_name).create_authorizer(
            properties["RestApiId"],
            properties.get("Name", resource_name),
            properties.get("Type", "COGNITO_USER_POOLS"),
            provider_arns=properties.get("ProviderARNs"),
            auth_type=properties.get("AuthType"),
            authorizer_uri=properties.get("AuthorizerUri"),
            authorizer_credentials=properties.get("AuthorizerCredentials"),
            identity_source=properties.get("IdentitySource"),
            identiy_validation_expression=properties.get("IdentityValidationExpression"),
            authorizer_result_ttl=int(ttl) if ttl is not None else None,
        )
        return cls(str(authorizer.id))


def create_method(
    cls: Any,
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kw: Any,
) -> Any:
    """AWS::ApiGateway::Method with its authorizer, request parameters and any integration type."""
    properties = cloudformation_json["Properties"]
    backend = _apigateway(account_id, region_name)
    api_id, resource_id, verb = properties["RestApiId"], properties["ResourceId"], properties["HttpMethod"]
    method = backend.put_method(
        function_id=api_id,
        resource_id=resource_id,
        method_type=verb,
        authorization_type=properties.get("AuthorizationType", "NONE"),
        api_key_required=properties.get("ApiKeyRequired"),
        request_parameters=properties.get("RequestParameters"),
        request_models=properties.get("RequestModels"),
        operation_name=properties.get("OperationName"),
        authorizer_id=properties.get("AuthorizerId"),
        authorization_scopes=properties.get("AuthorizationScopes"),
        request_validator_id=properties.get("RequestValidatorId"),
    )
    for response in properties.get("MethodResponses", []):
        backend.put_method_response(
            api_id,
            resource_id,
            verb,
            str(response["StatusCode"]),
            response.get("ResponseModels"),
            response.get("ResponseParameters"),
        )
    integration = properties.get("Integration")
    if integration:
        _put_integration(backend, api_id, resource_id, verb, integration)
    return method


def _put_integration(backend: Any, api_id: str, resource_id: str, verb: str, integration: dict[str, Any]) -> None:
    backend.put_integration(
        function_id=api_id,
        resource_id=resource_id,
        method_type=verb,
        integration_type=integration.get("Type", "AWS_PROXY"),
        uri=integration.get("Uri", ""),
        integration_method=integration.get("IntegrationHttpMethod", verb),
        request_templates=integration.get("RequestTemplates"),
        passthrough_behavior=integration.get("PassthroughBehavior"),
        request_parameters=integration.get("RequestParameters"),
        content_handling=integration.get("ContentHandling"),
    )
    for response in integration.get("IntegrationResponses", []):
        backend.put_integration_response(
            api_id,
            resource_id,
            verb,
            str(response["StatusCode"]),
            response.get("SelectionPattern", ""),
            response.get("ResponseTemplates") or {},
            response.get("ResponseParameters") or {},
        )


class MotoModelWithTags(LocalModel):
    """A resource moto models, whose CloudFormation `Tags` moto reads in another shape: the
    properties are rewritten (`prepare`), then moto's own model creates it."""

    @classmethod
    def moto_model(cls) -> Any:
        raise NotImplementedError

    @classmethod
    def prepare(cls, properties: dict[str, Any], resource_name: str) -> None:
        raise NotImplementedError

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kw: Any,
    ) -> Any:
        properties = dict(cloudformation_json.get("Properties", {}))
        cls.prepare(properties, resource_name)
        return cls.moto_model().create_from_cloudformation_json(
            resource_name, {**cloudformation_json, "Properties": properties}, account_id, region_name, **kw
        )


class SsmParameter(MotoModelWithTags):
    """AWS::SSM::Parameter whose Tags are CloudFormation's key-value map (moto expects a list)."""

    @classmethod
    def moto_model(cls) -> Any:
        from moto.ssm.models import Parameter

        return Parameter

    @classmethod
    def prepare(cls, properties: dict[str, Any], resource_name: str) -> None:
        tags = properties.get("Tags")
        if isinstance(tags, dict):
            properties["Tags"] = [{"Key": str(k), "Value": str(v)} for k, v in tags.items()]
        properties.setdefault("Name", resource_name)


class Alarm(NamedModel):
    """AWS::CloudWatch::Alarm (moto's CloudFormation skips it): created in moto's CloudWatch, in
    state INSUFFICIENT_DATA as AWS creates it, for alarms.py to evaluate. Ref is the alarm's name."""

    def __init__(self, name: str, arn: str) -> None:
        super().__init__(name)
        self.arn = arn

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return self.arn if attribute_name == "Arn" else self.name

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kw: Any,
    ) -> Alarm:
        from moto.cloudwatch.models import cloudwatch_backends

        props = cloudformation_json.get("Properties", {})
        backend = cloudwatch_backends[account_id][region_name]
        name = str(props.get("AlarmName") or resource_name)
        alarm = backend.put_metric_alarm(
            name=name,
            namespace=props.get("Namespace"),
            metric_name=props.get("MetricName"),
            metric_data_queries=_metric_queries(props.get("Metrics") or []),
            comparison_operator=props["ComparisonOperator"],
            evaluation_periods=int(props["EvaluationPeriods"]),
            datapoints_to_alarm=int(props["DatapointsToAlarm"]) if "DatapointsToAlarm" in props else None,
            period=int(props.get("Period") or 0),
            threshold=float(props.get("Threshold") or 0),
            statistic=props.get("Statistic"),
            extended_statistic=props.get("ExtendedStatistic"),
            description=str(props.get("AlarmDescription") or ""),
            dimensions=[{"Name": d["Name"], "Value": str(d["Value"])} for d in props.get("Dimensions") or []],
            alarm_actions=[str(a) for a in props.get("AlarmActions") or []],
            ok_actions=[str(a) for a in props.get("OKActions") or []],
            insufficient_data_actions=[str(a) for a in props.get("InsufficientDataActions") or []],
            unit=props.get("Unit"),
            actions_enabled=props.get("ActionsEnabled", True) not in (False, "false"),
            treat_missing_data=props.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=props.get("EvaluateLowSampleCountPercentile"),
            threshold_metric_id=props.get("ThresholdMetricId"),
        )
        alarm.update_state("Unchecked: Initial alarm creation", "{}", "INSUFFICIENT_DATA")
        return cls(name, alarm.alarm_arn)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        from moto.cloudwatch.models import cloudwatch_backends

        cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])


def _metric_queries(metrics: list[dict[str, Any]]) -> list[Any]:
    """An alarm's `Metrics` (metric math) as moto keeps them, so that describe_alarms shows them."""
    from moto.cloudwatch.models import Dimension, Metric, MetricDataQuery, MetricStat

    queries = []
    for query in metrics:
        stat = query.get("MetricStat")
        metric_stat = None
        if stat:
            metric = stat.get("Metric", {})
            dimensions = [Dimension(d["Name"], str(d["Value"])) for d in metric.get("Dimensions") or []]
            metric_stat = MetricStat(
                Metric(metric.get("MetricName"), metric.get("Namespace"), dimensions),
                stat.get("Period"),
                stat.get("Stat"),
                stat.get("Unit"),
            )
        fields: dict[str, Any] = {  # as moto's PutMetricAlarm keeps them: absent values are None
            "query_id": query["Id"],
            "label": query.get("Label"),
            "period": query.get("Period"),
            "return_data": query.get("ReturnData"),
        }
        queries.append(MetricDataQuery(**fields, expression=query.get("Expression"), metric_stat=metric_stat))
    return queries


class KmsKey(MotoModelWithTags):
    """AWS::KMS::Key whose Tags are CloudFormation's `Key`/`Value` pairs (moto's KMS expects
    `TagKey`/`TagValue` and fails the stack with a KeyError)."""

    @classmethod
    def moto_model(cls) -> Any:
        from moto.kms.models import Key

        return Key

    @classmethod
    def prepare(cls, properties: dict[str, Any], resource_name: str) -> None:
        properties["Tags"] = [
            {"TagKey": str(tag.get("Key", tag.get("TagKey"))), "TagValue": str(tag.get("Value", tag.get("TagValue")))}
            for tag in properties.get("Tags") or []
        ]


MODELS: dict[str, type[LocalModel]] = {
    "AWS::KMS::Key": KmsKey,
    "AWS::CloudWatch::Alarm": Alarm,
    "AWS::Cognito::UserPool": UserPool,
    "AWS::Cognito::UserPoolClient": UserPoolClient,
    "AWS::Cognito::UserPoolGroup": UserPoolGroup,
    "AWS::SecretsManager::Secret": Secret,
    "AWS::ApiGateway::Stage": Stage,
    "AWS::ApiGateway::Account": ApiGatewayAccount,
    "AWS::SSM::Parameter": SsmParameter,
    "AWS::ApiGateway::Authorizer": Authorizer,
    "AWS::SES::EmailIdentity": EmailIdentity,
    "AWS::SES::ConfigurationSet": ConfigurationSet,
}
