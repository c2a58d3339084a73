"""Stage throttling (429): token buckets from the stage's method settings, `*/*` for every method
of the stage and `path/VERB` for one."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class TokenBucket:
    """Stage throttling: `burst` requests at once, refilled at `rate` per second."""

    __slots__ = ("_lock", "_tokens", "_updated", "burst", "rate")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = max(rate, 0.0)
        self.burst = max(burst, 0)
        self._tokens = float(self.burst)
        self._updated = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> float:
        """0 when the request may pass, else the seconds until a token is available."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            if self.rate <= 0 or self.burst < 1:
                return 1.0
            return (1.0 - self._tokens) / self.rate


@dataclass(frozen=True)
class Throttle:
    stage: TokenBucket | None
    methods: Mapping[tuple[str, str], TokenBucket]

    def take(self, resource_path: str, http_method: str) -> float:
        bucket = self.methods.get((resource_path, http_method)) or self.stage
        return bucket.take() if bucket is not None else 0.0


def compile_throttle(method_settings: Mapping[str, Any]) -> Throttle:
    """Token buckets from a stage's method settings (`*/*` for the stage, `path/VERB` per method)."""
    stage = None
    methods = {}
    for key, settings in (method_settings or {}).items():
        bucket = _bucket(settings)
        if bucket is None:
            continue
        path, _, verb = key.rpartition("/")
        if key == "*/*":
            stage = bucket
        elif path and verb:
            methods[("/" + path.replace("~1", "/").lstrip("/"), verb.upper())] = bucket
    return Throttle(stage=stage, methods=methods)


def _bucket(settings: Mapping[str, Any]) -> TokenBucket | None:
    rate = settings.get("throttlingRateLimit")
    burst = settings.get("throttlingBurstLimit")
    if rate is None and burst is None:
        return None
    rate_value = float(rate) if rate is not None else float(burst or 0)
    burst_value = int(burst) if burst is not None else max(1, math.ceil(rate_value))
    return TokenBucket(rate_value, burst_value)
