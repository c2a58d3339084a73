"""Carts: who may use one, and what a line may hold. Pure: no I/O."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field, replace

from commerce.errors import Conflict, NotFound, ValidationFailed

MAX_QUANTITY = 99
MAX_LINES = 50


class CartStatus:
    OPEN = "OPEN"
    CHECKED_OUT = "CHECKED_OUT"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Cart:
    cart_id: str
    token_hash: str
    owner: str | None
    items: dict[str, int] = field(default_factory=dict)
    status: str = CartStatus.OPEN
    version: int = 0
    updated_at: str = ""

    def readable_by(self, *, sub: str | None, token: str | None) -> bool:
        """The owner, or whoever holds the cart's capability token."""
        if self.owner is not None and sub == self.owner:
            return True
        return token is not None and hmac.compare_digest(token_hash(token), self.token_hash)

    def check_open(self) -> None:
        if self.status != CartStatus.OPEN:
            raise Conflict("This cart has already been checked out.", code="invalid_state")

    def with_quantity(self, sku: str, quantity: int) -> Cart:
        check_quantity(quantity)
        self.check_open()
        if sku not in self.items and len(self.items) >= MAX_LINES:
            raise ValidationFailed(f"A cart holds at most {MAX_LINES} lines.")
        return replace(self, items={**self.items, sku: quantity})

    def without(self, sku: str) -> Cart:
        self.check_open()
        if sku not in self.items:
            raise NotFound(f"The cart has no line {sku}.", code="cart_line_not_found")
        return replace(self, items={k: v for k, v in self.items.items() if k != sku})


def check_quantity(quantity: int) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationFailed(
            f"quantity must be a whole number from 1 to {MAX_QUANTITY}.",
            errors=[{"field": "quantity", "message": f"integer 1-{MAX_QUANTITY}"}],
        )
