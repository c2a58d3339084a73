"""Runtime switches of the local cloud, served by the local gateway for tests and operators.

GET  /_localcloud/ses      -> {"mode": "sandbox" | "production"}
PUT  /_localcloud/ses      {"mode": "production"}
GET  /_localcloud/chaos    -> {"dynamodb": 0.05, "injected": {...}, "writes": {...}}
PUT  /_localcloud/chaos    {"dynamodb": 0.05}   (0 turns it off)
"""

from __future__ import annotations

import json
from typing import Any

from shopstack.localcloud import ses_sandbox
from shopstack.localcloud.chaos import CHAOS

SES_PATH = "/_localcloud/ses"
CHAOS_PATH = "/_localcloud/chaos"
PATHS = (SES_PATH, CHAOS_PATH)

Reply = tuple[int, Any]


def handle(method: str, path: str, body: bytes) -> Reply:
    """(status, JSON document) for a control request."""
    if path not in PATHS:
        return 404, {"message": f"no local cloud switch at {path}"}
    if method not in ("GET", "PUT"):
        return 405, {"message": f"{method} not allowed on {path}; use GET or PUT"}
    if method == "PUT":
        try:
            document = json.loads(body or b"{}")
            if not isinstance(document, dict):
                raise ValueError("expected a JSON object")
            _apply(path, document)
        except (ValueError, TypeError) as exc:
            return 400, {"message": str(exc)}
    return 200, _current(path)


def _apply(path: str, document: dict[str, Any]) -> None:
    if path == SES_PATH:
        ses_sandbox.set_mode(str(document.get("mode")))
    else:
        CHAOS.set(**{str(k): float(v) for k, v in document.items()})


def _current(path: str) -> dict[str, Any]:
    if path == SES_PATH:
        return {"mode": ses_sandbox.mode()}
    return CHAOS.describe()
