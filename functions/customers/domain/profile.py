"""A customer's profile and the notes staff keep about them. Pure: no I/O.

A customer is a Cognito user; their id is the user's `sub`, so no caller can name another
customer's records. The email is stored lowercased, which makes staff's search by email an
exact, case-insensitive match."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from commerce.errors import ValidationFailed

MAX_ADDRESSES = 10
MAX_SUMMARY = 2000
PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{3,24}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
ERASED_EMAIL = "erased@invalid"
ERASED_OWNER = "erased"


class Channel(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    CHAT = "chat"
    NOTE = "note"


def normalize_email(email: str) -> str:
    return email.strip().lower()


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str | None = None
    label: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.label is not None:
            body["label"] = self.label
        body.update(name=self.name, line1=self.line1)
        if self.line2 is not None:
            body["line2"] = self.line2
        body.update(city=self.city, postalCode=self.postal_code, country=self.country)
        return body

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Address:
        return cls(
            name=str(data["name"]),
            line1=str(data["line1"]),
            city=str(data["city"]),
            postal_code=str(data["postalCode"]),
            country=str(data["country"]),
            line2=None if data.get("line2") is None else str(data["line2"]),
            label=None if data.get("label") is None else str(data["label"]),
        )


@dataclass(frozen=True, slots=True)
class ProfileUpdate:
    """What a customer may change about themselves (`PUT /me` replaces all of it)."""

    name: str | None = None
    phone: str | None = None
    addresses: tuple[Address, ...] = ()
    marketing_opt_in: bool = False

    def validate(self) -> ProfileUpdate:
        errors: list[dict[str, str]] = []
        if self.name is not None and not 1 <= len(self.name.strip()) <= 120:
            errors.append({"field": "name", "message": "1 to 120 characters"})
        if self.phone is not None and not PHONE.match(self.phone):
            errors.append({"field": "phone", "message": "a phone number such as +1 555 0100"})
        if len(self.addresses) > MAX_ADDRESSES:
            errors.append({"field": "addresses", "message": f"at most {MAX_ADDRESSES} addresses"})
        for index, address in enumerate(self.addresses):
            if not COUNTRY.match(address.country):
                errors.append({"field": f"addresses.{index}.country", "message": "ISO 3166-1 alpha-2"})
            for name in ("name", "line1", "city", "postal_code"):
                if not str(getattr(address, name)).strip():
                    errors.append({"field": f"addresses.{index}.{name}", "message": "required"})
        if errors:
            raise ValidationFailed("The profile has invalid fields.", errors=errors)
        return self


@dataclass(frozen=True, slots=True)
class Profile:
    customer_id: str
    email: str | None
    created_at: str
    updated_at: str
    name: str | None = None
    phone: str | None = None
    addresses: tuple[Address, ...] = ()
    marketing_opt_in: bool = False
    registered_published: bool = False

    def updated(self, update: ProfileUpdate, at: str) -> Profile:
        update.validate()
        return replace(
            self,
            name=update.name,
            phone=update.phone,
            addresses=update.addresses,
            marketing_opt_in=update.marketing_opt_in,
            updated_at=at,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "customerId": self.customer_id,
            "email": self.email,
            "name": self.name,
            "phone": self.phone,
            "addresses": [a.to_json() for a in self.addresses],
            "marketingOptIn": self.marketing_opt_in,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }


def new_profile(customer_id: str, email: str | None, at: str) -> Profile:
    return Profile(
        customer_id=customer_id,
        email=normalize_email(email) if email else None,
        created_at=at,
        updated_at=at,
    )


@dataclass(frozen=True, slots=True)
class Interaction:
    """A contact with the customer that staff logged (`POST /admin/customers/{id}/interactions`)."""

    interaction_id: str
    customer_id: str
    channel: Channel
    summary: str
    at: str
    staff: dict[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= len(self.summary) <= MAX_SUMMARY or not self.summary.strip():
            raise ValidationFailed(
                "The summary has invalid length.",
                errors=[{"field": "summary", "message": f"1 to {MAX_SUMMARY} characters"}],
            )

    def to_json(self) -> dict[str, Any]:
        return {
            "interactionId": self.interaction_id,
            "customerId": self.customer_id,
            "channel": self.channel.value,
            "summary": self.summary,
            "createdAt": self.at,
            "by": self.staff,
        }


def anonymized_address(address: Any) -> dict[str, Any]:
    """An address with every personal field removed: only the country is kept (tax, accounting)."""
    country = address.get("country") if isinstance(address, dict) else None
    return {"country": country} if country else {}


def anonymized_bill_to(bill_to: Any) -> dict[str, Any]:
    """An invoice's `billTo` {name, email, address} with the person removed."""
    address = bill_to.get("address") if isinstance(bill_to, dict) else None
    return {"name": "", "email": ERASED_EMAIL, "address": anonymized_address(address or {})}
