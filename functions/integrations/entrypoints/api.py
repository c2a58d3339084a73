"""Webhooks HTTP API: staff register receivers of shopstack's events, rotate their secrets, read
their delivery logs and redeliver (`/admin/webhooks*`, admin group only, checked by
`commerce.http` before routing)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from commerce.clock import now
from commerce.contract import responses
from commerce.errors import ValidationFailed
from commerce.http import json_response, make_resolver
from commerce.observability import observed
from commerce.pagination import MAX_LIMIT
from integrations import bootstrap, service
from integrations.entrypoints.schemas import (
    EVENT_TYPE,
    WebhookCreated,
    WebhookDeliveryList,
    WebhookDeliveryOut,
    WebhookIn,
    WebhookList,
    WebhookOut,
)

app = make_resolver()

ADMIN = (401, 403, 503)
"""The authorizer's 401, `commerce.http`'s 403 for anyone not in the admin group."""
ID = Path(pattern=r"^[A-Za-z0-9]{1,64}$")


@app.post("/admin/webhooks", responses=responses(201, WebhookCreated, *ADMIN, 422, description="Created"))
def register(body: Annotated[WebhookIn, Body()]):
    import re

    bad = [e for e in body.events if not re.fullmatch(EVENT_TYPE, e)]
    if bad:
        raise ValidationFailed("Unknown event type names.", errors=[{"field": "events", "message": ", ".join(bad)}])
    created, secret = service.register(
        bootstrap.integrations(), url=body.url, events=body.events, description=body.description, now=now()
    )
    return json_response(201, {**service.subscription_json(created), "secret": secret})


@app.get("/admin/webhooks", responses=responses(200, WebhookList, *ADMIN))
def list_webhooks():
    items = [service.subscription_json(s) for s in bootstrap.integrations().subscriptions.all()]
    return json_response(200, {"items": sorted(items, key=lambda s: s["createdAt"])})


@app.delete("/admin/webhooks/<webhookId>", responses=responses(204, None, *ADMIN, 404, 422, description="Deleted"))
def delete_webhook(webhookId: Annotated[str, ID]):
    deps = bootstrap.integrations()
    service.subscription(deps, webhookId)
    deps.subscriptions.delete(webhookId)
    return Response(status_code=204, body="")


@app.post("/admin/webhooks/<webhookId>/rotate-secret", responses=responses(200, WebhookCreated, *ADMIN, 404, 422))
def rotate_secret(webhookId: Annotated[str, ID]):
    rotated, secret = service.rotate_secret(bootstrap.integrations(), webhookId, now())
    return json_response(200, {**service.subscription_json(rotated), "secret": secret})


@app.post("/admin/webhooks/<webhookId>/enable", responses=responses(200, WebhookOut, *ADMIN, 404, 422))
def enable(webhookId: Annotated[str, ID]):
    return json_response(200, service.subscription_json(service.enable(bootstrap.integrations(), webhookId)))


@app.get("/admin/webhooks/<webhookId>/deliveries", responses=responses(200, WebhookDeliveryList, *ADMIN, 404, 422))
def deliveries(webhookId: Annotated[str, ID], limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50):
    deps = bootstrap.integrations()
    service.subscription(deps, webhookId)
    items = [d.to_json() for d in deps.deliveries.of_webhook(webhookId, limit)]
    return json_response(200, {"items": items})


@app.post(
    "/admin/webhooks/<webhookId>/deliveries/<deliveryId>/redeliver",
    responses=responses(202, WebhookDeliveryOut, *ADMIN, 404, 409, 422, description="Accepted"),
)
def redeliver(webhookId: Annotated[str, ID], deliveryId: Annotated[str, ID]):
    again = service.redeliver(bootstrap.integrations(), webhookId, deliveryId, now())
    return json_response(202, again.to_json())


@observed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
