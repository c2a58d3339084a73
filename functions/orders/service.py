"""Order workflow tasks behind a small port. Each task is safe to run twice."""

from __future__ import annotations

from typing import Any, Protocol

from orders.domain.model import OrderNotFound


class Orders(Protocol):
    def summary(self, order_id: str) -> dict[str, Any] | None: ...


def load_order(orders: Orders, order_id: str) -> dict[str, Any]:
    summary = orders.summary(order_id)
    if summary is None:
        raise OrderNotFound(f"order {order_id} does not exist")
    return summary
