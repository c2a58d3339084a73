import pytest

from checkout.domain.cart import Cart, CartStatus, token_hash
from checkout.domain.pricing import DEFAULT_RULES, price, rules_from_json
from commerce.errors import ConfigurationError, Conflict, ValidationFailed
from commerce.orders import OrderLine


def lines(*pairs: tuple[int, int]) -> list[OrderLine]:
    return [OrderLine(f"SKU-{i}", "n", qty, unit) for i, (unit, qty) in enumerate(pairs)]


def test_us_order_over_threshold_ships_free_and_pays_8_percent_tax() -> None:
    totals = price(lines((2500, 2), (5000, 1)), "US", DEFAULT_RULES)
    assert (totals.subtotal, totals.shipping, totals.tax, totals.total) == (10000, 0, 800, 10800)


def test_small_us_order_pays_shipping() -> None:
    totals = price(lines((999, 1)), "us", DEFAULT_RULES)
    assert (totals.shipping, totals.tax) == (599, 80)


def test_tax_rounds_half_up_in_minor_units() -> None:
    assert price(lines((1, 1)), "GB", DEFAULT_RULES).tax == 0
    assert price(lines((5, 5)), "DE", DEFAULT_RULES).tax == 5  # 25 * 0.19 = 4.75


def test_unknown_destinations_use_the_default_rule() -> None:
    totals = price(lines((1000, 1)), "NZ", DEFAULT_RULES)
    assert (totals.shipping, totals.tax) == (1500, 0)


def test_empty_cart_costs_nothing() -> None:
    assert price([], "US", DEFAULT_RULES).total == 0


def test_rules_from_configuration() -> None:
    rules = rules_from_json(
        '{"currency": "eur", "default": {"shipping": 700, "taxBasisPoints": 2000},'
        ' "countries": {"fr": {"shipping": 0, "freeShippingOver": null, "taxBasisPoints": 2000}}}'
    )
    assert rules.currency == "eur" and rules.for_country("FR").shipping == 0
    with pytest.raises(ConfigurationError):
        rules_from_json('{"default": {}}')


@pytest.mark.parametrize("quantity", [0, -1, 100, 1000, True])
def test_quantities_outside_1_to_99_are_invalid(quantity: int) -> None:
    with pytest.raises(ValidationFailed):
        Cart("c", "h", None).with_quantity("SKU-1", quantity)


def test_only_the_owner_or_token_holder_reads_a_cart() -> None:
    guest = Cart("c", token_hash("secret"), None)
    assert guest.readable_by(sub=None, token="secret")
    assert not guest.readable_by(sub="someone", token="guess")
    owned = Cart("c", token_hash("secret"), "user-1")
    assert owned.readable_by(sub="user-1", token=None)
    assert not owned.readable_by(sub="user-2", token=None)


def test_checked_out_carts_cannot_change() -> None:
    with pytest.raises(Conflict):
        Cart("c", "h", None, status=CartStatus.CHECKED_OUT).with_quantity("SKU-1", 1)
