"""The customers service's `ProfileStore` port: `tests.unit.customers_fakes.FakeProfiles` and
`customers.adapters.dynamodb.DynamoProfileStore` on moto answer alike: a profile is created
once, saved only if it exists (keeping when it was created and whether its registration was
announced), found by its email, and erased with every note staff logged."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from commerce.errors import NotFound
from customers.domain.profile import Address, Channel, Interaction, Profile
from tests.unit.contracts.conftest import BACKENDS, Tables

CREATED = "2026-01-01T00:00:00.000Z"


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Any:
    if request.param == "fake":
        from tests.unit.customers_fakes import FakeProfiles

        return FakeProfiles()
    from customers.adapters.dynamodb import AnyRecord, DynamoProfileStore, InteractionRecord, ProfileRecord

    tables: Tables = request.getfixturevalue("dynamo")
    tables.table("CUSTOMERS_TABLE", ProfileRecord, InteractionRecord, AnyRecord)
    return DynamoProfileStore()


def profile(customer_id: str = "sub-1", email: str | None = "ada@example.com") -> Profile:
    return Profile(customer_id=customer_id, email=email, created_at=CREATED, updated_at=CREATED)


HOME = Address(name="Ada", line1="1 Main St", city="Springfield", postal_code="12345", country="US", label="home")


def note(customer_id: str, interaction_id: str, summary: str = "called about an order") -> Interaction:
    return Interaction(interaction_id, customer_id, Channel.PHONE, summary, CREATED, {"sub": "staff-1", "email": None})


def test_a_missing_customer_reads_as_none(store: Any) -> None:
    assert store.get("nobody") is None
    assert store.interactions("nobody") == []
    assert store.find_by_email("nobody@example.com") == []


def test_a_profile_is_created_once(store: Any) -> None:
    assert store.create(profile()) is True
    assert store.get("sub-1") == profile()
    assert store.create(profile(email="other@example.com")) is False
    assert store.get("sub-1") == profile()


def test_saving_replaces_what_the_customer_may_change(store: Any) -> None:
    store.create(profile())
    store.mark_registered("sub-1")
    changed = replace(
        profile(),
        name="Ada Lovelace",
        phone="+1 555 0100",
        addresses=(HOME,),
        marketing_opt_in=True,
        updated_at="2026-02-01T00:00:00.000Z",
        email="ada@new.example.com",
        created_at="2099-01-01T00:00:00.000Z",  # never rewritten by a save
    )
    store.save(changed)
    assert store.get("sub-1") == replace(changed, created_at=CREATED, registered_published=True)
    cleared = replace(changed, name=None, phone=None, addresses=(), marketing_opt_in=False, email=None)
    store.save(cleared)
    assert store.get("sub-1") == replace(cleared, created_at=CREATED, registered_published=True)


def test_saving_a_missing_profile_is_not_found_and_creates_nothing(store: Any) -> None:
    with pytest.raises(NotFound):
        store.save(profile("ghost"))
    assert store.get("ghost") is None


def test_registration_is_marked_on_existing_profiles_only(store: Any) -> None:
    store.create(profile())
    store.mark_registered("sub-1")
    store.mark_registered("sub-1")
    found = store.get("sub-1")
    assert found is not None and found.registered_published is True
    store.mark_registered("ghost")
    assert store.get("ghost") is None


def test_profiles_are_found_by_email(store: Any) -> None:
    store.create(profile("sub-1", "ada@example.com"))
    store.create(profile("sub-2", "ada@example.com"))
    store.create(profile("sub-3", "bob@example.com"))
    store.create(profile("sub-4", None))
    store.add_interaction(note("sub-1", "01J0000000000000000000000A"))
    found = store.find_by_email("ada@example.com")
    assert sorted(p.customer_id for p in found) == ["sub-1", "sub-2"]
    assert [p.customer_id for p in store.find_by_email("bob@example.com")] == ["sub-3"]
    store.save(replace(profile("sub-3", "bob@example.com"), email="robert@example.com"))
    assert store.find_by_email("bob@example.com") == []


def test_interactions_are_listed_in_the_order_they_were_logged(store: Any) -> None:
    store.create(profile())
    later, earlier = note("sub-1", "01J0000000000000000000000B", "later"), note("sub-1", "01J0000000000000000000000A")
    store.add_interaction(later)
    store.add_interaction(earlier)
    store.add_interaction(note("sub-2", "01J0000000000000000000000C"))
    assert store.interactions("sub-1") == [earlier, later]  # ULIDs: by time


def test_an_interaction_is_logged_once(store: Any) -> None:
    from pynamodb.exceptions import PutError

    store.create(profile())
    first = note("sub-1", "01J0000000000000000000000A")
    store.add_interaction(first)
    with pytest.raises(PutError):
        store.add_interaction(note("sub-1", "01J0000000000000000000000A", "rewritten"))
    assert store.interactions("sub-1") == [first]


def test_erasing_deletes_the_profile_and_every_note(store: Any) -> None:
    store.create(profile("sub-1"))
    store.create(profile("sub-2"))
    for n in range(30):
        store.add_interaction(note("sub-1", f"01J00000000000000000000{n:03d}"))
    store.delete_all("sub-1")
    assert store.get("sub-1") is None
    assert store.interactions("sub-1") == []
    assert store.find_by_email("ada@example.com") == [profile("sub-2")]
    store.delete_all("sub-1")  # again: nothing left, nothing to do
