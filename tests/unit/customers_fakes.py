"""In-memory customer ports: for unit tests only."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from commerce import erasures
from commerce.errors import NotFound
from customers.domain.crm import OrderBundle
from customers.domain.profile import (
    ERASED_EMAIL,
    ERASED_OWNER,
    Interaction,
    Profile,
    anonymized_address,
    anonymized_bill_to,
)
from customers.service import Customers
from tests.unit.fakes import RecordingPublisher


class FakeProfiles:
    def __init__(self) -> None:
        self.profiles: dict[str, Profile] = {}
        self.notes: dict[str, list[Interaction]] = {}

    def get(self, customer_id: str) -> Profile | None:
        return self.profiles.get(customer_id)

    def create(self, profile: Profile) -> bool:
        if profile.customer_id in self.profiles:
            return False
        self.profiles[profile.customer_id] = profile
        return True

    def save(self, profile: Profile) -> None:
        if profile.customer_id not in self.profiles:
            raise NotFound("No such customer.", code="customer_not_found")
        stored = self.profiles[profile.customer_id]
        self.profiles[profile.customer_id] = replace(
            profile, created_at=stored.created_at, registered_published=stored.registered_published
        )

    def mark_registered(self, customer_id: str) -> None:
        if customer_id in self.profiles:
            self.profiles[customer_id] = replace(self.profiles[customer_id], registered_published=True)

    def find_by_email(self, email: str) -> list[Profile]:
        return [p for p in self.profiles.values() if p.email == email]

    def add_interaction(self, interaction: Interaction) -> None:
        """A new interaction id only: the table's conditional put refuses one taken (PutError)."""
        notes = self.notes.setdefault(interaction.customer_id, [])
        if any(n.interaction_id == interaction.interaction_id for n in notes):
            from pynamodb.exceptions import PutError

            raise PutError(f"interaction {interaction.interaction_id} exists")
        notes.append(interaction)

    def interactions(self, customer_id: str) -> list[Interaction]:
        """By interaction id (a ULID: in time order), as the table's sort key reads them."""
        return sorted(self.notes.get(customer_id, []), key=lambda i: i.interaction_id)

    def delete_all(self, customer_id: str) -> None:
        self.profiles.pop(customer_id, None)
        self.notes.pop(customer_id, None)


class FakeOrderRecords:
    """Orders table items by (pk, sk), as the orders service stores them."""

    def __init__(self, *items: dict[str, Any]) -> None:
        self.items = {(i["pk"], i["sk"]): copy.deepcopy(i) for i in items}

    def orders_of(self, owner: str) -> list[OrderBundle]:
        orders = sorted(
            (i for i in self.items.values() if i["sk"] == "ORDER" and i.get("owner") == owner),
            key=lambda i: i["createdAt"],
            reverse=True,
        )
        return [
            OrderBundle(
                copy.deepcopy(o),
                tuple(
                    copy.deepcopy(i) for (pk, sk), i in sorted(self.items.items()) if pk == o["pk"] and sk != "ORDER"
                ),
            )
            for o in orders
        ]

    def anonymize(self, bundle: OrderBundle, owner: str) -> None:
        for found in (bundle.order, *bundle.related):
            item = self.items[(found["pk"], found["sk"])]
            if "email" in item:
                item["email"] = ERASED_EMAIL
            if item.get("owner") == owner:
                item["owner"] = ERASED_OWNER
            if "shippingAddress" in item:
                item["shippingAddress"] = anonymized_address(item["shippingAddress"])
            if isinstance(item.get("document"), dict) and "billTo" in item["document"]:
                item["document"]["billTo"] = anonymized_bill_to(item["document"]["billTo"])


class FakeCarts:
    def __init__(self, *carts: dict[str, Any]) -> None:
        self.carts = {c["pk"]: dict(c) for c in carts}

    def carts_of(self, owner: str) -> list[dict[str, Any]]:
        return [dict(c) for c in self.carts.values() if c.get("owner") == owner]

    def delete(self, cart: dict[str, Any]) -> None:
        self.carts.pop(cart["pk"], None)


