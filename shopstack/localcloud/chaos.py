"""Fault injection: a share of DynamoDB writes, or of Step Functions starts, fails before it applies.

The local cloud runs DynamoDB calls one at a time, so transactions never conflict and on-demand
tables never throttle; AWS does both. With a rate set (`shopstack up --chaos dynamodb=0.05` or
`PUT /_localcloud/chaos {"dynamodb": 0.05}`), that share of PutItem, UpdateItem, DeleteItem,
BatchWriteItem and TransactWriteItems calls answers HTTP 400 with one of DynamoDB's retryable
errors, and nothing of the call is applied. Reads never fail.

With `{"stepfunctions": rate}`, that share of StartExecution calls answers ThrottlingException (an
account's start bucket runs dry under a burst): the order workflow's start is lost after botocore's
retries, and the reconciler must find the order and start it.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"
SINGLE_WRITE_ERRORS = ("TransactionConflictException", "ProvisionedThroughputExceededException", "ThrottlingException")
BATCH_ERRORS = ("ProvisionedThroughputExceededException", "ThrottlingException")
MESSAGES = {
    "TransactionConflictException": "Transaction is ongoing for the item",
    "ProvisionedThroughputExceededException": (
        "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API."
    ),
    "ThrottlingException": (
        "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically "
        "scaling your table or index so please try again shortly. If exceptions persist, check if "
        "you have a hot key: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/"
        "bp-partition-key-design.html"
    ),
}
START_THROTTLED = "StartExecution ThrottlingException"
CONFLICT_REASON = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}


class Chaos:
    """The fault rates and what was injected, shared by the WSGI middleware and the control API."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng or random.Random()
        self.lock = threading.Lock()
        self.rates: dict[str, float] = {"dynamodb": 0.0, "stepfunctions": 0.0}
        self.injected: Counter[str] = Counter()
        self.writes = 0

    def set(self, **rates: float) -> None:
        for service, rate in rates.items():
            if service not in self.rates:
                raise ValueError(f"no fault injection for {service!r}; known: {', '.join(self.rates)}")
            value = float(rate)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{service} fault rate must be between 0 and 1, got {rate!r}")
            self.rates[service] = value

    def describe(self) -> dict[str, Any]:
        with self.lock:
            return {
                **self.rates,
                "injected": {
                    "dynamodb": sum(n for error, n in self.injected.items() if error != START_THROTTLED),
                    "stepfunctions": self.injected[START_THROTTLED],
                    "byError": dict(self.injected),
                },
                "writes": {"dynamodb": self.writes},
            }

    def start_execution_fault(self) -> bool:
        """Whether this StartExecution is refused (counted as injected)."""
        with self.lock:
            rate = self.rates["stepfunctions"]
            if rate <= 0.0 or self.rng.random() >= rate:
                return False
            self.injected[START_THROTTLED] += 1
            return True

    def dynamodb_fault(self, operation: str, read_body: Callable[[], bytes]) -> tuple[int, bytes] | None:
        """The error response for this DynamoDB call, or None to let it through."""
        if operation not in WRITE_OPERATIONS:
            return None
        with self.lock:
            self.writes += 1
            rate = self.rates["dynamodb"]
            if rate <= 0.0 or self.rng.random() >= rate:
                return None
            if operation == "TransactWriteItems":
                items = _transact_items(read_body())
                error, document = "TransactionCanceledException", cancellation(items, self.rng)
            else:
                choices = BATCH_ERRORS if operation == "BatchWriteItem" else SINGLE_WRITE_ERRORS
                error = self.rng.choice(choices)
                document = {"__type": ERROR_PREFIX + error, "message": MESSAGES[error]}
            self.injected[error] += 1
        return 400, json.dumps(document).encode()


def _transact_items(body: bytes) -> int:
    try:
        return max(1, len(json.loads(body or b"{}").get("TransactItems") or []))
    except (ValueError, AttributeError):
        return 1


def cancellation(items: int, rng: random.Random) -> dict[str, Any]:
    """TransactionCanceledException for a transaction of `items` actions, one of which conflicted."""
    conflicted = rng.randrange(items)
    reasons: list[dict[str, Any]] = [CONFLICT_REASON if i == conflicted else {"Code": "None"} for i in range(items)]
    codes = ", ".join(str(r["Code"]) for r in reasons)
    return {
        "__type": ERROR_PREFIX + "TransactionCanceledException",
        "message": f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
        "CancellationReasons": reasons,
    }


def parse_spec(specs: Iterable[str]) -> dict[str, float]:
    """`["dynamodb=0.05"]` (or `"dynamodb=0.05,..."` items) as rates."""
    rates: dict[str, float] = {}
    for spec in specs:
        for part in filter(None, (p.strip() for p in spec.split(","))):
            service, sep, value = part.partition("=")
            if not sep:
                raise ValueError(f"chaos setting must be SERVICE=RATE, got {part!r}")
            rates[service.strip()] = float(value)
    Chaos().set(**rates)
    return rates


CHAOS = Chaos()
