"""What the services publish matches the JSON Schemas of docs/events/."""

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

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
        service.adjust_stock(
            catalog, publisher, sku="TENT-2P", delta=delta, reason="r", actor="staff", request_key=key
        )
    return publisher


def test_every_published_event_has_a_schema_and_matches_it() -> None:
    publisher = _published()
    assert {e.name for _, e in publisher.published} == {"ProductUpdated", "InventoryAdjusted", "InventoryLow"}
    for _, event in publisher.published:
        _validator(event.name).validate(event.detail())


def test_schemas_reject_a_malformed_detail() -> None:
    from jsonschema import ValidationError

    with pytest.raises(ValidationError):
        _validator("InventoryAdjusted").validate({"id": "x", "occurredAt": "now", "data": {"sku": 1}})
