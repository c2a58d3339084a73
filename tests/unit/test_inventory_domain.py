import pytest

from commerce.errors import Conflict, NotFound, ValidationFailed
from commerce.money import Money
from inventory.domain.model import Product, Stock, check_sku, crosses_low, inventory_json


def test_available_is_on_hand_less_reserved() -> None:
    assert Stock(on_hand=10, reserved=3).available == 7


def test_adjustment_can_take_on_hand_down_to_reserved_but_not_below() -> None:
    stock = Stock(on_hand=10, reserved=4)
    assert stock.adjusted(-6).on_hand == 4
    with pytest.raises(Conflict) as refused:
        stock.adjusted(-7)
    assert refused.value.problem_code == "below_reserved"
    assert refused.value.extra == {"onHand": 10, "reserved": 4, "delta": -7}


@pytest.mark.parametrize("delta", [0, 1_000_001, -1_000_001])
def test_zero_and_absurd_adjustments_are_invalid(delta: int) -> None:
    with pytest.raises(ValidationFailed):
        Stock(on_hand=5).adjusted(delta)


@pytest.mark.parametrize("sku", ["A", "lower-case", "-LEADING", "X" * 33, "SPACE SKU", "../ETC"])
def test_malformed_skus_are_unknown_products(sku: str) -> None:
    with pytest.raises(NotFound):
        check_sku(sku)


@pytest.mark.parametrize("sku", ["AB", "TENT-2P", "A" * 32, "0-9"])
def test_valid_skus(sku: str) -> None:
    assert check_sku(sku) == sku


def test_low_stock_is_reported_when_crossing_the_threshold_only() -> None:
    high, low, lower = Stock(10, 0, 5), Stock(5, 0, 5), Stock(4, 0, 5)
    assert crosses_low(high, low)
    assert not crosses_low(low, lower)
    assert not crosses_low(lower, high)


def test_product_json_never_shows_negative_availability() -> None:
    product = Product("AB", "n", "d", "c", Money(100), stock=Stock(on_hand=1, reserved=2))
    assert product.to_json()["available"] == 0
    assert product.to_json()["price"] == {"amount": 100, "currency": "usd"}


def test_inventory_json_fields() -> None:
    assert inventory_json("AB", Stock(7, 2, 3)) == {
        "sku": "AB",
        "onHand": 7,
        "reserved": 2,
        "available": 5,
        "lowStockThreshold": 3,
    }
