"""Consumes the delivery queue: each message is one attempt of one delivery. A batch's attempts
run at the same time, each bounded by the sender's timeout, so a slow receiver delays no other;
a message not yet due is sent again with the rest of its wait. Only records that failed to run
(not deliveries that failed: those are retried by their own schedule) are reported back."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from commerce.clock import now
from integrations import bootstrap, service


def _one(record: dict[str, Any]) -> str | None:
    """The record's message id when it could not be handled (SQS redelivers it), else None."""
    from integrations.adapters.delivery import early

    try:
        body = json.loads(record["body"])
        moment = now()
        if not early(body, moment):
            service.attempt(bootstrap.integrations(), str(body["deliveryId"]), int(body["attempt"]), moment)
    except Exception:
        from aws_lambda_powertools import Logger

        Logger(service="integrations").exception("delivery record failed")
        return str(record.get("messageId"))
    return None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records") or []
    with ThreadPoolExecutor(max_workers=max(1, len(records))) as pool:
        failed = [m for m in pool.map(_one, records) if m]
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}
