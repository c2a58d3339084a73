"""One OpenAPI document for the whole API, merged from every service's Powertools resolver: the
paths each handler declares, with their request and response models. The merge adds what the
resolvers cannot declare: the headers handlers read themselves (`Idempotency-Key`, the capability
tokens, webhook signatures), who may call each route (`security`), and the links that lead from a
cart to its items, its checkout and the order it places. Pure: no I/O; `apidocs.build` feeds it the
services' documents when the CDK app synthesizes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

TITLE = "shopstack API"
VERSION = "1"


def merge(documents: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {
        "openapi": documents[0]["openapi"] if documents else "3.1.0",
        "info": {"title": TITLE, "version": VERSION},
        "paths": {},
        "components": {"schemas": {}},
    }
    for document in documents:
        for path, item in document.get("paths", {}).items():
            merged["paths"].setdefault(path, {}).update(item)
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            existing = merged["components"]["schemas"].get(name)
            if existing is not None and existing != schema:
                raise ValueError(f"two services define schema {name} differently")
            merged["components"]["schemas"][name] = schema
    merged["paths"] = dict(sorted(merged["paths"].items()))
    _drop_default_validation_responses(merged)
    _declare_catalog_currency(merged)
    _declare_headers(merged)
    _declare_security(merged)
    _declare_links(merged)
    return merged


POWERTOOLS_VALIDATION = "#/components/schemas/HTTPValidationError"
"""Powertools documents a 422 of its own on every route; `commerce.http` answers every validation
error as problem details instead, and each route that validates declares that 422 itself."""


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def _drop_default_validation_responses(document: dict[str, Any]) -> None:
    for _, _, operation in _operations(document):
        responses = operation.get("responses", {})
        for status in [s for s, r in responses.items() if POWERTOOLS_VALIDATION in json.dumps(r)]:
            del responses[status]
    schemas = document["components"]["schemas"]
    for name in ("HTTPValidationError", "ResponseValidationError", "ValidationError"):
        text = json.dumps({k: v for k, v in document.items() if k != "components"}) + json.dumps(
            {k: v for k, v in schemas.items() if k != name}
        )
        if f"#/components/schemas/{name}" not in text:
            schemas.pop(name, None)


def _declare_catalog_currency(document: dict[str, Any]) -> None:
    """Products are priced in the catalog's one currency (CATALOG_CURRENCY, from the pricing rules):
    a price in another is 422 `currency_not_accepted`."""
    money = document["components"]["schemas"].get("PriceIn")
    if money is not None:
        money["properties"]["currency"]["enum"] = [os.environ.get("CATALOG_CURRENCY", "usd")]


def _header(name: str, description: str, schema: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": required, "description": description, "schema": schema}


IDEMPOTENCY_KEY = _header(
    "Idempotency-Key",
    "Same caller, key and body within 24 h: the first response again, and no second effect",
    {"type": "string", "minLength": 1, "maxLength": 255},
    required=True,
)
CART_TOKEN = _header(
    "X-Cart-Token",
    "A guest cart's capability token (`cartToken` from POST /carts)",
    {"type": "string"},
)
ORDER_TOKEN = _header(
    "X-Order-Token",
    "A guest order's capability token (`orderToken` from its checkout)",
    {"type": "string"},
)
HEADERS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("POST", "/carts/{cartId}/claim"): [CART_TOKEN],
    ("GET", "/carts/{cartId}"): [CART_TOKEN],
    ("PUT", "/carts/{cartId}/items/{sku}"): [CART_TOKEN],
    ("DELETE", "/carts/{cartId}/items/{sku}"): [CART_TOKEN],
    ("POST", "/carts/{cartId}/checkout"): [CART_TOKEN, IDEMPOTENCY_KEY],
    ("GET", "/orders/{orderId}"): [ORDER_TOKEN],
    ("POST", "/orders/{orderId}/cancel"): [ORDER_TOKEN],
    ("GET", "/orders/{orderId}/invoice"): [ORDER_TOKEN],
    ("GET", "/orders/{orderId}/tracking"): [ORDER_TOKEN],
    ("POST", "/orders/{orderId}/returns"): [ORDER_TOKEN, IDEMPOTENCY_KEY],
    ("POST", "/admin/inventory/{sku}/adjustments"): [IDEMPOTENCY_KEY],
    ("POST", "/admin/returns/{returnId}/refund"): [IDEMPOTENCY_KEY],
    ("POST", "/webhooks/stripe"): [
        _header("Stripe-Signature", "Stripe's signature of the body", {"type": "string"}, required=True)
    ],
    ("POST", "/webhooks/carrier"): [
        _header(
            "X-Carrier-Signature",
            "`t=<unix>,v1=<hex HMAC-SHA256 of t.body>`, within 300 s",
            {"type": "string"},
            required=True,
        )
    ],
}
"""Headers the handlers read from the request themselves (Powertools documents only parameters of
a handler's signature)."""


def _declare_headers(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        for header in HEADERS.get((method, path), []):
            operation.setdefault("parameters", []).append(dict(header))


BEARER = "cognitoIdToken"
SIGNED_IN: list[dict[str, list[str]]] = [{BEARER: []}]
OPTIONAL: list[dict[str, list[str]]] = [{}, {BEARER: []}]
PUBLIC: list[dict[str, list[str]]] = []


def _security(method: str, path: str) -> list[dict[str, list[str]]]:
    """Staff routes and a customer's own (`/me`, the order list, claiming a cart) need an ID token;
    carts and orders take one when sent (otherwise their capability token); the catalog, health and
    webhooks (signed) take none."""
    if path.startswith(("/admin/", "/me")) or (method, path) in {("GET", "/orders"), ("POST", "/carts/{cartId}/claim")}:
        return SIGNED_IN
    if path.startswith(("/carts", "/orders")):
        return OPTIONAL
    return PUBLIC


def _declare_security(document: dict[str, Any]) -> None:
    document["components"]["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A Cognito ID token; `/admin/*` needs membership of the group `admin`",
        }
    }
    for method, path, operation in _operations(document):
        operation["security"] = _security(method, path)


CART_ID = "$response.body#/cartId"
SAME_CART = {"cartId": "$request.path.cartId", "header.X-Cart-Token": "$request.header.X-Cart-Token"}
NEW_CART = {"cartId": CART_ID, "header.X-Cart-Token": "$response.body#/cartToken"}
NEW_ORDER = {"orderId": "$response.body#/orderId", "header.X-Order-Token": "$response.body#/orderToken"}
LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, dict[str, str]]]] = {
    ("POST", "/carts", "201"): {
        "GetCart": ("GET", "/carts/{cartId}", NEW_CART),
        "PutItem": ("PUT", "/carts/{cartId}/items/{sku}", NEW_CART),
        "RemoveItem": ("DELETE", "/carts/{cartId}/items/{sku}", NEW_CART),
        "Checkout": ("POST", "/carts/{cartId}/checkout", NEW_CART),
        "Claim": ("POST", "/carts/{cartId}/claim", NEW_CART),
    },
    ("PUT", "/carts/{cartId}/items/{sku}", "200"): {
        "GetCart": ("GET", "/carts/{cartId}", SAME_CART),
        "RemoveItem": ("DELETE", "/carts/{cartId}/items/{sku}", {**SAME_CART, "sku": "$request.path.sku"}),
        "Checkout": ("POST", "/carts/{cartId}/checkout", SAME_CART),
    },
    ("POST", "/carts/{cartId}/checkout", "201"): {
        "GetOrder": ("GET", "/orders/{orderId}", NEW_ORDER),
        "CancelOrder": ("POST", "/orders/{orderId}/cancel", NEW_ORDER),
        "GetInvoice": ("GET", "/orders/{orderId}/invoice", NEW_ORDER),
        "GetTracking": ("GET", "/orders/{orderId}/tracking", NEW_ORDER),
        "RequestReturn": ("POST", "/orders/{orderId}/returns", NEW_ORDER),
        "StaffCancel": ("POST", "/admin/orders/{orderId}/cancel", {"orderId": "$response.body#/orderId"}),
        "Ship": ("POST", "/admin/orders/{orderId}/shipments", {"orderId": "$response.body#/orderId"}),
    },
    ("POST", "/admin/orders/{orderId}/shipments", "201"): {
        "RecordEvent": ("POST", "/admin/shipments/{shipmentId}/events", {"shipmentId": "$response.body#/shipmentId"}),
        "GetTracking": ("GET", "/orders/{orderId}/tracking", {"orderId": "$response.body#/orderId"}),
    },
    ("POST", "/orders/{orderId}/returns", "201"): {
        "Refund": ("POST", "/admin/returns/{returnId}/refund", {"returnId": "$response.body#/returnId"}),
    },
    ("PUT", "/admin/products/{sku}", "200"): {
        "GetProduct": ("GET", "/products/{sku}", {"sku": "$response.body#/sku"}),
        "GetInventory": ("GET", "/admin/inventory/{sku}", {"sku": "$response.body#/sku"}),
        "AdjustStock": ("POST", "/admin/inventory/{sku}/adjustments", {"sku": "$response.body#/sku"}),
    },
}
"""OpenAPI links: where the ids and capability tokens a response returns lead next: a new cart to
its items and checkout, a checkout to the order it placed, a shipment to its tracking events, a
return to its refund, a product to its stock."""


def _declare_links(document: dict[str, Any]) -> None:
    ids = {(method, path): operation["operationId"] for method, path, operation in _operations(document)}
    for (method, path, status), links in LINKS.items():
        response = document["paths"][path][method.lower()]["responses"][status]
        response["links"] = {
            name: {"operationId": ids[(target_method, target_path)], "parameters": parameters}
            for name, (target_method, target_path, parameters) in links.items()
        }
