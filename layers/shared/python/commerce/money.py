"""Money in integer minor units with a lowercase ISO 4217 currency; never floats."""

from __future__ import annotations

from dataclasses import dataclass

from commerce.errors import ValidationFailed


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str = "usd"

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise ValidationFailed("amount must be an integer number of minor units")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.islower():
            raise ValidationFailed("currency must be a lowercase ISO 4217 code")

    def to_json(self) -> dict[str, object]:
        return {"amount": self.amount, "currency": self.currency}
