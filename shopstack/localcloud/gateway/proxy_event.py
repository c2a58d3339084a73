"""The Lambda proxy integration event (REST API, payload format 1.0) of a routed request: headers,
query string, path parameters, the authorizer's claims, and the body (base64 when binary)."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

from shopstack.localcloud.gateway.http_request import query_parameters, request_headers
from shopstack.localcloud.gateway.model import Api, Request, Resource

TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
    "application/graphql",
)


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
