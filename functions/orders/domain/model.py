"""Order rules of the orders service. The statuses themselves are the shared lifecycle in
`commerce.orders`. Pure: no I/O."""

from __future__ import annotations

from commerce.orders import OrderStatus, check_transition

__all__ = ["OrderNotFound", "OrderStatus", "check_transition"]


class OrderNotFound(Exception):
    """Raised to the workflow by name, so its Catch can route on `OrderNotFound`."""
