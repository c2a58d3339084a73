"""Compiling the deployed API: the RestApis, stages, authorizers and gateway responses that
CloudFormation created in moto's in-process apigateway backend, with the parts of the template
moto does not keep (read from the stacks' templates), into `model.Api`s."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shopstack.localcloud import auth
from shopstack.localcloud.gateway.authorizer import compile_authorizers, fallback_authorizer
from shopstack.localcloud.gateway.gateway_responses import compile_gateway_responses
from shopstack.localcloud.gateway.mock_integration import compile_mock, default_preflight
from shopstack.localcloud.gateway.model import (
    Api,
    CognitoAuthorizer,
    GatewayResponse,
    Method,
    Resource,
)
from shopstack.localcloud.gateway.routes import build_tree
from shopstack.localcloud.gateway.throttling import compile_throttle

LAMBDA_URI = re.compile(r":lambda:path/[^/]+/functions/(?P<arn>.+)/invocations$")


def backend(service: str, account_id: str, region: str) -> Any:
    from moto.backends import get_backend

    return get_backend(service)[account_id][region]  # type: ignore[call-overload]


def compile_api(rest_api: Any, pools: Mapping[str, Any], region: str, declared: Declared) -> Api:
    stage_name, stage = _deployed_stage(rest_api)
    authorizers = compile_authorizers(rest_api, pools, region)
    fallback = fallback_authorizer(authorizers, pools, region)
    resources = tuple(
        Resource(id=r.id, path=r.get_path(), methods=_methods(r, authorizers, fallback, declared.methods))
        for r in list(rest_api.resources.values())
    )
    pool_ids = tuple(
        auth.user_pool_id_from_arn(arn)
        for a in rest_api.authorizers.values()
        if a.type == "COGNITO_USER_POOLS"
        for arn in a.provider_arns or []
    )
    return Api(
        id=rest_api.id,
        name=rest_api.name,
        stage=stage_name,
        stage_variables=dict(stage.variables) if stage is not None and stage.variables else None,
        root=build_tree(resources),
        resources=resources,
        throttle=compile_throttle(stage.method_settings if stage is not None else {}),
        binary_media_types=tuple(rest_api.binaryMediaTypes or ()),
        gateway_responses={
            **declared.gateway_responses.get(rest_api.id, {}),
            **compile_gateway_responses(rest_api.gateway_responses.values()),
        },
        user_pool_ids=pool_ids,
    )


@dataclass(frozen=True)
class DeclaredMethod:
    """What the CloudFormation template said of a method, for the parts moto does not keep."""

    authorizer_id: str | None
    integration_responses: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class Declared:
    """Parts of the template moto's CloudFormation does not keep, found by the objects it created."""

    methods: Mapping[int, DeclaredMethod]
    gateway_responses: Mapping[str, Mapping[str, GatewayResponse]]


def declared_resources(account_id: str, region: str) -> Declared:
    """Template properties of the API Gateway methods and gateway responses of every stack."""
    methods: dict[int, DeclaredMethod] = {}
    responses: dict[str, dict[str, GatewayResponse]] = {}
    for resources, parsed in stack_templates(account_id, region):
        for logical_id, spec in resources.items():
            props = spec.get("Properties") or {}
            kind = spec.get("Type")
            if kind == "AWS::ApiGateway::Method" and logical_id in parsed:
                integration = props.get("Integration") or {}
                methods[id(parsed[logical_id])] = DeclaredMethod(
                    authorizer_id=_physical_id(props.get("AuthorizerId"), parsed),
                    integration_responses=tuple(integration.get("IntegrationResponses") or ()),
                )
            elif kind == "AWS::ApiGateway::GatewayResponse":
                api_id = _physical_id(props.get("RestApiId"), parsed)
                if api_id and props.get("ResponseType"):
                    responses.setdefault(api_id, {}).update(compile_gateway_responses([_DeclaredResponse(props)]))
    return Declared(methods=methods, gateway_responses=responses)


def stack_templates(account_id: str, region: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    try:
        stacks = backend("cloudformation", account_id, region).stacks
    except Exception:
        return []
    found = []
    for stack in list(stacks.values()):
        template = getattr(stack, "template_dict", None) or {}
        parsed = getattr(getattr(stack, "resource_map", None), "_parsed_resources", None) or {}
        found.append((template.get("Resources") or {}, parsed))
    return found


def _physical_id(value: Any, parsed: Mapping[str, Any]) -> str | None:
    target = parsed.get(value["Ref"]) if isinstance(value, dict) and "Ref" in value else value
    if isinstance(target, str):
        return target
    physical = getattr(target, "physical_resource_id", None) or getattr(target, "id", None)
    return physical if isinstance(physical, str) else None


class _DeclaredResponse:
    """An AWS::ApiGateway::GatewayResponse's properties, shaped like moto's GatewayResponse."""

    def __init__(self, props: Mapping[str, Any]) -> None:
        self.response_type = props["ResponseType"]
        self.status_code = props.get("StatusCode")
        self.response_parameters = props.get("ResponseParameters")
        self.response_templates = props.get("ResponseTemplates")


def _deployed_stage(rest_api: Any) -> tuple[str, Any]:
    stages = dict(rest_api.stages)
    if stages:
        name = next(iter(stages))
        return name, stages[name]
    names = [d.stage_name for d in rest_api.deployments.values() if d.stage_name]
    return (names[0] if names else "v1"), None


def _methods(
    resource: Any,
    authorizers: Mapping[str, CognitoAuthorizer],
    fallback: CognitoAuthorizer,
    declared: Mapping[int, DeclaredMethod],
) -> dict[str, Method]:
    methods = {}
    for verb, method in list(resource.resource_methods.items()):
        template = declared.get(id(method))
        integration = method.method_integration
        kind = integration.integration_type.upper() if integration is not None else ""
        authorizer = None
        if (method.authorization_type or "NONE").upper() == "COGNITO_USER_POOLS":
            authorizer_id = method.authorizer_id or (template.authorizer_id if template else None)
            authorizer = authorizers.get(authorizer_id or "") or fallback
        mock = None
        if kind == "MOCK":
            responses = _integration_responses(integration, template)
            mock = compile_mock(responses) if responses else default_preflight(resource.resource_methods)
        methods[verb.upper()] = Method(
            http_method=verb.upper(),
            function_arn=lambda_arn(integration.uri) if kind == "AWS_PROXY" else None,
            authorizer=authorizer,
            mock=mock,
        )
    return methods


def _integration_responses(integration: Any, template: DeclaredMethod | None) -> list[Mapping[str, Any]]:
    kept: list[Mapping[str, Any]] = [
        {
            "StatusCode": r.status_code,
            "SelectionPattern": r.selection_pattern,
            "ResponseParameters": r.response_parameters,
            "ResponseTemplates": r.response_templates,
        }
        for r in (integration.integration_responses or {}).values()
    ]
    return kept or list(template.integration_responses if template else ())


def lambda_arn(uri: str | None) -> str | None:
    """The function ARN inside an AWS_PROXY integration URI."""
    found = LAMBDA_URI.search(uri or "")
    return found.group("arn") if found else None
