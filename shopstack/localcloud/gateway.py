"""The local API Gateway: REST API v1 data plane over the RestApis deployed into moto.

Routes, methods, Lambda proxy integrations, the Cognito authorizer, CORS preflight mocks and
stage throttling are all read from what CloudFormation deployed into moto's in-process
apigateway backend; nothing here declares a route. `refresh()` compiles them into a routing
tree so a request costs a few dictionary lookups before the Lambda is invoked.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import json
import math
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, TextIO

from shopstack.localcloud import auth, control, mail, observability, ratelimit, signing, site
from shopstack.localcloud.alarms import local_clients
from shopstack.localcloud.lambda_pool import REPO_ROOT, QueueTimeout
from shopstack.localcloud.telemetry import TELEMETRY

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
# API Gateway answers 504 when the integration has not answered within 29 s (the REST API
# default and maximum). The Lambda goes on running to its own timeout; only the caller gives up.
INTEGRATION_TIMEOUT_SECONDS = 29.0
LOCALCLOUD_PATH = "/_localcloud"
PROBE_VALUE = "PROBE"
DEFAULT_IDENTITY_HEADER = "Authorization"
AUTHORIZER_CACHE_SIZE = 4096
LAMBDA_URI = re.compile(r":lambda:path/[^/]+/functions/(?P<arn>.+)/invocations$")
HEADER_PARAM = re.compile(r"^method\.response\.header\.(?P<name>.+)$")
ORIGIN_TEST = re.compile(r'\$origin\s*==\s*"(?P<origin>[^"]+)"')
TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
    "application/graphql",
)
DROPPED_RESPONSE_HEADERS = frozenset({"content-length", "connection", "transfer-encoding", "keep-alive"})
STATUS_LINES = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]
Headers = list[tuple[str, str]]

ERRORS: dict[str, tuple[int, str, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": (
        403,
        "Missing Authentication Token",
        "MissingAuthenticationTokenException",
    ),
    "UNAUTHORIZED": (401, "Unauthorized", "UnauthorizedException"),
    "THROTTLED": (429, "Too Many Requests", "TooManyRequestsException"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long", "RequestTooLongException"),
    "INTEGRATION_FAILURE": (502, "Internal server error", "InternalServerErrorException"),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out", "InternalServerErrorException"),
}


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


class TokenBucket:
    """Stage throttling: `burst` requests at once, refilled at `rate` per second."""

    __slots__ = ("_lock", "_tokens", "_updated", "burst", "rate")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = max(rate, 0.0)
        self.burst = max(burst, 0)
        self._tokens = float(self.burst)
        self._updated = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> float:
        """0 when the request may pass, else the seconds until a token is available."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            if self.rate <= 0 or self.burst < 1:
                return 1.0
            return (1.0 - self._tokens) / self.rate


@dataclass(frozen=True)
class Throttle:
    stage: TokenBucket | None
    methods: Mapping[tuple[str, str], TokenBucket]

    def take(self, resource_path: str, http_method: str) -> float:
        bucket = self.methods.get((resource_path, http_method)) or self.stage
        return bucket.take() if bucket is not None else 0.0


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


