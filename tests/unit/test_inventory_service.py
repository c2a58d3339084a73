import pytest

from commerce.errors import Conflict
from commerce.money import Money
from inventory import service
from inventory.domain.model import ProductStatus
from tests.unit.fakes import FakeCatalog, RecordingPublisher


def _details(sku: str = "TENT-2P", status: ProductStatus = ProductStatus.ACTIVE) -> service.ProductDetails:
    return service.ProductDetails(sku, "Tent", "", "tents", Money(24900), (), status)


@pytest.fixture
def catalog() -> FakeCatalog:
    fake = FakeCatalog()
    fake.upsert(_details())
    return fake


def _adjust(catalog: FakeCatalog, publisher: RecordingPublisher, delta: int, key: str) -> dict[str, object]:
    return service.adjust_stock(
        catalog, publisher, sku="TENT-2P", delta=delta, reason="count", actor="staff-1", request_key=key
    )


def test_adjustment_publishes_inventory_adjusted_with_the_new_counts(catalog: FakeCatalog) -> None:
    publisher = RecordingPublisher()
    state = _adjust(catalog, publisher, 20, "k1")
    assert state["onHand"] == 20
    assert publisher.names() == ["InventoryAdjusted"]
    source, event = publisher.published[0]
    assert source == "shopstack.inventory"
    assert event.data["delta"] == 20 and event.data["available"] == 20


def test_retried_adjustment_applies_once_and_republishes_the_same_event_id(catalog: FakeCatalog) -> None:
    publisher = RecordingPublisher()
    _adjust(catalog, publisher, 5, "same-key")
    state = _adjust(catalog, publisher, 5, "same-key")
    assert state["onHand"] == 5
    ids = {e.id for _, e in publisher.published}
    assert len(ids) == 1


def test_dropping_to_the_threshold_publishes_inventory_low(catalog: FakeCatalog) -> None:
    publisher = RecordingPublisher()
    _adjust(catalog, publisher, 10, "k1")
    _adjust(catalog, publisher, -5, "k2")
    assert publisher.names() == ["InventoryAdjusted", "InventoryAdjusted", "InventoryLow"]


def test_going_below_reserved_is_refused_and_publishes_nothing(catalog: FakeCatalog) -> None:
    publisher = RecordingPublisher()
    with pytest.raises(Conflict):
        _adjust(catalog, publisher, -1, "k1")
    assert publisher.published == []


def test_drafts_are_hidden_from_shoppers(catalog: FakeCatalog) -> None:
    from commerce.errors import NotFound

    catalog.upsert(_details("DRAFT-1", ProductStatus.DRAFT))
    with pytest.raises(NotFound):
        service.public_product(catalog, "DRAFT-1")
    assert service.public_product(catalog, "TENT-2P").name == "Tent"


def test_put_product_publishes_product_updated(catalog: FakeCatalog) -> None:
    publisher = RecordingPublisher()
    product = service.put_product(catalog, publisher, _details("PACK-40"))
    assert product.sku == "PACK-40"
    assert publisher.names() == ["ProductUpdated"]
