"""Customer use cases behind small ports: profiles and staff notes (Customers table), the
customer's orders (Orders table), carts (Carts table), the user directory (Cognito) and events.

- The profile is created on the customer's first signed-in `GET /me` with a conditional put;
  `CustomerRegistered` carries an id derived from the customer id and is marked published on
  the profile afterwards, so a crash in between publishes it again with the same id (consumers
  drop the duplicate) and never not at all.
- Erasure first records the erasure (commerce.erasures: every service then refuses the
  account's still-valid tokens, and nothing is created for that identity again), then
  anonymizes every order the customer owns in place (kept for accounting), deletes their carts,
  profile and notes, and finally their Cognito user. Every step is idempotent: a retried
  `DELETE /me` finishes what a failed one started."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from commerce.clock import utcnow_str
from commerce.erasures import ErasureLog
from commerce.errors import Conflict, NotFound, Unauthorized
from commerce.events import DomainEvent, EventPublisher
from commerce.ids import new_id, stable_id
from customers.domain import crm
from customers.domain.crm import OrderBundle
from customers.domain.profile import (
    Channel,
    Interaction,
    Profile,
    ProfileUpdate,
    new_profile,
    normalize_email,
)

SOURCE = "shopstack.customers"


class ProfileStore(Protocol):
    def get(self, customer_id: str) -> Profile | None: ...
    def create(self, profile: Profile) -> bool: ...
    def save(self, profile: Profile) -> None: ...
    def mark_registered(self, customer_id: str) -> None: ...
    def find_by_email(self, email: str) -> list[Profile]: ...
    def add_interaction(self, interaction: Interaction) -> None: ...
    def interactions(self, customer_id: str) -> list[Interaction]: ...
    def delete_all(self, customer_id: str) -> None: ...


class OrderRecords(Protocol):
    def orders_of(self, owner: str) -> list[OrderBundle]: ...
    def anonymize(self, bundle: OrderBundle, owner: str) -> None: ...


class CartRecords(Protocol):
    def carts_of(self, owner: str) -> list[dict[str, Any]]: ...
    def delete(self, cart: dict[str, Any]) -> None: ...


class UserDirectory(Protocol):
    def delete_user(self, username: str) -> None: ...


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The caller of a `/me` route: the token's sub, email and Cognito user name."""

    customer_id: str
    email: str | None
    username: str | None = None


@dataclass(frozen=True)
class Customers:
    profiles: ProfileStore
    orders: OrderRecords
    carts: CartRecords
    users: UserDirectory
    publisher: EventPublisher
    erasures: ErasureLog


def registered_event(profile: Profile) -> DomainEvent:
    return DomainEvent(
        "CustomerRegistered",
        {"customerId": profile.customer_id, "email": profile.email, "registeredAt": profile.created_at},
        id=stable_id(profile.customer_id, "CustomerRegistered"),
        occurred_at=profile.created_at,
        correlation_id=profile.customer_id,
    )


def me(deps: Customers, caller: SignedIn) -> Profile:
    """The caller's profile, created on their first signed-in visit (publishing CustomerRegistered).
    An erased account's token never gets here: the HTTP edge refuses it (commerce.erasures)."""
    profile = deps.profiles.get(caller.customer_id)
    if profile is None:
        candidate = new_profile(caller.customer_id, caller.email, utcnow_str())
        if not deps.profiles.create(candidate):
            found = deps.profiles.get(caller.customer_id)
            if found is None:  # created and erased in between
                if deps.erasures.erased_at(caller.customer_id) is not None:
                    raise Unauthorized(
                        "This account has been erased; sign up again to shop with an account.", code="account_erased"
                    )
                raise Conflict("The profile changed meanwhile; please retry.", code="conflict")
            profile = found
        else:
            profile = candidate
    elif caller.email and profile.email != normalize_email(caller.email):
        profile = replace(profile, email=normalize_email(caller.email))
        deps.profiles.save(profile)
    if not profile.registered_published:
        deps.publisher.publish(SOURCE, [registered_event(profile)])
        deps.profiles.mark_registered(profile.customer_id)
    return profile


def update_me(deps: Customers, caller: SignedIn, update: ProfileUpdate) -> Profile:
    profile = me(deps, caller).updated(update, utcnow_str())
    deps.profiles.save(profile)
    return profile


def export(deps: Customers, caller: SignedIn) -> dict[str, Any]:
    """Every record held about the caller: profile, staff notes, orders (with shipments, returns
    and invoices) and carts."""
    profile = deps.profiles.get(caller.customer_id)
    return {
        "customerId": caller.customer_id,
        "exportedAt": utcnow_str(),
        "profile": profile.to_json() if profile else None,
        "interactions": [i.to_json() for i in deps.profiles.interactions(caller.customer_id)],
        "orders": [crm.order_export(b) for b in deps.orders.orders_of(caller.customer_id)],
        "carts": [crm.public_item(c) for c in deps.carts.carts_of(caller.customer_id)],
    }


def erase(deps: Customers, caller: SignedIn) -> None:
    """Personal data erased; orders kept for accounting with their personal fields anonymized."""
    customer_id = caller.customer_id
    deps.erasures.record(customer_id, utcnow_str())
    for bundle in deps.orders.orders_of(customer_id):
        deps.orders.anonymize(bundle, customer_id)
    for cart in deps.carts.carts_of(customer_id):
        deps.carts.delete(cart)
    deps.profiles.delete_all(customer_id)
    deps.users.delete_user(caller.username or caller.email or customer_id)


def search(deps: Customers, email: str) -> list[dict[str, Any]]:
    return [
        {"customerId": p.customer_id, "email": p.email, "name": p.name, "createdAt": p.created_at}
        for p in deps.profiles.find_by_email(normalize_email(email))
    ]


def view(deps: Customers, customer_id: str) -> dict[str, Any]:
    erased_at = deps.erasures.erased_at(customer_id)
    if erased_at is not None:
        return crm.erased_view(customer_id, erased_at)
    profile = deps.profiles.get(customer_id)
    bundles = deps.orders.orders_of(customer_id)
    if profile is None and not bundles:
        raise NotFound("No such customer.", code="customer_not_found")
    return crm.customer_view(customer_id, profile, bundles, deps.profiles.interactions(customer_id))


def log_interaction(
    deps: Customers, customer_id: str, *, channel: Channel, summary: str, staff: Mapping[str, str | None]
) -> Interaction:
    if deps.erasures.erased_at(customer_id) is not None:
        raise Conflict("This customer's data has been erased.", code="customer_erased")
    if deps.profiles.get(customer_id) is None and not deps.orders.orders_of(customer_id):
        raise NotFound("No such customer.", code="customer_not_found")
    interaction = Interaction(new_id(), customer_id, channel, summary, utcnow_str(), dict(staff))
    deps.profiles.add_interaction(interaction)
    return interaction