class FakeUsers:
    def __init__(self, *usernames: str) -> None:
        self.usernames = set(usernames)
        self.deleted: list[str] = []

    def delete_user(self, username: str) -> None:
        self.usernames.discard(username)
        self.deleted.append(username)


def customers(*order_items: dict[str, Any], carts: tuple[dict[str, Any], ...] = ()) -> Customers:
    return Customers(
        profiles=FakeProfiles(),
        orders=FakeOrderRecords(*order_items),
        carts=FakeCarts(*carts),
        users=FakeUsers(),
        publisher=RecordingPublisher(),
        erasures=erasures.log(),
    )


ADDRESS = {"name": "Ada Lovelace", "line1": "1 Main St", "city": "Springfield", "postalCode": "12345", "country": "US"}


def order_items(order_id: str = "o1", owner: str = "user-1", **changes: Any) -> list[dict[str, Any]]:
    """An order delivered, partly returned and refunded, with its shipment and invoice."""
    pk = f"ORDER#{order_id}"
    order = {
        "pk": pk,
        "sk": "ORDER",
        "orderId": order_id,
        "status": "PARTIALLY_REFUNDED",
        "email": "ada@example.com",
        "owner": owner,
        "lines": [{"sku": "A", "name": "Tent", "quantity": 2, "unitPrice": 1000}],
        "subtotalAmount": 2000,
        "shippingAmount": 599,
        "taxAmount": 160,
        "totalAmount": 2759,
        "currency": "usd",
        "shippingAddress": dict(ADDRESS),
        "orderTokenHash": "secret-hash",
        "createdAt": "2026-01-01T00:00:00.000Z",
        "updatedAt": "2026-01-06T00:00:00.000Z",
        "history": [
            {"status": "PENDING_PAYMENT", "at": "2026-01-01T00:00:00.000Z", "note": "checkout"},
            {"status": "PAID", "at": "2026-01-01T00:00:01.000Z", "note": "payment authorized"},
            {"status": "CONFIRMED", "at": "2026-01-01T00:00:02.000Z", "note": "captured"},
            {"status": "SHIPPED", "at": "2026-01-02T00:00:00.000Z", "note": "shipped with UPS"},
            {"status": "DELIVERED", "at": "2026-01-03T00:00:00.000Z"},
            {"status": "RETURN_REQUESTED", "at": "2026-01-04T00:00:00.000Z"},
            {"status": "PARTIALLY_REFUNDED", "at": "2026-01-05T00:00:00.000Z"},
        ],
        "emailsSent": ["confirmation", "delivered", "shipped-s1"],
        "invoiceNumber": "INV-2026-000001",
        **changes,
    }
    shipment = {
        "pk": pk,
        "sk": "SHIPMENT#s1",
        "shipmentId": "s1",
        "orderId": order_id,
        "carrier": "UPS",
        "trackingNumber": "1Z999",
        "status": "DELIVERED",
        "createdAt": "2026-01-02T00:00:00.000Z",
        "events": [],
    }
    ret = {
        "pk": pk,
        "sk": "RETURN#r1",
        "returnId": "r1",
        "orderId": order_id,
        "status": "REFUNDED",
        "lines": [{"sku": "A", "quantity": 1, "reason": "too small"}],
        "createdAt": "2026-01-04T00:00:00.000Z",
        "refundAmount": 1080,
        "currency": "usd",
        "refundedAt": "2026-01-05T00:00:00.000Z",
    }
    invoice = {
        "pk": pk,
        "sk": "INVOICE",
        "invoiceNumber": "INV-2026-000001",
        "document": {
            "invoiceNumber": "INV-2026-000001",
            "billTo": {"name": "Ada Lovelace", "email": "ada@example.com", "address": dict(ADDRESS)},
            "total": {"amount": 2759, "currency": "usd"},
        },
    }
    return [order, shipment, ret, invoice]
