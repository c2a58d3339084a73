"""Faults that tests switch on over HTTP: errors before a request runs, or a lost response after it
has taken effect (so that the client retries with the same Idempotency-Key)."""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any

from shopstack.stripe_emulator.errors import StripeError, api_error, rate_limited, validation

BEFORE = ("error_500", "rate_limit_429", "conflict_409", "unexpected_state_400")
AFTER = ("timeout_after_commit", "drop_after_commit")
KINDS = BEFORE + AFTER
DEFAULT_HANG_SECONDS = 3.0


@dataclass
class Fault:
    id: int
    kind: str
    remaining: int
    path: str | None = None
    method: str | None = None
    seconds: float = DEFAULT_HANG_SECONDS
    should_retry: bool | None = None
    exact: bool = False
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.remaining <= 0:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.path is None:
            return True
        return path == self.path if self.exact else path.startswith(self.path)

    @property
    def after_commit(self) -> bool:
        return self.kind in AFTER

    def error(self) -> StripeError:
        """The error answered instead of running the request (kinds that fail before it runs)."""
        if self.kind == "error_500":
            err = api_error()
        elif self.kind == "rate_limit_429":
            err = rate_limited()
        elif self.kind == "unexpected_state_400":
            err = StripeError(
                400,
                "invalid_request_error",
                "This PaymentIntent could not be captured because its authorization has expired.",
                code="payment_intent_unexpected_state",
                saved=False,
            )
        else:
            err = StripeError(
                409,
                "invalid_request_error",
                "There is currently another in-progress request using this Stripe token (probably the same "
                "idempotency key). Please try again later.",
                code="idempotency_key_in_use",
                saved=False,
            )
        if self.should_retry is not None:
            err.headers["Stripe-Should-Retry"] = "true" if self.should_retry else "false"
        return err

    def describe(self) -> dict[str, Any]:
        return asdict(self)


def parse_fault(spec: Any, fault_id: int) -> Fault:
    if not isinstance(spec, dict):
        raise validation("A fault is a JSON object.")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise validation(f"kind must be one of {', '.join(KINDS)}", param="kind")
    count = spec.get("next", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise validation("next must be a positive integer", param="next")
    seconds = spec.get("seconds", DEFAULT_HANG_SECONDS)
    if not isinstance(seconds, (int, float)) or seconds < 0:
        raise validation("seconds must be a non-negative number", param="seconds")
    should_retry = spec.get("should_retry")
    if should_retry is not None and not isinstance(should_retry, bool):
        raise validation("should_retry must be a boolean", param="should_retry")
    return Fault(
        id=fault_id,
        kind=kind,
        remaining=count,
        path=spec.get("path"),
        method=spec.get("method"),
        seconds=float(seconds),
        should_retry=should_retry,
        exact=bool(spec.get("exact", False)),
    )


class Faults:
    """Armed faults, consumed in the order they were added."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, spec: Any) -> Fault:
        fault = parse_fault(spec, next(self._ids))
        self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.matches(method, path):
                fault.remaining -= 1
                fault.hits += 1
                return fault
        return None

    def clear(self) -> None:
        self._faults.clear()

    def describe(self) -> list[dict[str, Any]]:
        return [f.describe() for f in self._faults]
