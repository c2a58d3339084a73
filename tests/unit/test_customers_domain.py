"""The customers domain: profiles, their validation, staff's stats and timeline, anonymization."""

from __future__ import annotations

from typing import Any

import pytest

from commerce.errors import ValidationFailed
from customers.domain import crm
from customers.domain.crm import OrderBundle
from customers.domain.profile import (
    Address,
    Channel,
    Interaction,
    ProfileUpdate,
    anonymized_address,
    anonymized_bill_to,
    new_profile,
)
from tests.unit.customers_fakes import ADDRESS, order_items


def _bundle(**changes: Any) -> OrderBundle:
    order, *related = order_items(**changes)
    return OrderBundle(order, tuple(related))


def test_a_new_profile_stores_the_email_lowercased() -> None:
    profile = new_profile("u1", " Ada@Example.COM ", "2026-01-01T00:00:00.000Z")
    assert profile.email == "ada@example.com"
    assert profile.to_json()["addresses"] == [] and profile.to_json()["marketingOptIn"] is False


def test_an_update_replaces_the_profile() -> None:
    profile = new_profile("u1", "a@example.com", "t0")
    address = Address.from_json({**ADDRESS, "label": "home"})
    updated = profile.updated(ProfileUpdate("Ada", "+1 555 0100", (address,), True), "t1")
    body = updated.to_json()
    assert body["name"] == "Ada" and body["phone"] == "+1 555 0100" and body["marketingOptIn"] is True
    assert body["addresses"] == [{**ADDRESS, "label": "home"}] and body["updatedAt"] == "t1"
    assert Address.from_json(body["addresses"][0]) == address


@pytest.mark.parametrize(
    ("update", "field"),
    [
        (ProfileUpdate(name=" "), "name"),
        (ProfileUpdate(phone="call me"), "phone"),
        (ProfileUpdate(addresses=(Address.from_json({**ADDRESS, "country": "usa"}),)), "addresses.0.country"),
        (ProfileUpdate(addresses=tuple(Address.from_json(ADDRESS) for _ in range(11))), "addresses"),
    ],
)
def test_invalid_updates_name_the_field(update: ProfileUpdate, field: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        update.validate()
    assert field in [e["field"] for e in raised.value.errors]


@pytest.mark.parametrize("summary", ["", " ", "x" * 2001])
def test_an_interaction_needs_a_summary_of_1_to_2000_characters(summary: str) -> None:
    with pytest.raises(ValidationFailed):
        Interaction("i1", "u1", Channel.NOTE, summary, "t")


def test_lifetime_value_counts_paid_orders_less_refunds() -> None:
    bundles = [
        _bundle(),
        _bundle(order_id="o2", status="CANCELLED", totalAmount=5000),
        _bundle(order_id="o3", status="PAYMENT_FAILED", totalAmount=7000),
    ]
    stats = crm.stats([bundles[0], OrderBundle(bundles[1].order), OrderBundle(bundles[2].order)])
    assert stats == {
        "orders": 3,
        "lifetimeValue": {"amount": 2759 - 1080, "currency": "usd"},
        "refunded": {"amount": 1080, "currency": "usd"},
    }
    assert crm.stats([]) == {
        "orders": 0,
        "lifetimeValue": {"amount": 0, "currency": "usd"},
        "refunded": {"amount": 0, "currency": "usd"},
    }


def test_timeline_merges_orders_returns_refunds_emails_and_interactions_newest_first() -> None:
    profile = new_profile("user-1", "ada@example.com", "2025-12-31T00:00:00.000Z")
    note = Interaction("i1", "user-1", Channel.PHONE, "Asked about sizes", "2026-01-07T00:00:00.000Z", {})
    entries = crm.timeline(profile, [_bundle()], [note])
    assert [e["at"] for e in entries] == sorted((e["at"] for e in entries), reverse=True)
    kinds = [e["type"] for e in entries]
    assert kinds[0] == "interaction" and kinds[-1] == "registered"
    assert {"order", "order_status", "return", "refund", "email"} <= set(kinds)
    (refund,) = [e for e in entries if e["type"] == "refund"]
    assert refund == {
        "type": "refund",
        "at": "2026-01-05T00:00:00.000Z",
        "orderId": "o1",
        "returnId": "r1",
        "amount": {"amount": 1080, "currency": "usd"},
    }
    emails = {e["email"]: e["at"] for e in entries if e["type"] == "email"}
    assert emails == {
        "confirmation": "2026-01-01T00:00:02.000Z",
        "delivered": "2026-01-03T00:00:00.000Z",
        "shipped-s1": "2026-01-02T00:00:00.000Z",
    }
    statuses = [e["status"] for e in entries if e["type"] == "order_status"]
    assert "PENDING_PAYMENT" not in statuses and "PARTIALLY_REFUNDED" in statuses


def test_an_export_leaves_out_keys_and_token_hashes() -> None:
    exported = crm.order_export(_bundle())
    assert "orderTokenHash" not in exported and "pk" not in exported
    assert exported["shipments"][0]["trackingNumber"] == "1Z999"
    assert exported["returns"][0]["returnId"] == "r1"
    assert exported["invoice"]["invoiceNumber"] == "INV-2026-000001"


def test_anonymized_addresses_keep_only_the_country() -> None:
    assert anonymized_address(ADDRESS) == {"country": "US"}
    assert anonymized_address({}) == {}
    assert anonymized_bill_to({"name": "Ada", "email": "a@x.io", "address": ADDRESS}) == {
        "name": "",
        "email": "erased@invalid",
        "address": {"country": "US"},
    }


def test_an_erased_customer_view_holds_nothing_personal() -> None:
    view = crm.erased_view("u1", "2026-02-01T00:00:00.000Z")
    assert view["profile"] is None and view["status"] == "ERASED"
    assert view["timeline"] == [{"type": "erased", "at": "2026-02-01T00:00:00.000Z"}]
