"""The gateway's WSGI app: a request goes to the local endpoints, the storefront's distribution,
or an API (WAF rate limits, routing, the method's throttling, payload limit, authorizer, then its
MOCK or Lambda proxy integration, answered 504 at the integration timeout)."""

from __future__ import annotations

import inspect
import math
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from http import HTTPStatus
from typing import Any, TextIO

from shopstack.localcloud import auth, ratelimit, signing, site
from shopstack.localcloud.alarms import local_clients
from shopstack.localcloud.gateway import local_endpoints
from shopstack.localcloud.gateway.access_log import clf_time, log_request
from shopstack.localcloud.gateway.authorizer import authorize
from shopstack.localcloud.gateway.deployed import backend, compile_api, declared_resources, stack_templates
from shopstack.localcloud.gateway.gateway_responses import error_response
from shopstack.localcloud.gateway.http_request import (
    MAX_PAYLOAD_BYTES,
    content_length,
    finish_reading,
    read_body,
    request_path,
)
from shopstack.localcloud.gateway.mock_integration import mock_response
from shopstack.localcloud.gateway.model import Api, CognitoAuthorizer, Headers, Invoke, Method, Request, Resource
from shopstack.localcloud.gateway.proxy_event import build_event
from shopstack.localcloud.gateway.proxy_response import proxy_response
from shopstack.localcloud.gateway.routes import match_route, probe_path
from shopstack.localcloud.lambda_pool import REPO_ROOT, QueueTimeout
from shopstack.localcloud.telemetry import TELEMETRY

# API Gateway answers 504 when the integration has not answered within 29 s (the REST API
# default and maximum). The Lambda goes on running to its own timeout; only the caller gives up.
INTEGRATION_TIMEOUT_SECONDS = 29.0
STATUS_LINES = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}


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
        apigateway = backend("apigateway", self.account_id, self.region)
        pools = backend("cognito-idp", self.account_id, self.region).user_pools
        declared = declared_resources(self.account_id, self.region)
        rest_apis = list(apigateway.apis.values())
        self._apis = tuple(compile_api(rest_api, pools, self.region, declared) for rest_api in rest_apis)
        # the WAFv2 web ACLs on the stages (their rate-based rules), from the deployed templates
        stacks = stack_templates(self.account_id, self.region)
        self.rate_limiter.load(ratelimit.compile_web_acls(stacks, (api.id for api in self._apis)))
        self.site.refresh()
        self._claims_cache = {}

    @property
    def apis(self) -> tuple[Api, ...]:
        """The deployed REST APIs as `refresh()` compiled them."""
        return self._apis

    @property
    def aws_clients(self) -> Any:
        """boto3 clients of the local cloud's moto (the observability endpoints read with them)."""
        return self._aws

    def probe_paths(self) -> list[str]:
        paths: list[str] = []
        for api in self._apis:
            for resource in api.resources:
                if any(verb != "OPTIONS" for verb in resource.methods):
                    path = probe_path(resource.path)
                    if path not in paths:
                        paths.append(path)
        return paths

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = request_path(environ)
        epoch_ms = int(time.time() * 1000)
        request = Request(
            environ=environ,
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            raw_path=path,
            path=path,
            request_id=str(uuid.uuid4()),
            started=time.perf_counter(),
            epoch_ms=epoch_ms,
            request_time=clf_time(epoch_ms),
        )
        try:
            status, headers, body = self._handle(request)
        except Exception as exc:
            print(f"gateway: {request.method} {request.path}: {exc!r}", file=sys.stderr)
            status, headers, body = error_response(None, "INTEGRATION_FAILURE", request)
        headers.append(("Content-Length", str(len(body))))
        if not finish_reading(request.environ):
            headers.append(("Connection", "close"))
        start_response(STATUS_LINES.get(status, f"{status} Unknown"), headers)
        latency_ms = (time.perf_counter() - request.started) * 1000
        self._access_log(request, status, len(body), latency_ms)
        if request.api is not None:
            api = request.api
            TELEMETRY.api_request(api.name, api.stage, request.resource_path, request.method, status, latency_ms)
        return [body]

    def _handle(self, request: Request) -> tuple[int, Headers, bytes]:
        served = local_endpoints.serve(self, request)
        if served is not None:
            return served
        if self.site.relays(request.path):
            body = read_body(request.environ)
            if body is None:
                return error_response(None, "REQUEST_TOO_LARGE", request)
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
            return error_response(first, "MISSING_AUTHENTICATION_TOKEN", request)
        api, resource, params, request.path = found
        request.resource_path = resource.path
        method = resource.methods.get(request.method) or resource.methods.get("ANY")
        if method is None:
            return error_response(api, "MISSING_AUTHENTICATION_TOKEN", request)
        wait = api.throttle.take(resource.path, request.method)
        if wait > 0:
            status, headers, body = error_response(api, "THROTTLED", request)
            if not any(name.lower() == "retry-after" for name, _ in headers):
                headers.append(("Retry-After", str(max(1, math.ceil(wait)))))
            return status, headers, body
        if content_length(request.environ) > MAX_PAYLOAD_BYTES:
            return error_response(api, "REQUEST_TOO_LARGE", request)
        claims = None
        if method.authorizer is not None:
            claims = self._authorize(method.authorizer, request.environ)
            if claims is None:
                return error_response(api, "UNAUTHORIZED", request)
        if method.mock is not None:
            return mock_response(method.mock, request)
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
        body = read_body(request.environ)
        if body is None:
            return error_response(api, "REQUEST_TOO_LARGE", request)
        if method.function_arn is None:
            return error_response(api, "INTEGRATION_FAILURE", request)
        event = build_event(api, resource, request, params, body, claims, self.account_id)
        deadline = time.monotonic() + self.integration_timeout - (time.perf_counter() - request.started)
        try:
            payload = self._call_integration(method.function_arn, event, deadline)
        except (FutureTimeout, TimeoutError) as exc:
            print(f"gateway: {method.function_arn}: endpoint request timed out ({exc!r})", file=sys.stderr)
            return error_response(api, "INTEGRATION_TIMEOUT", request)
        except Exception as exc:
            print(f"gateway: {method.function_arn} failed: {exc!r}", file=sys.stderr)
            return error_response(api, "INTEGRATION_FAILURE", request)
        mapped = proxy_response(payload)
        if mapped is None:
            print(f"gateway: malformed Lambda proxy response from {method.function_arn}", file=sys.stderr)
            return error_response(api, "INTEGRATION_FAILURE", request)
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
        return authorize(authorizer, environ, self._keys or {}, self._claims_cache)

    def _access_log(self, request: Request, status: int, size: int, latency_ms: float) -> None:
        log_request(self.log_stream, request, status, size, latency_ms)


def _accepts_keyword(function: Callable[..., Any], name: str) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
