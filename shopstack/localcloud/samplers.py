"""Metrics AWS services publish on their own, sampled from moto's backends every few seconds.

- AWS/SQS ApproximateNumberOfMessagesVisible {QueueName}, for every queue moto knows (SQS
  publishes it every minute; here every SAMPLE_SECONDS, so an alarm sees a dead letter at once);
- AWS/States ExecutionsFailed, ExecutionsTimedOut and ExecutionsAborted {StateMachineArn}: 1 for
  each execution seen to have ended so, once.

moto runs in this process, so sampling reads its backends directly: no HTTP call, and no lock
held longer than a list copy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from shopstack.localcloud.telemetry import TELEMETRY, Telemetry

SAMPLE_SECONDS = 5.0
FAILED_STATUSES = {"FAILED": "ExecutionsFailed", "TIMED_OUT": "ExecutionsTimedOut", "ABORTED": "ExecutionsAborted"}


def sample_queues(account_id: str, region: str, telemetry: Telemetry = TELEMETRY) -> None:
    from moto.sqs.models import sqs_backends

    for name, queue in list(sqs_backends[account_id][region].queues.items()):
        depth = queue.approximate_number_of_messages
        telemetry.put("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": name}, depth, "Count")


class ExecutionWatch:
    """Counts each Step Functions execution that ended FAILED, TIMED_OUT or ABORTED, once."""

    def __init__(self, account_id: str, region: str, telemetry: Telemetry = TELEMETRY) -> None:
        self.account_id = account_id
        self.region = region
        self.telemetry = telemetry
        self.counted: set[str] = set()

    def sample(self) -> None:
        from shopstack.localcloud import executions

        present: set[str] = set()
        for machine, execution, status in executions.each(self.account_id, self.region):
            arn = execution.execution_arn
            present.add(arn)
            metric = FAILED_STATUSES.get(status)
            if metric is not None and arn not in self.counted:
                self.counted.add(arn)
                self.telemetry.put("AWS/States", metric, {"StateMachineArn": machine.arn}, 1, "Count")
        self.counted &= present  # executions moto forgot (retention.py) cannot end again


class Samplers:
    """Samples every SAMPLE_SECONDS on a thread of its own (and prunes old datapoints)."""

    def __init__(self, account_id: str, region: str, interval: float = SAMPLE_SECONDS) -> None:
        self.interval = interval
        self.jobs: list[Callable[[], Any]] = [
            lambda: sample_queues(account_id, region),
            ExecutionWatch(account_id, region).sample,
            TELEMETRY.prune,
        ]
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="telemetry-samplers")

    def start(self) -> Samplers:
        self._thread.start()
        return self

    def sample(self) -> None:
        for job in self.jobs:
            try:
                job()
            except Exception as exc:  # a backend mid-change: the next pass samples again
                print(f"[telemetry] sampling failed: {exc!r}", flush=True)

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stopped.wait(self.interval):
                return

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
