"""The order reconciler, run on a schedule (EventBridge rule, `reconcileIntervalMinutes` in
cdk.json) and, locally, when `shopstack up` becomes ready: drives every in-flight order past its
deadline to its next state (see `orders.service.reconcile`). An operator may invoke it with
`{"stuckAfterSeconds": 0}` to drive every in-flight order at once (a PAID order's workflow too,
without waiting out the workflow's timeout), and a drill (or a test) may add
`{"reservationSeconds": 0}` to expire every unpaid order now."""

from __future__ import annotations

from typing import Any

from commerce.clock import now
from commerce.config import int_setting
from commerce.observability import observed
from orders import bootstrap, service


def _seconds(event: Any, name: str, setting: str, default: int) -> int:
    value = event.get(name) if isinstance(event, dict) else None
    return (
        value
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0
        else int_setting(setting, default)
    )


@observed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    stuck = _seconds(event, "stuckAfterSeconds", "RECONCILE_STUCK_AFTER_SECONDS", 10)
    asked = isinstance(event, dict) and "stuckAfterSeconds" in event
    deadlines = service.Deadlines(
        reservation_seconds=_seconds(event, "reservationSeconds", "RESERVATION_TTL_SECONDS", 900),
        stuck_after_seconds=stuck,
        workflow_seconds=stuck if asked else int_setting("ORDER_WORKFLOW_TIMEOUT_SECONDS", 300),
    )
    return {"reconciled": service.reconcile(bootstrap.orders(), now=now(), deadlines=deadlines)}
