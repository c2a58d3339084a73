"""The one way to wait for something to happen: poll a check until it answers, or give up.

Every suite (tests/localcloud, tests/integration, tests/reliability, tests/e2e, the Stripe
emulator's tests) and the buyer (`shopstack.buyer.wait_until`) wait with `eventually`, so a
wait reads the same everywhere and a timeout says what was awaited and what was seen last.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class NotMet(AssertionError):
    """The condition did not hold within the timeout; `last` is the check's last answer."""

    def __init__(self, message: str, last: object) -> None:
        super().__init__(message)
        self.last = last


def eventually(
    check: Callable[[], T | None], timeout: float = 15.0, interval: float = 0.1, *, what: str = "condition"
) -> T:
    """The first truthy result of check(), called every `interval` seconds; raises NotMet after
    `timeout` seconds. The check runs at least once."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise NotMet(f"{what} not met within {timeout} s (last: {result!r:.300})", result)
        time.sleep(interval)


__all__ = ["NotMet", "eventually"]