class LocalGateway:
    """WSGI app serving the deployed REST APIs as API Gateway's data plane does."""

    def __init__(
        self,
        *,
        region: str,
        account_id: str,
        invoke: Invoke,
        moto_url: str,
        integration_timeout: float = INTEGRATION_TIMEOUT_SECONDS,
        signing_key: signing.SigningKey | None = None,
    ) -> None:
        """`signing_key`: the key the local user pools sign with (default: signing.current())."""
        self.region = region
        self.signing_key = signing_key
        self.account_id = account_id
        self.moto_url = moto_url
        self.log_stream: TextIO | None = None
        self._invoke = invoke
        self.integration_timeout = integration_timeout
        self._invoke_takes_deadline = _accepts_keyword(invoke, "deadline")
        # each integration runs on a thread of its own so that the request can be answered 504 at
        # the integration timeout while the function runs on (a thread per request is waiting anyway)
        self._integrations = ThreadPoolExecutor(max_workers=256, thread_name_prefix="integration")
        self._apis: tuple[Api, ...] = ()
        self._keys: dict[str, Any] | None = None
        self._claims_cache: dict[str, tuple[dict[str, str], float]] = {}
        self.rate_limiter = ratelimit.RateLimiter()
        self._aws = local_clients(moto_url, region)
        # the storefront as the deployed distribution serves it (shopstack.localcloud.site)
        self.site = site.LocalSite(account_id=account_id, region=region, moto_url=moto_url, repo_root=REPO_ROOT)

    def refresh(self) -> None:
        self._keys = auth.public_keys((self.signing_key or signing.current()).jwks())
        apigateway = _backend("apigateway", self.account_id, self.region)
        pools = _backend("cognito-idp", self.account_id, self.region).user_pools
        declared = declared_resources(self.account_id, self.region)
        rest_apis = list(apigateway.apis.values())
        self._apis = tuple(_compile_api(rest_api, pools, self.region, declared) for rest_api in rest_apis)
        # the WAFv2 web ACLs on the stages (their rate-based rules), from the deployed templates
        stacks = _stack_templates(self.account_id, self.region)
        self.rate_limiter.load(ratelimit.compile_web_acls(stacks, (api.id for api in self._apis)))
        self.site.refresh()
        self._claims_cache = {}

    def probe_paths(self) -> list[str]:
        paths: list[str] = []
        for api in self._apis:
            for resource in api.resources:
                if any(verb != "OPTIONS" for verb in resource.methods):
                    path = _probe_path(resource.path)
                    if path not in paths:
                        paths.append(path)
        return paths

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = _request_path(environ)
        epoch_ms = int(time.time() * 1000)
        request = Request(
            environ=environ,
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            raw_path=path,
            path=path,
            request_id=str(uuid.uuid4()),
            started=time.perf_counter(),
            epoch_ms=epoch_ms,
            request_time=_clf_time(epoch_ms),
        )
        try:
            status, headers, body = self._handle(request)
        except Exception as exc:
            print(f"gateway: {request.method} {request.path}: {exc!r}", file=sys.stderr)
            status, headers, body = _error(None, "INTEGRATION_FAILURE", request)
        headers.append(("Content-Length", str(len(body))))
        if not _finish_reading(request.environ):
            headers.append(("Connection", "close"))
        start_response(STATUS_LINES.get(status, f"{status} Unknown"), headers)
        latency_ms = (time.perf_counter() - request.started) * 1000
        self._access_log(request, status, len(body), latency_ms)
        if request.api is not None:
            api = request.api
            TELEMETRY.api_request(api.name, api.stage, request.resource_path, request.method, status, latency_ms)
        return [body]

    def _handle(self, request: Request) -> tuple[int, Headers, bytes]:
        if request.path == LOCALCLOUD_PATH and request.method == "GET":
            return _json_response(200, self._localcloud_info(), request)
        if request.path in control.PATHS:
            status, document = control.handle(request.method, request.path, _read_body(request.environ) or b"")
            return _json_response(status, document, request)
        if request.path == mail.MAIL_PATH and request.method == "GET":
            to = (query_parameters(request.environ.get("QUERY_STRING", ""))[0] or {}).get("to")
            return _json_response(200, mail.captured(self.account_id, self.region, to), request)
        if request.path == ratelimit.RATELIMITS_PATH:
            status, document = self.rate_limiter.handle(request.method, _read_body(request.environ) or b"")
            return _json_response(status, document, request)
        if observability.serves(request.path):
            query = query_parameters(request.environ.get("QUERY_STRING", ""))[0] or {}
            status, document = observability.handle(
                request.method, request.path, query, clients=self._aws, account_id=self.account_id, region=self.region
            )
            return _json_response(status, document, request)
        if self.site.relays(request.path):
            body = _read_body(request.environ)
            if body is None:
                return _error(None, "REQUEST_TOO_LARGE", request)
            relayed = self.site.relay(request.method, request.path, request.environ, body)
            if relayed is not None:
                return relayed
        if self.site.site is not None:
            return self._distribution(request, self.site.site)
        return self._api(request)

    def _distribution(self, request: Request, served: site.Site) -> tuple[int, Headers, bytes]:
        """The request as the distribution routes it: the API behaviour to the API (its response headers
        policy added), the pages behaviour to the bucket; the API's routes at the root stay served too
        (a local convenience: on AWS that path is the bucket's), unless a page exists there."""
        behaviour = served.behaviour(request.path)
        if behaviour.origin == "api":
            if request.method not in behaviour.allowed_methods:
                return site.method_not_allowed(behaviour)
            request.path = behaviour.origin_path + request.path
            status, headers, body = self._api(request)
            return status, site.with_policy(headers, behaviour.headers), body
        uri = request.path
        if behaviour.viewer_request is not None:
            uri = site.viewer_request(behaviour.viewer_request, request.method, request.path)
        key = site.object_key(served, uri)
        if request.method in ("GET", "HEAD") and behaviour.origin == "s3":
            content: bytes | None = None
            if served.config_object and key == served.config_object:
                content = self.site.config_body(request.environ)
            else:
                file = site.page_file(served, key)
                content = file.read_bytes() if file is not None else None
            if content is not None or self._route(request.path) is None:
                if_none_match = request.environ.get("HTTP_IF_NONE_MATCH")
                return site.serve_object(served, behaviour, request.method, key, content, if_none_match)
        if self._route(request.path) is not None:
            return self._api(request)
        if request.method not in behaviour.allowed_methods:
            return site.method_not_allowed(behaviour)
        return site.serve_object(served, behaviour, request.method, key, None, None)

    def _api(self, request: Request) -> tuple[int, Headers, bytes]:
        found = self._route(request.path)
        # WAF sees every request to the stage first (preflights and unknown paths included), keyed by
        # the caller's address; a blocked request never reaches routing or the stage's throttling
        first = self._apis[0] if self._apis else None
        blocked = self.rate_limiter.check(
            found[0].id if found is not None else (first.id if first is not None else None),
            str(request.environ.get("REMOTE_ADDR") or ""),
            ratelimit.web_request(request.environ, request.method),
        )
        if blocked is not None:
            return blocked.status, [*blocked.headers, ("x-amzn-RequestId", request.request_id)], blocked.body
        request.api = found[0] if found is not None else first
        if found is None:
            return _error(first, "MISSING_AUTHENTICATION_TOKEN", request)
        api, resource, params, request.path = found
        request.resource_path = resource.path
        method = resource.methods.get(request.method) or resource.methods.get("ANY")
        if method is None:
            return _error(api, "MISSING_AUTHENTICATION_TOKEN", request)
        wait = api.throttle.take(resource.path, request.method)
        if wait > 0:
            status, headers, body = _error(api, "THROTTLED", request)
            if not any(name.lower() == "retry-after" for name, _ in headers):
                headers.append(("Retry-After", str(max(1, math.ceil(wait)))))
            return status, headers, body
        if _content_length(request.environ) > MAX_PAYLOAD_BYTES:
            return _error(api, "REQUEST_TOO_LARGE", request)
        claims = None
        if method.authorizer is not None:
            claims = self._authorize(method.authorizer, request.environ)
            if claims is None:
                return _error(api, "UNAUTHORIZED", request)
        if method.mock is not None:
            return _mock_response(method.mock, request)
        return self._integrate(api, resource, method, request, params, claims)

    def _integrate(
        self,
        api: Api,
        resource: Resource,
        method: Method,
        request: Request,
        params: dict[str, str],
        claims: dict[str, str] | None,
    ) -> tuple[int, Headers, bytes]:
        body = _read_body(request.environ)
        if body is None:
            return _error(api, "REQUEST_TOO_LARGE", request)
        if method.function_arn is None:
            return _error(api, "INTEGRATION_FAILURE", request)
        event = build_event(api, resource, request, params, body, claims, self.account_id)
        deadline = time.monotonic() + self.integration_timeout - (time.perf_counter() - request.started)
        try:
            payload = self._call_integration(method.function_arn, event, deadline)
        except (FutureTimeout, TimeoutError) as exc:
            print(f"gateway: {method.function_arn}: endpoint request timed out ({exc!r})", file=sys.stderr)
            return _error(api, "INTEGRATION_TIMEOUT", request)
        except Exception as exc:
            print(f"gateway: {method.function_arn} failed: {exc!r}", file=sys.stderr)
            return _error(api, "INTEGRATION_FAILURE", request)
        mapped = proxy_response(payload)
        if mapped is None:
            print(f"gateway: malformed Lambda proxy response from {method.function_arn}", file=sys.stderr)
            return _error(api, "INTEGRATION_FAILURE", request)
        mapped[1].append(("x-amzn-RequestId", request.request_id))
        return mapped

    def _call_integration(self, function_arn: str, event: dict[str, Any], deadline: float) -> dict[str, Any]:
        """The function's answer, or TimeoutError once `deadline` (time.monotonic()) has passed:
        while it waits for a worker (the event then never reaches the handler) or while the
        handler runs (it runs on to its own timeout, as on AWS)."""
        if self._invoke_takes_deadline:
            future = self._integrations.submit(self._invoke, function_arn, event, deadline=deadline)  # type: ignore[call-arg]
        else:
            future = self._integrations.submit(self._invoke, function_arn, event)
        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()))
        except QueueTimeout as exc:
            raise TimeoutError(str(exc)) from exc

    def _route(self, path: str) -> tuple[Api, Resource, dict[str, str], str] | None:
        """API, resource, path parameters and the path without a leading stage name."""
        segments = [segment for segment in path.split("/") if segment]
        for api in self._apis:
            found = match_route(api.root, segments)
            if found is not None:
                return api, found[0], found[1], path
            if segments and segments[0] == api.stage:
                found = match_route(api.root, segments[1:])
                if found is not None:
                    return api, found[0], found[1], path[len(api.stage) + 1 :] or "/"
        return None

    def _authorize(self, authorizer: CognitoAuthorizer, environ: Mapping[str, Any]) -> dict[str, str] | None:
        header = environ.get(authorizer.header_key)
        cache_key = f"{authorizer.name}\n{header}"
        cached = self._claims_cache.get(cache_key) if header else None
        if cached is not None and cached[1] > time.time():
            return cached[0]
        try:
            token = auth.token_from_header(header)
            claims = auth.verify_id_token(token, keys=self._keys or {}, pools=authorizer.pools)
            rendered = auth.render_claims(claims)
        except auth.Unauthorized:
            return None
        except Exception as exc:  # API Gateway answers 401 for any token that does not verify, never 5xx
            print(f"gateway: authorizer {authorizer.name}: unverifiable token: {exc!r}", file=sys.stderr)
            return None
        if len(self._claims_cache) >= AUTHORIZER_CACHE_SIZE:
            self._claims_cache.clear()
        self._claims_cache[cache_key] = (rendered, float(claims["exp"]))
        return rendered

    def _localcloud_info(self) -> dict[str, Any]:
        pools = _backend("cognito-idp", self.account_id, self.region).user_pools
        wanted = [pool_id for api in self._apis for pool_id in api.user_pool_ids]
        pool = next((pools[p] for p in wanted if p in pools), None) or next(iter(pools.values()), None)
        client_id = next(iter(pool.clients), None) if pool is not None else None
        return {
            "motoUrl": self.moto_url,
            "region": self.region,
            "accountId": self.account_id,
            "userPoolId": pool.id if pool is not None else None,
            "userPoolClientId": client_id,
        }

    def _access_log(self, request: Request, status: int, size: int, latency_ms: float) -> None:
        environ = request.environ
        line = (
            f"{environ.get('REMOTE_ADDR', '-')} {request.request_id} [{request.request_time}] "
            f'"{request.method} {request.raw_path} {environ.get("SERVER_PROTOCOL", "HTTP/1.1")}" '
            f"{status} {size} {latency_ms:.2f}ms"
        )
        print(line, file=self.log_stream or sys.stdout, flush=True)


