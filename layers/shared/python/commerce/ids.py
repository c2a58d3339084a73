"""Opaque, unguessable, time-ordered identifiers (ULID: 48-bit ms time + 80 random bits)."""

from __future__ import annotations

import os
import time
import uuid

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(now_ms: int | None = None) -> str:
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, index = divmod(value, 32)
        chars.append(_ALPHABET[index])
    return "".join(reversed(chars))


def stable_id(*parts: str) -> str:
    """The same parts always give the same id: for records that a retry must find again."""
    return uuid.uuid5(uuid.NAMESPACE_URL, "shopstack:" + "\x1f".join(parts)).hex
