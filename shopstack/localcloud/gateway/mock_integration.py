"""MOCK integrations (CDK's CORS preflights): their default response compiled from the
integration responses, the origin test of their template, and the answer to a request."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from shopstack.localcloud.gateway.model import Headers, MockIntegration, Request

HEADER_PARAM = re.compile(r"^method\.response\.header\.(?P<name>.+)$")

ORIGIN_TEST = re.compile(r'\$origin\s*==\s*"(?P<origin>[^"]+)"')


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


def mock_response(mock: MockIntegration, request: Request) -> tuple[int, Headers, bytes]:
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
