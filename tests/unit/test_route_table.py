"""The API Gateway route table (infra) and the handlers' own routes (OpenAPI) cannot drift."""

from infra.routes import ROUTES
from inventory.entrypoints import api

SERVED_OUTSIDE_OPENAPI = {("GET", "/openapi.json"), ("GET", "/docs")}


def test_every_inventory_route_in_the_gateway_is_served_by_the_handler_and_back() -> None:
    paths = api.app.get_openapi_schema().paths or {}
    documented = {
        (method.upper(), path)
        for path, item in paths.items()
        for method in ("get", "put", "post", "delete", "patch")
        if getattr(item, method, None) is not None
    }
    deployed = {(r.method, r.path) for r in ROUTES if r.function == "InventoryApi"}
    assert deployed - SERVED_OUTSIDE_OPENAPI == documented


def test_admin_routes_and_only_admin_routes_have_the_authorizer() -> None:
    for route in ROUTES:
        assert (route.auth == "cognito") == route.path.startswith("/admin/"), route
