"""Idempotency-Key: the first result for a key is stored and replayed; keys are scoped per API key,
kept 24 hours, and tied to the endpoint and parameters they were first used with."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from shopstack.stripe_emulator.errors import StripeError, validation

TTL_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredResponse:
    endpoint: str
    fingerprint: str
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    created: float = 0.0


def fingerprint(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


def idempotency_error(message: str) -> StripeError:
    return StripeError(400, "idempotency_error", message, saved=False)


class IdempotencyStore:
    def __init__(self, ttl_seconds: float = TTL_SECONDS) -> None:
        self.ttl_seconds = ttl_seconds
        self._records: dict[tuple[str, str], StoredResponse] = {}

    def check_key(self, key: str) -> None:
        if len(key) > MAX_KEY_LENGTH:
            raise validation(
                f"Idempotency-Key must be at most {MAX_KEY_LENGTH} characters long.", param="Idempotency-Key"
            )

    def lookup(
        self, api_key: str, key: str, endpoint: str, params: dict[str, Any], now: float
    ) -> StoredResponse | None:
        """The stored response for a retry; an idempotency_error when the key was used differently."""
        self.prune(now)
        stored = self._records.get((api_key, key))
        if stored is None:
            return None
        if stored.endpoint != endpoint:
            raise idempotency_error(
                "Keys for idempotent requests can only be used for the same endpoint they were first used for "
                f"('{stored.endpoint}' vs '{endpoint}'). Try using a key other than '{key}' if you meant to "
                "execute a different request."
            )
        if stored.fingerprint != fingerprint(params):
            raise idempotency_error(
                "Keys for idempotent requests can only be used with the same parameters they were first used "
                f"with. Try using a key other than '{key}' if you meant to execute a different request."
            )
        return stored

    def save(self, api_key: str, key: str, stored: StoredResponse) -> None:
        self._records[(api_key, key)] = stored

    def prune(self, now: float) -> None:
        expired = [k for k, v in self._records.items() if now - v.created >= self.ttl_seconds]
        for k in expired:
            del self._records[k]

    def clear(self) -> None:
        self._records.clear()

    def __len__(self) -> int:
        return len(self._records)
