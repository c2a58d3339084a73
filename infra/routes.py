"""The REST API route table: every route, the function serving it and its authorization.

Plain data with no CDK imports, so tests and tooling can read it without side effects.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

Auth = Literal["none", "cognito"]


class Route(NamedTuple):
    """One API Gateway method proxied (`AWS_PROXY`) to a Lambda function."""

    method: str
    path: str
    function: str
    auth: Auth


ROUTES: list[Route] = [
    Route("GET", "/health", "InventoryApi", "none"),
    Route("GET", "/openapi.json", "ApiDocs", "none"),
    Route("GET", "/docs", "ApiDocs", "none"),
    Route("GET", "/products", "InventoryApi", "none"),
    Route("GET", "/products/{sku}", "InventoryApi", "none"),
    Route("PUT", "/admin/products/{sku}", "InventoryApi", "cognito"),
    Route("GET", "/admin/inventory/{sku}", "InventoryApi", "cognito"),
    Route("POST", "/admin/inventory/{sku}/adjustments", "InventoryApi", "cognito"),
    Route("POST", "/carts", "CheckoutApi", "none"),
    Route("GET", "/carts/{cartId}", "CheckoutApi", "none"),
    Route("POST", "/carts/{cartId}/claim", "CheckoutApi", "none"),
    Route("PUT", "/carts/{cartId}/items/{sku}", "CheckoutApi", "none"),
    Route("DELETE", "/carts/{cartId}/items/{sku}", "CheckoutApi", "none"),
    Route("POST", "/carts/{cartId}/checkout", "CheckoutApi", "none"),
    Route("POST", "/webhooks/stripe", "CheckoutApi", "none"),
    Route("GET", "/orders", "OrdersApi", "none"),
    Route("GET", "/orders/{orderId}", "OrdersApi", "none"),
    Route("POST", "/orders/{orderId}/cancel", "OrdersApi", "none"),
    Route("GET", "/orders/{orderId}/invoice", "OrdersApi", "none"),
    Route("GET", "/orders/{orderId}/tracking", "OrdersApi", "none"),
    Route("GET", "/admin/orders", "OrdersApi", "cognito"),
    Route("POST", "/admin/orders/{orderId}/cancel", "OrdersApi", "cognito"),
    Route("POST", "/admin/orders/{orderId}/shipments", "OrdersApi", "cognito"),
    Route("POST", "/admin/shipments/{shipmentId}/events", "OrdersApi", "cognito"),
    Route("POST", "/webhooks/carrier", "OrdersApi", "none"),
    Route("POST", "/orders/{orderId}/returns", "OrdersApi", "none"),
    Route("POST", "/admin/returns/{returnId}/refund", "OrdersApi", "cognito"),
    Route("GET", "/me", "CustomersApi", "none"),
    Route("PUT", "/me", "CustomersApi", "none"),
    Route("GET", "/me/export", "CustomersApi", "none"),
    Route("DELETE", "/me", "CustomersApi", "none"),
    Route("GET", "/admin/customers", "CustomersApi", "cognito"),
    Route("GET", "/admin/customers/{customerId}", "CustomersApi", "cognito"),
    Route("POST", "/admin/customers/{customerId}/interactions", "CustomersApi", "cognito"),
    Route("GET", "/admin/analytics/sales", "AnalyticsApi", "cognito"),
    Route("GET", "/admin/analytics/products", "AnalyticsApi", "cognito"),
    Route("GET", "/admin/analytics/funnel", "AnalyticsApi", "cognito"),
    Route("GET", "/admin/analytics/abandoned-carts", "AnalyticsApi", "cognito"),
    Route("POST", "/admin/webhooks", "IntegrationsApi", "cognito"),
    Route("GET", "/admin/webhooks", "IntegrationsApi", "cognito"),
    Route("DELETE", "/admin/webhooks/{webhookId}", "IntegrationsApi", "cognito"),
    Route("POST", "/admin/webhooks/{webhookId}/rotate-secret", "IntegrationsApi", "cognito"),
    Route("POST", "/admin/webhooks/{webhookId}/enable", "IntegrationsApi", "cognito"),
    Route("GET", "/admin/webhooks/{webhookId}/deliveries", "IntegrationsApi", "cognito"),
    Route("POST", "/admin/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver", "IntegrationsApi", "cognito"),
]
"""Every route of the API, in the order of docs/architecture.md."""


def functions_used() -> list[str]:
    """Logical names of the functions the routes need, in first-use order."""
    return list(dict.fromkeys(route.function for route in ROUTES))
