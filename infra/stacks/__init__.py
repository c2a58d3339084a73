"""One stack per service plus the shared stack and the API stack."""

from infra.stacks.analytics import AnalyticsStack
from infra.stacks.api import ApiStack
from infra.stacks.checkout import CheckoutStack
from infra.stacks.customers import CustomersStack
from infra.stacks.integrations import IntegrationsStack
from infra.stacks.inventory import InventoryStack
from infra.stacks.orders import OrdersStack
from infra.stacks.shared import SharedStack
from infra.stacks.web import WebStack

__all__ = [
    "AnalyticsStack",
    "ApiStack",
    "CheckoutStack",
    "CustomersStack",
    "IntegrationsStack",
    "InventoryStack",
    "OrdersStack",
    "SharedStack",
    "WebStack",
]
