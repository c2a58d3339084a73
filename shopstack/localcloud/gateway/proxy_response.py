"""The Lambda proxy integration's answer mapped to the HTTP response; a malformed one is None
(API Gateway answers 502)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from shopstack.localcloud.gateway.model import Headers

DROPPED_RESPONSE_HEADERS = frozenset({"content-length", "connection", "transfer-encoding", "keep-alive"})


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