def _accepts_keyword(function: Callable[..., Any], name: str) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def _backend(service: str, account_id: str, region: str) -> Any:
    from moto.backends import get_backend

    return get_backend(service)[account_id][region]  # type: ignore[call-overload]


# Compiling the deployed API


def _compile_api(rest_api: Any, pools: Mapping[str, Any], region: str, declared: Declared) -> Api:
    stage_name, stage = _deployed_stage(rest_api)
    authorizers = _authorizers(rest_api, pools, region)
    fallback = _fallback_authorizer(authorizers, pools, region)
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
            **_gateway_responses(rest_api.gateway_responses.values()),
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
    for resources, parsed in _stack_templates(account_id, region):
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
                    responses.setdefault(api_id, {}).update(_gateway_responses([_DeclaredResponse(props)]))
    return Declared(methods=methods, gateway_responses=responses)


def _stack_templates(account_id: str, region: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    try:
        stacks = _backend("cloudformation", account_id, region).stacks
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


def _authorizers(rest_api: Any, pools: Mapping[str, Any], region: str) -> dict[str, CognitoAuthorizer]:
    compiled = {}
    for authorizer in list(rest_api.authorizers.values()):
        if authorizer.type != "COGNITO_USER_POOLS":
            continue
        pool_ids = [auth.user_pool_id_from_arn(arn) for arn in authorizer.provider_arns or []]
        compiled[authorizer.id] = CognitoAuthorizer(
            name=authorizer.name or authorizer.id,
            header_key=_identity_header_key(authorizer.identity_source),
            pools=_issuers(pools, pool_ids, region),
        )
    return compiled


def _fallback_authorizer(
    authorizers: Mapping[str, CognitoAuthorizer], pools: Mapping[str, Any], region: str
) -> CognitoAuthorizer:
    """For a COGNITO_USER_POOLS method whose authorizer id was not kept: the API's, else every pool."""
    if len(authorizers) == 1:
        return next(iter(authorizers.values()))
    merged: dict[str, Container[str]] = {}
    for authorizer in authorizers.values():
        merged.update(authorizer.pools)
    return CognitoAuthorizer(
        name="cognito",
        header_key=_identity_header_key(None),
        pools=merged or _issuers(pools, list(pools), region),
    )


def _issuers(pools: Mapping[str, Any], pool_ids: Iterable[str], region: str) -> dict[str, Container[str]]:
    return {
        auth.issuer_url(pools[pool_id].region or region, pool_id): pools[pool_id].clients
        for pool_id in pool_ids
        if pool_id in pools
    }


def _identity_header_key(identity_source: str | None) -> str:
    prefix = "method.request.header."
    source = (identity_source or "").split(",")[0].strip()
    name = source[len(prefix) :] if source.startswith(prefix) else DEFAULT_IDENTITY_HEADER
    return "HTTP_" + name.upper().replace("-", "_")


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


def compile_mock(responses: Sequence[Mapping[str, Any]]) -> MockIntegration:
    """A MOCK integration's default response (the one without a selection pattern), as CDK's preflight."""
    chosen = next((r for r in responses if not r.get("SelectionPattern")), responses[0])
    headers = []
    for key, value in (chosen.get("ResponseParameters") or {}).items():
        name = HEADER_PARAM.match(key)
        if name and isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == "'":
            headers.append((name.group("name"), value[1:-1]))
    templates = chosen.get("ResponseTemplates") or {}
    template = templates.get("application/json") or next(iter(templates.values()), None) or ""
    origins = tuple(ORIGIN_TEST.findall(template))
    return MockIntegration(
        status=int(chosen.get("StatusCode") or 200),
        headers=tuple(headers),
        allowed_origins=origins,
        body="" if origins or "#set" in template else template,
    )


def default_preflight(verbs: Iterable[str]) -> MockIntegration:
    allowed = sorted({*(verb.upper() for verb in verbs), "OPTIONS"})
    return MockIntegration(
        status=204,
        headers=(
            (
                "Access-Control-Allow-Headers",
                "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token,X-Amz-User-Agent",
            ),
            ("Access-Control-Allow-Origin", "*"),
            ("Access-Control-Allow-Methods", ",".join(allowed)),
        ),
        allowed_origins=(),
        body="",
    )


def _gateway_responses(responses: Iterable[Any]) -> dict[str, GatewayResponse]:
    compiled = {}
    for response in responses:
        headers = []
        for key, value in (response.response_parameters or {}).items():
            if key.startswith("gatewayresponse.header.") and isinstance(value, str):
                headers.append((key.split(".", 2)[2], value.strip("'")))
        templates = response.response_templates or {}
        compiled[response.response_type] = GatewayResponse(
            status=int(response.status_code) if response.status_code else None,
            headers=tuple(headers),
            template=templates.get("application/json") or next(iter(templates.values()), None),
        )
    return compiled


def compile_throttle(method_settings: Mapping[str, Any]) -> Throttle:
    """Token buckets from a stage's method settings (`*/*` for the stage, `path/VERB` per method)."""
    stage = None
    methods = {}
    for key, settings in (method_settings or {}).items():
        bucket = _bucket(settings)
        if bucket is None:
            continue
        path, _, verb = key.rpartition("/")
        if key == "*/*":
            stage = bucket
        elif path and verb:
            methods[("/" + path.replace("~1", "/").lstrip("/"), verb.upper())] = bucket
    return Throttle(stage=stage, methods=methods)


def _bucket(settings: Mapping[str, Any]) -> TokenBucket | None:
    rate = settings.get("throttlingRateLimit")
    burst = settings.get("throttlingBurstLimit")
    if rate is None and burst is None:
        return None
    rate_value = float(rate) if rate is not None else float(burst or 0)
    burst_value = int(burst) if burst is not None else max(1, math.ceil(rate_value))
    return TokenBucket(rate_value, burst_value)


# Routing


def build_tree(resources: Iterable[Resource]) -> Node:
    root = Node()
    for resource in resources:
        node = root
        parts = [part for part in resource.path.split("/") if part]
        for index, part in enumerate(parts):
            if part.startswith("{") and part.endswith("+}"):
                if index == len(parts) - 1:
                    node.greedy = (part[1:-2], resource)
                break
            if part.startswith("{") and part.endswith("}"):
                if node.param is None:
                    node.param = (part[1:-1], Node())
                node = node.param[1]
            else:
                node = node.literals.setdefault(part, Node())
        else:
            node.resource = resource
    return root


def match_route(node: Node, segments: list[str], index: int = 0) -> tuple[Resource, dict[str, str]] | None:
    """The resource for a path: literal parts win over `{param}`, which wins over `{proxy+}`."""
    if index == len(segments):
        if node.resource is not None and node.resource.methods:
            return node.resource, {}
        return None
    segment = segments[index]
    child = node.literals.get(segment)
    if child is not None:
        found = match_route(child, segments, index + 1)
        if found is not None:
            return found
    if node.param is not None:
        name, child = node.param
        found = match_route(child, segments, index + 1)
        if found is not None:
            found[1][name] = segment
            return found
    if node.greedy is not None and node.greedy[1].methods:
        name, resource = node.greedy
        return resource, {name: "/".join(segments[index:])}
    return None


def _probe_path(resource_path: str) -> str:
    parts = []
    for part in resource_path.split("/"):
        parts.append(PROBE_VALUE if part.startswith("{") and part.endswith("}") else part)
    return "/".join(parts) or "/"


# Requests and events


def _request_path(environ: Mapping[str, Any]) -> str:
    raw = environ.get("PATH_INFO") or "/"
    try:
        path: str = raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        path = raw
    return path if path.startswith("/") else "/" + path


BODY_READ = "shopstack.body_read"
DRAIN_LIMIT_BYTES = 1024 * 1024


def _finish_reading(environ: dict[str, Any]) -> bool:
    """A kept-alive connection must not carry an unread body into the next request: drain a
    small one; for a large one, False (the connection is closed after the answer)."""
    length = _content_length(environ)
    if not length or environ.get(BODY_READ):
        return True
    if length > DRAIN_LIMIT_BYTES or environ.get("wsgi.input") is None:
        return False
    environ["wsgi.input"].read(length)
    return True


def _content_length(environ: Mapping[str, Any]) -> int:
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _read_body(environ: dict[str, Any]) -> bytes | None:
    """The request body, or None when it is over API Gateway's 10 MB payload limit."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = _content_length(environ)
    if length:
        environ[BODY_READ] = True
        return bytes(stream.read(length))
    if environ.get("wsgi.input_terminated") or "chunked" in environ.get("HTTP_TRANSFER_ENCODING", ""):
        data = bytes(stream.read(MAX_PAYLOAD_BYTES + 1))
        return None if len(data) > MAX_PAYLOAD_BYTES else data
    return b""


_HEADER_NAMES: dict[str, str] = {"CONTENT_TYPE": "Content-Type", "CONTENT_LENGTH": "Content-Length"}


def _header_name(key: str) -> str | None:
    name = _HEADER_NAMES.get(key)
    if name is None and key.startswith("HTTP_"):
        name = "-".join(part.capitalize() for part in key[5:].split("_"))
        _HEADER_NAMES[key] = name
    return name


def request_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    headers = {}
    for key, value in environ.items():
        if key[:5] == "HTTP_" or key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = _header_name(key)
            if name is not None and value != "":
                headers[name] = value
    return headers


def query_parameters(query: str) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    if not query:
        return None, None
    from urllib.parse import parse_qsl

    multi: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        multi.setdefault(key, []).append(value)
    if not multi:
        return None, None
    return {key: values[-1] for key, values in multi.items()}, multi


def is_binary(content_type: str, binary_media_types: Iterable[str], body: bytes) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    for pattern in binary_media_types:
        if pattern == "*/*" or _media_matches(media, pattern.lower()):
            return True
    if not media:
        return not _is_utf8(body)
    textual = media.startswith(TEXT_TYPES) or media.endswith(("+json", "+xml"))
    return not textual or not _is_utf8(body)


def _media_matches(media: str, pattern: str) -> bool:
    if pattern.endswith("/*"):
        return media.startswith(pattern[:-1])
    return media == pattern


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def build_event(
    api: Api,
    resource: Resource,
    request: Request,
    path_params: dict[str, str],
    body: bytes,
    claims: dict[str, str] | None,
    account_id: str,
) -> dict[str, Any]:
    """The Lambda proxy integration event (REST API, payload format 1.0)."""
    environ = request.environ
    headers = request_headers(environ)
    source_ip = environ.get("REMOTE_ADDR") or "127.0.0.1"
    headers.setdefault("X-Forwarded-For", source_ip)
    headers.setdefault("X-Forwarded-Proto", environ.get("wsgi.url_scheme", "http"))
    if "SERVER_PORT" in environ:
        headers.setdefault("X-Forwarded-Port", str(environ["SERVER_PORT"]))
    query, multi_query = query_parameters(environ.get("QUERY_STRING", ""))
    binary = bool(body) and is_binary(headers.get("Content-Type", ""), api.binary_media_types, body)
    if not body:
        body_text = None
    elif binary:
        body_text = base64.b64encode(body).decode("ascii")
    else:
        body_text = body.decode("utf-8")
    context: dict[str, Any] = {
        "resourceId": resource.id,
        "resourcePath": resource.path,
        "httpMethod": request.method,
        "extendedRequestId": request.request_id,
        "requestTime": request.request_time,
        "path": f"/{api.stage}{request.path}",
        "accountId": account_id,
        "protocol": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
        "stage": api.stage,
        "domainPrefix": api.id,
        "requestTimeEpoch": request.epoch_ms,
        "requestId": request.request_id,
        "identity": _identity(source_ip, headers.get("User-Agent")),
        "domainName": headers.get("Host", "localhost"),
        "apiId": api.id,
    }
    if claims is not None:
        context["authorizer"] = {"claims": claims}
    return {
        "resource": resource.path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": {name: [value] for name, value in headers.items()} or None,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": path_params or None,
        "stageVariables": dict(api.stage_variables) if api.stage_variables else None,
        "requestContext": context,
        "body": body_text,
        "isBase64Encoded": binary,
    }


def _clf_time(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def _identity(source_ip: str, user_agent: str | None) -> dict[str, Any]:
    return {
        "cognitoIdentityPoolId": None,
        "accountId": None,
        "cognitoIdentityId": None,
        "caller": None,
        "sourceIp": source_ip,
        "principalOrgId": None,
        "accessKey": None,
        "cognitoAuthenticationType": None,
        "cognitoAuthenticationProvider": None,
        "userArn": None,
        "userAgent": user_agent,
        "user": None,
    }


# Responses


def proxy_response(payload: Any) -> tuple[int, Headers, bytes] | None:
    """Map a Lambda proxy response to an HTTP response; None when it is malformed (API Gateway: 502)."""
    if not isinstance(payload, dict):
        return None
    status = _status_code(payload.get("statusCode"))
    single = payload.get("headers") or {}
    multi = payload.get("multiValueHeaders") or {}
    body = payload.get("body")
    if status is None or not isinstance(single, dict) or not isinstance(multi, dict):
        return None
    if body is not None and not isinstance(body, str):
        return None
    headers = _merge_headers(single, multi)
    if headers is None:
        return None
    data = _response_body(body, payload.get("isBase64Encoded"))
    if data is None:
        return None
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return status, headers, data


def _status_code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int) and 100 <= value <= 599:
        return value
    return None


def _merge_headers(single: Mapping[str, Any], multi: Mapping[str, Any]) -> Headers | None:
    headers: Headers = []
    seen = set()
    for name, values in multi.items():
        if not isinstance(values, list):
            return None
        seen.add(str(name).lower())
        headers.extend((str(name), _header_value(value)) for value in values)
    for name, value in single.items():
        if str(name).lower() not in seen:
            headers.append((str(name), _header_value(value)))
    return [(name, value) for name, value in headers if name.lower() not in DROPPED_RESPONSE_HEADERS]


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _response_body(body: str | None, is_base64: Any) -> bytes | None:
    if not body:
        return b""
    if is_base64 is True or is_base64 == "true":
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return None
    return body.encode("utf-8")


def _mock_response(mock: MockIntegration, request: Request) -> tuple[int, Headers, bytes]:
    headers = list(mock.headers)
    if mock.allowed_origins:
        origin = request.environ.get("HTTP_ORIGIN", "")
        if origin in mock.allowed_origins:
            headers = [(n, v) for n, v in headers if n.lower() != "access-control-allow-origin"]
            headers.append(("Access-Control-Allow-Origin", origin))
    headers.append(("x-amzn-RequestId", request.request_id))
    if mock.body and not any(n.lower() == "content-type" for n, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return mock.status, headers, mock.body.encode("utf-8")


def _json_response(status: int, document: Any, request: Request) -> tuple[int, Headers, bytes]:
    headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request.request_id)]
    return status, headers, json.dumps(document).encode("utf-8")


def _error(api: Api | None, kind: str, request: Request) -> tuple[int, Headers, bytes]:
    """A gateway response, with the API's customizations (DEFAULT_4XX/5XX included) applied."""
    status, message, error_type = ERRORS[kind]
    custom = None
    if api is not None:
        default = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
        custom = api.gateway_responses.get(kind) or api.gateway_responses.get(default)
    body = json.dumps({"message": message})
    headers = {"content-type": ("Content-Type", "application/json")}
    if custom is not None:
        status = custom.status or status
        headers.update((name.lower(), (name, value)) for name, value in custom.headers)
        if custom.template:
            body = _render_error_template(custom.template, message, kind, request)
    merged = [*headers.values(), ("x-amzn-RequestId", request.request_id), ("x-amzn-ErrorType", error_type)]
    return status, merged, body.encode("utf-8")


def _render_error_template(template: str, message: str, kind: str, request: Request) -> str:
    return (
        template.replace("$context.error.messageString", json.dumps(message))
        .replace("$context.error.message", message)
        .replace("$context.error.responseType", kind)
        .replace("$context.requestId", request.request_id)
    )
