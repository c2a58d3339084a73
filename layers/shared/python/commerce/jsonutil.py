"""Compact JSON, pure: usable by domain code, the event publisher and the HTTP edge alike."""

from __future__ import annotations

import json
from typing import Any


def dumps(body: Any) -> str:
    """Compact, stable JSON: replays of a stored response are byte-for-byte equal."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)
