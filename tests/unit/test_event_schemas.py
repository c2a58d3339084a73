"""What the services publish matches the JSON Schemas of docs/events/."""

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

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


ORDER = {
    "pk": "ORDER#o1",
    "sk": "ORDER",
    "orderId": "o1",
    "status": "PENDING_PAYMENT",
    "cartId": "c1",
    "email": "a@example.com",
    "totalAmount": 2679,
    "currency": "usd",
    "paymentIntentId": "pi_1",
    "owner": "user-1",
    "lines": [{"sku": "A", "name": "Mug", "quantity": Decimal(2), "unitPrice": Decimal(1200)}],
    "history": [],
}
SHIPMENT = {
    "pk": "ORDER#o1",
    "sk": "SHIPMENT#s1",
    "shipmentId": "s1",
    "orderId": "o1",
    "carrier": "UPS",
    "trackingNumber": "1Z999",
    "events": [{"status": "SHIPPED", "at": "2026-01-01T00:00:00.000Z"}],
}

RETURN = {
    "pk": "ORDER#o1",
    "sk": "RETURN#r1",
    "returnId": "r1",
    "orderId": "o1",
    "status": "REQUESTED",
    "currency": "usd",
    "lines": [{"sku": "A", "quantity": Decimal(1), "reason": "too small"}],
}


def _order_changes() -> list[DomainEvent]:
    from orders.domain.events import events_for_change

    changes: list[tuple[dict[str, Any] | None, dict[str, Any] | None]] = [(None, ORDER)]
    previous = ORDER
    for status in ("PAID", "CONFIRMED", "SHIPPED", "DELIVERED", "CANCELLED", "PAYMENT_FAILED"):
        current = {**previous, "status": status, "history": [{"status": status, "note": "why"}]}
        changes.append((previous, current))
        previous = current
    delivered = {**SHIPMENT, "events": [*SHIPMENT["events"], {"status": "DELIVERED", "at": "2026-01-02T00:00:00.000Z"}]}
    changes += [(None, SHIPMENT), (SHIPMENT, delivered), (delivered, delivered), (ORDER, None)]
    refunded = {**RETURN, "status": "REFUNDED", "refundAmount": 1080, "restocked": "true"}
    changes += [(None, RETURN), (RETURN, refunded), (refunded, refunded)]
    return [event for old, new in changes for _, event in events_for_change(old, new)]


def test_every_order_change_event_has_a_schema_and_matches_it() -> None:
    events = _order_changes()
    assert [e.name for e in events] == [
        "CheckoutStarted",
        "PaymentAuthorized",
        "OrderConfirmed",
        "OrderShipped",
        "OrderDelivered",
        "OrderCancelled",
        "PaymentFailed",
        "ShipmentUpdated",
        "ShipmentUpdated",
        "ReturnRequested",
        "RefundIssued",
    ]
    for event in events:
        _validator(event.name).validate(event.detail())


def test_order_confirmed_carries_what_analytics_counts() -> None:
    (confirmed,) = [e for e in _order_changes() if e.name == "OrderConfirmed"]
    assert confirmed.data["customerId"] == "user-1"
    assert confirmed.data["lines"] == [{"sku": "A", "quantity": 2, "amount": 2400}]


def test_cart_updated_has_a_schema_and_matches_it() -> None:
    from checkout.domain.cart import Cart
    from checkout.service import cart_updated

    signed_in = cart_updated(Cart("c1", "h", "user-1", {"A": 2, "B": 1}, version=3), "ada@example.com")
    guest = cart_updated(Cart("c2", "h", None, {}, version=1), "ada@example.com")
    for event in (signed_in, guest):
        _validator("CartUpdated").validate(event.detail())
    assert (signed_in.data["itemCount"], signed_in.data["units"], signed_in.data["email"]) == (2, 3, "ada@example.com")
    assert guest.data["email"] is None and guest.data["itemCount"] == 0
    assert signed_in.id == cart_updated(Cart("c1", "h", "user-1", {"A": 2, "B": 1}, version=3), None).id


def test_stream_images_become_json_serializable_events() -> None:
    """Stream images carry DynamoDB numbers as Decimal; events must serialize as JSON."""
    for event in _order_changes():
        json.dumps(event.detail())


def test_a_redelivered_change_publishes_the_same_event_ids() -> None:
    assert [e.id for e in _order_changes()] == [e.id for e in _order_changes()]


def test_every_event_named_in_the_catalogue_has_a_schema() -> None:
    listed = {p.name.removesuffix(".schema.json") for p in EVENTS.glob("*.schema.json")} - {"envelope"}
    readme = (EVENTS / "README.md").read_text()
    assert all(f"[{name}]" in readme for name in listed)


def test_schemas_reject_a_malformed_detail() -> None:
    from jsonschema import ValidationError

    with pytest.raises(ValidationError):
        _validator("InventoryAdjusted").validate({"id": "x", "occurredAt": "now", "data": {"sku": 1}})


LOCK = EVENTS / "compatibility.lock"
"""What consumers may rely on, per event: each `data` field's JSON type(s) and whether it is
required. A change may add fields; it may not remove, retype or un-require a locked one. After
a deliberate additive change, re-lock with
`PYTHONPATH=functions:layers/shared/python .venv/bin/python -m tests.unit.test_event_schemas`."""


def shape(schema: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """Every field under `data` by dotted path (`[]` for array items): its types and requiredness."""
    fields: dict[str, dict[str, Any]] = {}
    required = set(schema.get("required") or [])
    for name, sub in (schema.get("properties") or {}).items():
        path = f"{prefix}{name}"
        types = sub.get("type", "any")
        fields[path] = {"types": sorted(types) if isinstance(types, list) else [types], "required": name in required}
        if sub.get("type") == "object":
            fields.update(shape(sub, f"{path}."))
        items = sub.get("items")
        if sub.get("type") == "array" and isinstance(items, dict):
            fields.update(shape(items, f"{path}[]."))
    return fields


def _current() -> dict[str, dict[str, dict[str, Any]]]:
    return {
        path.name.removesuffix(".schema.json"): shape(json.loads(path.read_text())["properties"]["data"])
        for path in sorted(EVENTS.glob("*.schema.json"))
        if path.name != "envelope.schema.json"
    }


def breaking_changes(locked: dict[str, Any], current: dict[str, Any]) -> list[str]:
    found = []
    for event, fields in locked.items():
        if event not in current:
            found.append(f"{event}: removed")
            continue
        for path, was in fields.items():
            now = current[event].get(path)
            if now is None:
                found.append(f"{event}.{path}: removed")
            elif now["types"] != was["types"]:
                found.append(f"{event}.{path}: type {was['types']} -> {now['types']}")
            elif was["required"] and not now["required"]:
                found.append(f"{event}.{path}: no longer required")
    return found


def test_no_schema_change_breaks_a_consumer() -> None:
    assert breaking_changes(json.loads(LOCK.read_text()), _current()) == []


def test_a_removed_or_retyped_field_is_caught() -> None:
    locked = json.loads(LOCK.read_text())
    current = _current()
    del current["OrderConfirmed"]["total.amount"]
    current["CartCreated"]["signedIn"] = {"types": ["string"], "required": True}
    assert breaking_changes(locked, current) == [
        "CartCreated.signedIn: type ['boolean'] -> ['string']",
        "OrderConfirmed.total.amount: removed",
    ]


if __name__ == "__main__":
    LOCK.write_text(json.dumps(_current(), indent=2, sort_keys=True) + "\n")
