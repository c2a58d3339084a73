"""Invoke a Lambda handler as API Gateway's REST proxy integration does: unit tests only."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

EVENT: dict[str, Any] = json.loads((Path(__file__).parents[1] / "fixtures/events/apigw_rest_proxy.json").read_text())


class Context:
    """The attributes of Lambda's context object that handlers read."""

    aws_request_id = "req-1"
    memory_limit_in_mb = 512

    def __init__(self, function_name: str = "Api") -> None:
        self.function_name = function_name
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def proxy_event(
    method: str,
    resource: str,
    path: str,
    *,
    body: Any = None,
    claims: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    event = copy.deepcopy(EVENT)
    params = dict(zip(resource.strip("/").split("/"), path.strip("/").split("/"), strict=True))
    event.update(
        httpMethod=method,
        resource=resource,
        path=path,
        pathParameters={k[1:-1]: v for k, v in params.items() if k.startswith("{")} or None,
        queryStringParameters=query,
        body=body if body is None or isinstance(body, str) else json.dumps(body),
    )
    event["requestContext"]["authorizer"] = {"claims": claims} if claims else None
    return event


def invoke(handler: Any, event: dict[str, Any], function_name: str) -> tuple[int, Any]:
    """(status, parsed JSON body or None); every error answer must be problem+json."""
    response = handler(event, Context(function_name))
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = values[-1]
    if response["statusCode"] >= 400:
        assert headers["content-type"] == "application/problem+json"
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None
