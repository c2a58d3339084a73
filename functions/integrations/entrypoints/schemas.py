"""Request and response bodies of the webhooks API; the OpenAPI document is built from them. Names
are prefixed so they never clash with another service's schemas in the merged document."""

from __future__ import annotations

from pydantic import BaseModel, Field

from commerce.contract import OUT, STRICT

EVENT_TYPE = r"^(\*|[A-Z][A-Za-z]{2,63})$"


class WebhookIn(BaseModel):
    model_config = STRICT
    url: str = Field(min_length=8, max_length=2048, pattern=r"^https?://", description="https (loopback http locally)")
    events: list[str] = Field(
        min_length=1,
        max_length=50,
        description='event types, or ["*"] for all',
        json_schema_extra={"items": {"type": "string", "pattern": EVENT_TYPE}},
    )
    description: str = Field(default="", max_length=500)


class WebhookOut(BaseModel):
    model_config = OUT
    webhookId: str
    url: str
    events: list[str]
    description: str
    status: str
    failingSince: str | None
    createdAt: str


class WebhookCreated(WebhookOut):
    secret: str = Field(description="shown once: verify X-Shopstack-Signature with it")


class WebhookList(BaseModel):
    model_config = OUT
    items: list[WebhookOut]


class WebhookAttemptOut(BaseModel):
    model_config = OUT
    attempt: int
    at: str
    statusCode: int | None
    latencyMs: int
    response: str = Field(description="the first 512 bytes of the receiver's answer")
    error: str | None


class WebhookDeliveryOut(BaseModel):
    model_config = OUT
    deliveryId: str
    webhookId: str
    eventId: str
    eventType: str
    status: str
    createdAt: str
    nextAttemptAt: str | None
    attempts: list[WebhookAttemptOut]


class WebhookDeliveryList(BaseModel):
    model_config = OUT
    items: list[WebhookDeliveryOut]
