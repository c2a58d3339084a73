"""Runtime switches of the local cloud, served by the local gateway for tests and operators.

GET  /_localcloud/ses      -> {"mode": "sandbox" | "production"}
PUT  /_localcloud/ses      {"mode": "production"}
GET  /_localcloud/chaos    -> {"dynamodb": 0.05, "injected": {...}, "writes": {...}}
PUT  /_localcloud/chaos    {"dynamodb": 0.05, "stepfunctions": 1}   (0 turns it off)
GET  /_localcloud/schedules          -> {"schedules": [{"name", "expression", "targets", "lastFiredAt",
                                         "nextFireAt", "lastResult", ...}]}
GET  /_localcloud/schedules/<rule>   -> that rule's entry
POST /_localcloud/schedules/<rule>   [JSON body: the input to send instead of the rule's own]
                                     -> {"rule": "<rule>", "results": [{"target", "function",
                                         "result" | "error"}]}   (fires now, waits for the targets)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from shopstack.localcloud import schedules, ses_sandbox
from shopstack.localcloud.chaos import CHAOS

SES_PATH = "/_localcloud/ses"
CHAOS_PATH = "/_localcloud/chaos"
SCHEDULES_PATH = "/_localcloud/schedules"
SWITCH_PATHS = (SES_PATH, CHAOS_PATH)

Reply = tuple[int, Any]


class ControlPaths:
    """The paths served here: the switches, `/_localcloud/schedules` and one path per rule below it
    (the gateway asks `path in PATHS`)."""

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and (
            path in SWITCH_PATHS or path == SCHEDULES_PATH or path.startswith(SCHEDULES_PATH + "/")
        )

    def __iter__(self) -> Iterator[str]:
        return iter((*SWITCH_PATHS, SCHEDULES_PATH))


PATHS = ControlPaths()


def handle(method: str, path: str, body: bytes) -> Reply:
    """(status, JSON document) for a control request."""
    if path == SCHEDULES_PATH or path.startswith(SCHEDULES_PATH + "/"):
        return _schedules(method, path[len(SCHEDULES_PATH) + 1 :], body)
    if path not in SWITCH_PATHS:
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


# --- scheduled rules -----------------------------------------------------------------------------


def problem(status: int, title: str, code: str, detail: str) -> dict[str, Any]:
    """An RFC 9457 problem document, as the API's own errors are spelled."""
    return {"type": f"/problems/{code}", "title": title, "status": status, "detail": detail, "code": code}


def _schedules(method: str, name: str, body: bytes) -> Reply:
    scheduler = schedules.active()
    listing = scheduler.describe() if scheduler is not None else []
    if not name:
        if method != "GET":
            return 405, problem(405, "Method Not Allowed", "method_not_allowed", f"{method} not allowed; use GET")
        return 200, {"schedules": listing}
    entry = next((rule for rule in listing if rule["name"] == name), None)
    if scheduler is None or entry is None:
        known = ", ".join(rule["name"] for rule in listing) or "none"
        detail = f"no enabled scheduled rule named {name!r}; scheduled rules: {known}"
        return 404, problem(404, "Not Found", "schedule_not_found", detail)
    if method == "GET":
        return 200, entry
    if method != "POST":
        return 405, problem(405, "Method Not Allowed", "method_not_allowed", f"{method} not allowed; use GET or POST")
    try:
        payload = json.loads(body) if body.strip() else schedules.RULE_INPUT
    except ValueError as exc:
        return 400, problem(400, "Bad Request", "malformed_json", f"the body is not valid JSON: {exc}")
    try:
        results = scheduler.fire(name, payload)
    except schedules.UnknownRule:
        return 404, problem(404, "Not Found", "schedule_not_found", f"no enabled scheduled rule named {name!r}")
    return 200, {"rule": name, "results": results}
