"""Prices always come from the catalog; shipping and tax from rules per destination country.
Integer minor units throughout, rounded half up. Pure: no I/O."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from commerce.errors import ConfigurationError
from commerce.orders import OrderLine


@dataclass(frozen=True, slots=True)
class CountryRule:
    shipping: int
    free_shipping_over: int | None
    tax_basis_points: int


@dataclass(frozen=True, slots=True)
class PricingRules:
    """`rules` by ISO 3166 alpha-2 country; `default` for every other destination the shop ships
    to: every country when `ships_to` is None, else only those listed."""

    currency: str = "usd"
    default: CountryRule = CountryRule(shipping=1500, free_shipping_over=None, tax_basis_points=0)
    rules: dict[str, CountryRule] = field(default_factory=dict)
    ships_to: frozenset[str] | None = None

    def ships_to_country(self, country: str) -> bool:
        return self.ships_to is None or country.upper() in self.ships_to

    def for_country(self, country: str) -> CountryRule:
        return self.rules.get(country.upper(), self.default)


DEFAULT_RULES = PricingRules(
    currency="usd",
    default=CountryRule(shipping=1500, free_shipping_over=None, tax_basis_points=0),
    rules={
        "US": CountryRule(shipping=599, free_shipping_over=10000, tax_basis_points=800),
        "CA": CountryRule(shipping=999, free_shipping_over=15000, tax_basis_points=1300),
        "GB": CountryRule(shipping=1200, free_shipping_over=None, tax_basis_points=2000),
        "DE": CountryRule(shipping=1200, free_shipping_over=None, tax_basis_points=1900),
    },
)


def rules_from_json(raw: str | None) -> PricingRules:
    """Rules from configuration: `{"currency": "usd", "default": {...}, "countries": {"US": {...}},
    "shipsTo": ["US", "CA"]}` where each rule is `{"shipping": int, "freeShippingOver": int|null,
    "taxBasisPoints": int}` and `shipsTo` (optional) limits the destinations."""
    if not raw:
        return DEFAULT_RULES
    try:
        data: dict[str, Any] = json.loads(raw)

        def rule(item: dict[str, Any]) -> CountryRule:
            return CountryRule(
                shipping=int(item["shipping"]),
                free_shipping_over=None if item.get("freeShippingOver") is None else int(item["freeShippingOver"]),
                tax_basis_points=int(item.get("taxBasisPoints", 0)),
            )

        return PricingRules(
            currency=str(data.get("currency", "usd")),
            default=rule(data["default"]),
            rules={k.upper(): rule(v) for k, v in data.get("countries", {}).items()},
            ships_to=frozenset(str(c).upper() for c in data["shipsTo"]) if data.get("shipsTo") else None,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"PRICING_RULES is not valid: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal: int
    shipping: int
    tax: int
    currency: str

    @property
    def total(self) -> int:
        return self.subtotal + self.shipping + self.tax

    def to_json(self) -> dict[str, dict[str, object]]:
        def money(amount: int) -> dict[str, object]:
            return {"amount": amount, "currency": self.currency}

        return {
            "subtotal": money(self.subtotal),
            "shipping": money(self.shipping),
            "tax": money(self.tax),
            "total": money(self.total),
        }


def _round_half_up(numerator: int, denominator: int) -> int:
    return (numerator * 2 + denominator) // (denominator * 2)


def price(lines: list[OrderLine], country: str, rules: PricingRules) -> Totals:
    subtotal = sum(line.line_total for line in lines)
    rule = rules.for_country(country)
    free = rule.free_shipping_over is not None and subtotal >= rule.free_shipping_over
    shipping = 0 if not lines or free else rule.shipping
    tax = _round_half_up(subtotal * rule.tax_basis_points, 10_000)
    return Totals(subtotal=subtotal, shipping=shipping, tax=tax, currency=rules.currency)
