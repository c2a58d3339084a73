"""Inventory HTTP API: catalog for shoppers, products and stock for staff.

Routes return Powertools `Response`s built from JSON strings, so a stored response replays byte
for byte; their bodies are documented through `responses=` (a `-> Response` annotation would
make Powertools try to validate the returned object)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from commerce.config import setting
from commerce.contract import CURSOR_PATTERN, responses
from commerce.http import dumps, json_response, make_resolver, require_admin
from commerce.idempotency import idempotency_key, run_once
from commerce.money import Money
from commerce.observability import observed
from commerce.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from inventory import bootstrap, service
from inventory.entrypoints.schemas import (
    CATEGORY_PATTERN,
    AdjustmentIn,
    Health,
    InventoryOut,
    ProductIn,
    ProductOut,
    ProductPage,
)

app = make_resolver()


def _ok(model: type, *errors: int) -> dict[int, Any]:
    return responses(200, model, *errors)


ADMIN = (401, 403, 503)
"""Staff routes: the authorizer's 401, `commerce.http`'s 403 for anyone not in the admin group."""


@app.get("/health", responses=_ok(Health))
def health():
    return json_response(200, {"status": "ok"})


@app.get("/products", responses=_ok(ProductPage, 422, 503))
def list_products(
    category: Annotated[str | None, Query(pattern=CATEGORY_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(pattern=CURSOR_PATTERN)] = None,
):
    query = f"category={category or ''}"
    items, last = bootstrap.catalog().list(category=category, limit=limit, start=decode_cursor(cursor, query=query))
    return json_response(200, {"items": [p.to_json() for p in items], "nextCursor": encode_cursor(last, query=query)})


@app.get("/products/<sku>", responses=_ok(ProductOut, 404, 503))
def get_product(sku: str):
    return json_response(200, service.public_product(bootstrap.catalog(), sku).to_json())


@app.put("/admin/products/<sku>", responses=_ok(ProductOut, *ADMIN, 404, 422))
def put_product(sku: str, body: Annotated[ProductIn, Body()]):
    details = service.ProductDetails(
        sku=service.check_sku(sku),
        name=body.name,
        description=body.description,
        category=body.category,
        price=Money(body.price.amount, body.price.currency),
        images=tuple(body.images),
        status=body.status,
        low_stock_threshold=body.lowStockThreshold,
    )
    product = service.put_product(
        bootstrap.catalog(), bootstrap.publisher(), details, currency=setting("CATALOG_CURRENCY", "usd")
    )
    return json_response(200, product.to_json())


@app.get("/admin/inventory/<sku>", responses=_ok(InventoryOut, *ADMIN, 404))
def get_inventory(sku: str):
    return json_response(200, service.inventory_of(bootstrap.catalog(), sku))


@app.post("/admin/inventory/<sku>/adjustments", responses=_ok(InventoryOut, *ADMIN, 404, 409, 422))
def adjust_inventory(sku: str, body: Annotated[AdjustmentIn, Body()]):
    caller = require_admin(app.current_event.raw_event)
    key = idempotency_key(app.current_event.headers)

    def apply() -> dict[str, Any]:
        state = service.adjust_stock(
            bootstrap.catalog(),
            bootstrap.publisher(),
            sku=sku,
            delta=body.delta,
            reason=body.reason,
            actor=caller.scope,
            request_key=key,
        )
        return {"status": 200, "body": dumps(state)}

    stored = run_once(
        scope=caller.scope,
        operation="inventory-adjustment",
        key=key,
        body={**body.model_dump(), "sku": sku},  # a key reused on another SKU: 422
        fn=apply,
        lambda_context=app.lambda_context,
    )
    return Response(stored["status"], "application/json", stored["body"])


@observed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
