"""The compiled form of a deployed REST API (resources, methods, authorizers, mocks, gateway
responses, throttling) and the request being served; built by `deployed.py` at `refresh()`."""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from typing import Any

from shopstack.localcloud.gateway.throttling import Throttle

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]

Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class CognitoAuthorizer:
    name: str
    header_key: str
    pools: Mapping[str, Container[str]]


@dataclass(frozen=True)
class MockIntegration:
    status: int
    headers: tuple[tuple[str, str], ...]
    allowed_origins: tuple[str, ...]
    body: str


@dataclass(frozen=True)
class Method:
    http_method: str
    function_arn: str | None
    authorizer: CognitoAuthorizer | None
    mock: MockIntegration | None


@dataclass(frozen=True)
class Resource:
    id: str
    path: str
    methods: Mapping[str, Method]


@dataclass
class Node:
    literals: dict[str, Node] = field(default_factory=dict)
    param: tuple[str, Node] | None = None
    greedy: tuple[str, Resource] | None = None
    resource: Resource | None = None


@dataclass(frozen=True)
class GatewayResponse:
    status: int | None
    headers: tuple[tuple[str, str], ...]
    template: str | None


@dataclass(frozen=True)
class Api:
    id: str
    name: str
    stage: str
    stage_variables: Mapping[str, str] | None
    root: Node
    resources: tuple[Resource, ...]
    throttle: Throttle
    binary_media_types: tuple[str, ...]
    gateway_responses: Mapping[str, GatewayResponse]
    user_pool_ids: tuple[str, ...]


@dataclass
class Request:
    environ: dict[str, Any]
    method: str
    raw_path: str
    path: str
    request_id: str
    started: float
    epoch_ms: int
    request_time: str
    api: Api | None = None  # the API whose metrics count the request (None: a control path or no API)
    resource_path: str | None = None
