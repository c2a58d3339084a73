"""The API Gateway route table (infra) and the handlers' own routes (OpenAPI) cannot drift."""

from apidocs.build import document
from infra.routes import ROUTES

SERVED_OUTSIDE_OPENAPI = {("GET", "/openapi.json"), ("GET", "/docs")}


def test_the_openapi_document_holds_exactly_the_gateways_routes() -> None:
    documented = {
        (method.upper(), path)
        for path, item in document()["paths"].items()
        for method in item
        if method in ("get", "put", "post", "delete", "patch")
    }
    deployed = {(r.method, r.path) for r in ROUTES}
    assert deployed - SERVED_OUTSIDE_OPENAPI == documented
    assert {(r.method, r.path) for r in ROUTES if r.function == "ApiDocs"} == SERVED_OUTSIDE_OPENAPI


def test_admin_routes_and_only_admin_routes_have_the_authorizer() -> None:
    for route in ROUTES:
        assert (route.auth == "cognito") == route.path.startswith("/admin/"), route
