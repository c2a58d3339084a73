"""Customer use cases with in-memory ports: registration once, profile, export, erasure, CRM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from commerce.errors import Conflict, NotFound
from customers import service
from customers.domain.profile import Address, Channel, ProfileUpdate
from customers.service import SignedIn
from tests.unit.customers_fakes import ADDRESS, FakeOrderRecords, FakeProfiles, FakeUsers, customers, order_items
from tests.unit.fakes import RecordingPublisher

ADA = SignedIn("user-1", "Ada@Example.com", "user-1")
BOB = SignedIn("user-2", "bob@example.com", "user-2")
EVENTS = Path(__file__).parents[2] / "docs" / "events"


def test_first_sign_in_creates_the_profile_and_registers_once() -> None:
    deps = customers()
    first = service.me(deps, ADA)
    again = service.me(deps, ADA)
    assert first.customer_id == again.customer_id == "user-1" and again.email == "ada@example.com"
    publisher = deps.publisher
    assert isinstance(publisher, RecordingPublisher)
    assert publisher.names() == ["CustomerRegistered"]
    source, event = publisher.published[0]
    assert source == "shopstack.customers"
    assert event.data == {"customerId": "user-1", "email": "ada@example.com", "registeredAt": first.created_at}


def test_the_registration_event_matches_its_schema_and_has_a_stable_id() -> None:
    event = service.registered_event(service.me(customers(), ADA))
    registry = Registry().with_resources(
        (p.name, Resource.from_contents(json.loads(p.read_text()))) for p in EVENTS.glob("*.json")
    )
    schema = json.loads((EVENTS / "CustomerRegistered.schema.json").read_text())
    Draft202012Validator(schema, registry=registry).validate(event.detail())
    assert event.id == service.registered_event(service.me(customers(), ADA)).id


def test_a_registration_not_marked_published_is_published_again_with_the_same_id() -> None:
    deps = customers()
    profiles = deps.profiles
    assert isinstance(profiles, FakeProfiles)
    profiles.mark_registered = lambda customer_id: None  # type: ignore[method-assign]  # crash before the mark
    service.me(deps, ADA)
    service.me(deps, ADA)
    publisher = deps.publisher
    assert isinstance(publisher, RecordingPublisher)
    assert len({e.id for _, e in publisher.published}) == 1 and len(publisher.published) == 2


def test_update_replaces_the_callers_profile_only() -> None:
    deps = customers()
    service.me(deps, BOB)
    update = ProfileUpdate("Ada", "+44 20 7946 0000", (Address.from_json(ADDRESS),), True)
    profile = service.update_me(deps, ADA, update)
    assert profile.name == "Ada" and profile.marketing_opt_in is True
    assert deps.profiles.get("user-2") is not None and deps.profiles.get("user-2").name is None  # type: ignore[union-attr]


def test_export_holds_profile_interactions_orders_and_carts() -> None:
    deps = customers(
        *order_items(),
        *order_items("o9", owner="user-2"),
        carts=({"pk": "CART#c1", "sk": "CART", "owner": "user-1", "tokenHash": "h"},),
    )
    service.update_me(deps, ADA, ProfileUpdate(name="Ada"))
    staff = {"staffId": "s1", "email": "staff@example.com"}
    service.log_interaction(deps, "user-1", channel=Channel.CHAT, summary="Hello", staff=staff)
    exported = service.export(deps, ADA)
    assert exported["profile"]["name"] == "Ada"
    assert [o["orderId"] for o in exported["orders"]] == ["o1"]
    assert exported["interactions"][0]["summary"] == "Hello"
    assert exported["carts"] == [{"owner": "user-1"}]


def test_erasure_anonymizes_orders_and_deletes_everything_personal() -> None:
    deps = customers(
        *order_items(), *order_items("o9", owner="user-2"), carts=({"pk": "CART#c1", "sk": "CART", "owner": "user-1"},)
    )
    service.update_me(deps, ADA, ProfileUpdate("Ada", "+1 555 0100", (Address.from_json(ADDRESS),)))
    service.log_interaction(deps, "user-1", channel=Channel.NOTE, summary="VIP", staff={})
    service.erase(deps, ADA)

    orders = deps.orders
    assert isinstance(orders, FakeOrderRecords)
    order = orders.items[("ORDER#o1", "ORDER")]
    assert (order["email"], order["owner"], order["shippingAddress"]) == ("erased@invalid", "erased", {"country": "US"})
    assert (order["status"], order["totalAmount"], order["lines"]) == (
        "PARTIALLY_REFUNDED",
        2759,
        order_items()[0]["lines"],
    )
    bill_to = orders.items[("ORDER#o1", "INVOICE")]["document"]["billTo"]
    assert bill_to == {"name": "", "email": "erased@invalid", "address": {"country": "US"}}
    assert orders.items[("ORDER#o9", "ORDER")]["email"] == "ada@example.com", "another customer's order is untouched"
    assert deps.carts.carts_of("user-1") == []
    assert deps.profiles.get("user-1") is None and deps.profiles.interactions("user-1") == []
    users = deps.users
    assert isinstance(users, FakeUsers) and users.deleted == ["user-1"]

    view = service.view(deps, "user-1")
    assert view["status"] == "ERASED" and view["profile"] is None
    assert "Ada" not in json.dumps(view) and "Main St" not in json.dumps(view)
    erased_at = deps.erasures.erased_at("user-1")
    assert erased_at is not None, "every service's edge refuses the account from now on"
    with pytest.raises(Conflict):
        service.log_interaction(deps, "user-1", channel=Channel.NOTE, summary="x", staff={})
    service.erase(deps, ADA)  # idempotent
    assert deps.erasures.erased_at("user-1") == erased_at


def test_erasure_deletes_the_cognito_user_by_email_when_the_token_has_no_user_name() -> None:
    deps = customers()
    service.erase(deps, SignedIn("user-3", "c@example.com", None))
    assert isinstance(deps.users, FakeUsers) and deps.users.deleted == ["c@example.com"]


def test_staff_search_by_email_is_exact_and_case_insensitive() -> None:
    deps = customers()
    service.me(deps, ADA)
    service.me(deps, BOB)
    assert [c["customerId"] for c in service.search(deps, "ADA@example.com ")] == ["user-1"]
    assert service.search(deps, "ada@example") == []


def test_the_customer_view_has_stats_and_timeline() -> None:
    deps = customers(*order_items())
    service.update_me(deps, ADA, ProfileUpdate(name="Ada"))
    interaction = service.log_interaction(deps, "user-1", channel=Channel.EMAIL, summary="Sent sizes", staff={})
    view = service.view(deps, "user-1")
    assert view["profile"]["name"] == "Ada" and view["stats"]["orders"] == 1
    assert view["stats"]["lifetimeValue"] == {"amount": 2759 - 1080, "currency": "usd"}
    assert view["timeline"][0]["type"] == "interaction"
    assert view["timeline"][0]["interactionId"] == interaction.interaction_id
    assert {"order", "return", "refund", "email"} <= {e["type"] for e in view["timeline"]}


def test_unknown_customers_are_not_found() -> None:
    deps = customers()
    with pytest.raises(NotFound):
        service.view(deps, "nobody")
    with pytest.raises(NotFound):
        service.log_interaction(deps, "nobody", channel=Channel.NOTE, summary="x", staff={})
