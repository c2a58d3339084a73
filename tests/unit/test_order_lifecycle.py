import itertools

import pytest

from commerce.errors import Conflict
from commerce.orders import TRANSITIONS, OrderStatus, check_transition


def test_the_happy_path_is_allowed() -> None:
    path = ["PENDING_PAYMENT", "PAID", "CONFIRMED", "SHIPPED", "DELIVERED"]
    for current, target in itertools.pairwise(path):
        check_transition(OrderStatus(current), OrderStatus(target))


@pytest.mark.parametrize("terminal", ["PAYMENT_FAILED", "CANCELLED", "REFUNDED"])
def test_terminal_statuses_go_nowhere(terminal: str) -> None:
    assert TRANSITIONS[OrderStatus(terminal)] == frozenset()
    with pytest.raises(Conflict):
        check_transition(OrderStatus(terminal), OrderStatus.PAID)


def test_shipped_orders_cannot_be_cancelled() -> None:
    with pytest.raises(Conflict) as refused:
        check_transition(OrderStatus.SHIPPED, OrderStatus.CANCELLED)
    assert refused.value.problem_code == "invalid_state"
