"""`GET /openapi.json` (the whole API's OpenAPI document) and `GET /docs` (Swagger UI over it, with
its assets inline: no CDN): the files `apidocs.build` wrote into this package when the CDK app
synthesized (`apidocs.site`). The function imports no other service and builds nothing."""

from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import Response

from apidocs.site import DOCS_HTML, OPENAPI_JSON, SITE_DIR
from commerce.http import make_resolver
from commerce.observability import observed

app = make_resolver()


@cache
def _built(name: str) -> str:
    return (SITE_DIR / name).read_text(encoding="utf-8")


@app.get("/openapi.json", include_in_schema=False)
def openapi():
    return Response(200, "application/json", _built(OPENAPI_JSON))


@app.get("/docs", include_in_schema=False)
def docs():
    return Response(200, "text/html; charset=utf-8", _built(DOCS_HTML))


@observed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
