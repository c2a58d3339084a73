"""`GET /openapi.json` (the whole API's OpenAPI document, merged from every service's handlers)
and `GET /docs` (Swagger UI over it, with its assets inline: no CDN)."""

from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import Response

from apidocs.openapi import document
from commerce.http import dumps, make_resolver
from commerce.observability import observed

app = make_resolver()


@cache
def _swagger_page() -> str:
    from pathlib import Path

    from aws_lambda_powertools.event_handler.openapi import swagger_ui
    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

    assets = Path(swagger_ui.__file__).parent
    return generate_swagger_html(
        dumps(document()),
        (assets / "swagger-ui-bundle.min.js").read_text(),
        (assets / "swagger-ui.min.css").read_text(),
        "",
        None,
    )


@app.get("/openapi.json", include_in_schema=False)
def openapi():
    return Response(200, "application/json", dumps(document()))


@app.get("/docs", include_in_schema=False)
def docs():
    return Response(200, "text/html; charset=utf-8", _swagger_page())


@observed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
