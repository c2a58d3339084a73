"""`shopstack replay`: re-drive the events the bus archived between two times, to every rule or to
one, as `aws events start-replay` does on AWS (docs/deploy.md). Consumers deduplicate on each
event's own id, so replaying a range twice changes nothing they keep."""

from __future__ import annotations

import json
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shopstack.doctor import aws_clients

POLL_SECONDS = 0.5
TIMEOUT_SECONDS = 120


def parse_time(text: str, *, end: bool = False) -> datetime:
    """`YYYY-MM-DD` (a whole UTC day: its start, or with `end` the next day's start) or an ISO 8601
    time (UTC when it names no zone)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if end and len(text) == 10:
        moment += timedelta(days=1)
    return moment


def replay(*, endpoint: str, start: str, end: str, rule: str | None, stage: str | None = None) -> dict[str, Any]:
    """Start a replay of the stage's archive (default: cdk.json's stage) and wait for it; its description."""
    if stage is None:
        context = json.loads((Path(__file__).resolve().parents[1] / "cdk.json").read_text())["context"]
        stage = str(context.get("stage", "dev"))
    client, _, _, _ = aws_clients(endpoint)
    events = client("events")
    bus = events.describe_event_bus(Name=f"shopstack-{stage}")
    archives = events.list_archives(EventSourceArn=bus["Arn"])["Archives"]
    if not archives:
        raise SystemExit(f"shopstack replay: the bus {bus['Name']} has no archive")
    archive_arn = events.describe_archive(ArchiveName=archives[0]["ArchiveName"])["ArchiveArn"]
    destination: dict[str, Any] = {"Arn": bus["Arn"]}
    if rule:
        destination["FilterArns"] = [events.describe_rule(Name=rule, EventBusName=bus["Name"])["Arn"]]
    name = f"shopstack-replay-{uuid.uuid4().hex[:12]}"
    events.start_replay(
        ReplayName=name,
        EventSourceArn=archive_arn,
        EventStartTime=parse_time(start),
        EventEndTime=parse_time(end, end=True),
        Destination=destination,
    )
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while True:
        described: dict[str, Any] = events.describe_replay(ReplayName=name)
        if described["State"] in ("COMPLETED", "FAILED", "CANCELLED") or time.monotonic() > deadline:
            return described
        time.sleep(POLL_SECONDS)


def run(*, endpoint: str, start: str, end: str, rule: str | None) -> int:
    try:
        described = replay(endpoint=endpoint, start=start, end=end, rule=rule)
    except ValueError as exc:
        print(f"shopstack replay: {exc}", file=sys.stderr)
        return 2
    print(f"{described['ReplayName']}: {described['State']} ({start} .. {end}{f', rule {rule}' if rule else ''})")
    return 0 if described["State"] == "COMPLETED" else 1
