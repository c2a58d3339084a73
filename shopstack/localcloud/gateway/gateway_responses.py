"""Gateway responses: the errors API Gateway answers itself (403 missing authentication token,
401, 429, 413, 502, 504), with the API's customizations (DEFAULT_4XX/5XX included) applied."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from shopstack.localcloud.gateway.model import Api, GatewayResponse, Headers, Request

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


def compile_gateway_responses(responses: Iterable[Any]) -> dict[str, GatewayResponse]:
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


def error_response(api: Api | None, kind: str, request: Request) -> tuple[int, Headers, bytes]:
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
