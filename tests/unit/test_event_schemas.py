"""What the services publish matches the JSON Schemas of docs/events/."""

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from commerce.events import DomainEvent
from commerce.money import Money
from inventory import service
from inventory.domain.model import ProductStatus
from tests.unit.fakes import FakeCatalog, RecordingPublisher

EVENTS = Path(__file__).parents[2] / "docs" / "events"


def _validator(name: str) -> Draft202012Validator:
    registry = Registry().with_resources(
        (path.name, Resource.from_contents(json.loads(path.read_text()))) for path in EVENTS.glob("*.json")
    )
    return Draft202012Validator(json.loads((EVENTS / f"{name}.schema.json").read_text()), registry=registry)


def _published() -> RecordingPublisher:
    catalog, publisher = FakeCatalog(), RecordingPublisher()
    details = service.ProductDetails("TENT-2P", "Tent", "d", "tents", Money(100), (), ProductStatus.ACTIVE)
    service.put_product(catalog, publisher, details)
    for delta, key in ((10, "a"), (-6, "b")):
        service.adjust_stock(catalog, publisher, sku="TENT-2P", delta=delta, reason="r", actor="staff", request_key=key)
    return publisher


def test_every_published_event_has_a_schema_and_matches_it() -> None:
    publisher = _published()
    assert {e.name for _, e in publisher.published} == {"ProductUpdated", "InventoryAdjusted", "InventoryLow"}
    for _, event in publisher.published:
        _validator(event.name).validate(event.detail())


def _checkout_events() -> list[DomainEvent]:
    from checkout import service as checkout
    from tests.unit.checkout_fakes import make_checkout

    deps, parts = make_checkout(A=5)
    address = {"name": "A", "line1": "l", "city": "c", "postalCode": "1", "country": "US"}
    for order_id, method in (("paid", "pm_card_visa"), ("declined", "pm_card_chargeDeclined"), ("open", None)):
        cart, _ = checkout.create_cart(deps, owner=None)
        cart = checkout.set_item(deps, cart, "A", 1)
        checkout.checkout(deps, cart, checkout.CheckoutRequest("a@example.com", address, method), order_id=order_id)
    checkout.expire_reservation(deps, "open")
    return [e for _, e in parts["publisher"].published]


def test_every_checkout_event_has_a_schema_and_matches_it() -> None:
    events = _checkout_events()
    assert {e.name for e in events} == {
        "CartCreated",
        "CheckoutStarted",
        "PaymentAuthorized",
        "PaymentFailed",
        "OrderCancelled",
    }
    for event in events:
        _validator(event.name).validate(event.detail())


def test_schemas_reject_a_malformed_detail() -> None:
    from jsonschema import ValidationError

    with pytest.raises(ValidationError):
        _validator("InventoryAdjusted").validate({"id": "x", "occurredAt": "now", "data": {"sku": 1}})
