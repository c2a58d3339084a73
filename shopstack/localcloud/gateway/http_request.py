"""Reading the HTTP request: its path, headers, query string and body (API Gateway's 10 MB
payload limit), and draining an unread body before a kept-alive connection's next request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024

BODY_READ = "shopstack.body_read"

DRAIN_LIMIT_BYTES = 1024 * 1024


def request_path(environ: Mapping[str, Any]) -> str:
    raw = environ.get("PATH_INFO") or "/"
    try:
        path: str = raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        path = raw
    return path if path.startswith("/") else "/" + path


def finish_reading(environ: dict[str, Any]) -> bool:
    """A kept-alive connection must not carry an unread body into the next request: drain a
    small one; for a large one, False (the connection is closed after the answer)."""
    length = content_length(environ)
    if not length or environ.get(BODY_READ):
        return True
    if length > DRAIN_LIMIT_BYTES or environ.get("wsgi.input") is None:
        return False
    environ["wsgi.input"].read(length)
    return True


def content_length(environ: Mapping[str, Any]) -> int:
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def read_body(environ: dict[str, Any]) -> bytes | None:
    """The request body, or None when it is over API Gateway's 10 MB payload limit."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = content_length(environ)
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
