"""Wires the webhook use cases to their adapters, once per process, on first use."""

from __future__ import annotations

import os
from functools import cache

from integrations.service import Integrations


def loopback_http_allowed() -> bool:
    """Plain http to loopback receivers only where AWS itself is answered on loopback (the local
    cloud); on AWS every destination is https."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    return endpoint.startswith(("http://127.0.0.1:", "http://localhost:", "http://[::1]:"))


@cache
def integrations() -> Integrations:
    from commerce.eventbridge import EventBridgePublisher
    from integrations.adapters.delivery import HttpSender, SqsDeliveryQueue, resolve
    from integrations.adapters.dynamodb import DynamoDeliveries, DynamoSubscriptions

    return Integrations(
        subscriptions=DynamoSubscriptions(),
        deliveries=DynamoDeliveries(),
        queue=SqsDeliveryQueue(),
        sender=HttpSender(),
        resolve=resolve,
        publisher=EventBridgePublisher(),
        allow_loopback_http=loopback_http_allowed(),
    )
