"""The order reconciler, run on a schedule (EventBridge rule, `reconcileIntervalMinutes` in
cdk.json) and, locally, when `shopstack up` becomes ready: drives every in-flight order past its
deadline to its next state (see `orders.service.reconcile`). An operator may invoke it with
`{"stuckAfterSeconds": 0}` to drive every in-flight order at once."""

from __future__ import annotations

from typing import Any

from commerce.clock import now
from commerce.config import int_setting
from orders import bootstrap, service


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    stuck = event.get("stuckAfterSeconds") if isinstance(event, dict) else None
    deadlines = service.Deadlines(
        reservation_seconds=int_setting("RESERVATION_TTL_SECONDS", 900),
        stuck_after_seconds=int(stuck) if isinstance(stuck, int) else int_setting("RECONCILE_STUCK_AFTER_SECONDS", 60),
    )
    return {"reconciled": service.reconcile(bootstrap.orders(), now=now(), deadlines=deadlines)}
