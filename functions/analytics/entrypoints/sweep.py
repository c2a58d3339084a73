"""Scheduled (EventBridge rule): counts the carts left with items for `ABANDONED_CART_MINUTES`
(cdk.json `abandonedCartMinutes`) as abandoned. The event may override the idle time
(`{"abandonedCartMinutes": n}`), as a test or an operator running it by hand does."""

from __future__ import annotations

from typing import Any

from analytics import bootstrap
from commerce.clock import now
from commerce.config import setting
from commerce.observability import observed


@observed
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    override = (event or {}).get("abandonedCartMinutes")
    idle = int(setting("ABANDONED_CART_MINUTES") if override is None else override)
    return {"abandoned": bootstrap.aggregates().sweep(now(), idle)}
