"""The webhooks API as API Gateway invokes it (REST proxy events), with the ports in memory."""

from __future__ import annotations

from typing import Any

import pytest

from integrations import bootstrap
from integrations.entrypoints import api
from integrations.service import Integrations
from tests.unit.apigw import invoke, proxy_event
from tests.unit.integrations_fakes import integrations

STAFF = {"sub": "staff-1", "email": "staff@example.com", "cognito:groups": "admin"}
ADA = {"sub": "ada", "email": "ada@example.com"}


@pytest.fixture(autouse=True)
def deps(monkeypatch: pytest.MonkeyPatch) -> Integrations:
    fakes = integrations()
    monkeypatch.setattr(bootstrap, "integrations", lambda: fakes)
    return fakes


def call(method: str, resource: str, path: str | None = None, body: Any = None, claims: Any = STAFF) -> tuple[int, Any]:
    event = proxy_event(method, resource, path or resource, body=body, claims=claims)
    return invoke(api.handler, event, "IntegrationsApi")


def test_staff_register_a_receiver_see_its_secret_once_and_rotate_it() -> None:
    body = {"url": "https://hooks.example.com/in", "events": ["OrderConfirmed"], "description": "ERP"}
    status, created = call("POST", "/admin/webhooks", body=body)
    assert status == 201, created
    assert created["secret"].startswith("whsec_") and created["status"] == "ACTIVE"
    status, listed = call("GET", "/admin/webhooks")
    assert [w["webhookId"] for w in listed["items"]] == [created["webhookId"]]
    assert "secret" not in listed["items"][0] and "secrets" not in listed["items"][0]
    path = f"/admin/webhooks/{created['webhookId']}/rotate-secret"
    status, rotated = call("POST", "/admin/webhooks/{webhookId}/rotate-secret", path)
    assert status == 200 and rotated["secret"] != created["secret"]
    path = f"/admin/webhooks/{created['webhookId']}/deliveries"
    assert call("GET", "/admin/webhooks/{webhookId}/deliveries", path) == (200, {"items": []})
    assert call("DELETE", "/admin/webhooks/{webhookId}", f"/admin/webhooks/{created['webhookId']}")[0] == 204
    assert call("GET", "/admin/webhooks/{webhookId}/deliveries", path)[0] == 404


@pytest.mark.parametrize(
    "body",
    [
        {"url": "http://hooks.example.com/in", "events": ["*"]},
        {"url": "https://10.1.2.3/in", "events": ["*"]},
        {"url": "https://hooks.example.com/in", "events": []},
        {"url": "https://hooks.example.com/in", "events": ["order confirmed"]},
        {"url": "https://hooks.example.com/in", "events": ["*"], "secret": "mine"},
    ],
)
def test_bad_registrations_are_422_and_change_nothing(body: dict[str, Any], deps: Integrations) -> None:
    status, problem = call("POST", "/admin/webhooks", body=body)
    assert status == 422, problem
    assert deps.subscriptions.all() == []


def test_webhooks_are_for_staff() -> None:
    assert call("GET", "/admin/webhooks", claims=ADA)[0] == 403
    assert call("GET", "/admin/webhooks", claims=None)[0] == 401
