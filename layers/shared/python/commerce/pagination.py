"""Opaque list cursors: a base64url JSON of the store's resume key, bound to the query."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from commerce.errors import ValidationFailed

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def encode_cursor(key: dict[str, Any] | None, *, query: str) -> str | None:
    if not key:
        return None
    raw = json.dumps({"k": key, "q": query}, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, query: str) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("q") != query or not isinstance(data.get("k"), dict):
            raise ValueError("cursor belongs to another query")
        key: dict[str, Any] = data["k"]
        return key
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValidationFailed(
            "The cursor is not valid for this list.", errors=[{"field": "cursor", "message": str(exc)}]
        ) from exc
