"""Analytics HTTP API: the staff's reports (`/admin/analytics/*`, admin group only, checked by
`commerce.http` before routing). Dates are UTC days, `from` and `to` inclusive."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query

from analytics import bootstrap, service
from analytics.entrypoints.schemas import AnalyticsAbandonedCarts, AnalyticsFunnel, AnalyticsProducts, AnalyticsSales
from commerce.clock import now
from commerce.contract import CURSOR_PATTERN, responses
from commerce.http import json_response, make_resolver
from commerce.observability import observed
from commerce.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor

app = make_resolver()

DATE = r"^\d{4}-\d{2}-\d{2}$"
ADMIN = (401, 403, 422, 503)
"""The authorizer's 401, `commerce.http`'s 403 for anyone not in the admin group, a bad range."""


def _range(start: str | None, end: str | None) -> Any:
    return service.date_range(start, end, today=now().date())


DAY = {"format": "date"}
"""A calendar date (`2026-02-30` matches DATE but is none): the handler reads it with `date.fromisoformat`."""
FROM = Query(
    alias="from",
    pattern=DATE,
    json_schema_extra=DAY,
    description="first day, YYYY-MM-DD (default: 29 days before `to`); `from` after `to`, or a range over "
    "the longest a report covers, is 422 `invalid_date_range`",
)
TO = Query(pattern=DATE, json_schema_extra=DAY, description="last day, YYYY-MM-DD (default: today, UTC)")


@app.get("/admin/analytics/sales", responses=responses(200, AnalyticsSales, *ADMIN))
def sales(start: Annotated[str | None, FROM] = None, to: Annotated[str | None, TO] = None):
    return json_response(200, service.sales(bootstrap.aggregates(), *_range(start, to)))


@app.get("/admin/analytics/products", responses=responses(200, AnalyticsProducts, *ADMIN))
def products(
    start: Annotated[str | None, FROM] = None,
    to: Annotated[str | None, TO] = None,
    by: Annotated[str, Query(pattern="^(units|revenue)$")] = "revenue",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
):
    first, last = _range(start, to)
    return json_response(200, service.products(bootstrap.aggregates(), first, last, by=by, limit=limit))


@app.get("/admin/analytics/funnel", responses=responses(200, AnalyticsFunnel, *ADMIN))
def funnel(start: Annotated[str | None, FROM] = None, to: Annotated[str | None, TO] = None):
    return json_response(200, service.funnel(bootstrap.aggregates(), *_range(start, to)))


@app.get("/admin/analytics/abandoned-carts", responses=responses(200, AnalyticsAbandonedCarts, *ADMIN))
def abandoned_carts(
    start: Annotated[str | None, FROM] = None,
    to: Annotated[str | None, TO] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(pattern=CURSOR_PATTERN)] = None,
):
    first, last = _range(start, to)
    query = f"abandoned={first}..{last}"
    after = decode_cursor(cursor, query=query)
    items, last_key = bootstrap.aggregates().abandoned_carts(first, last, limit, (after or {}).get("key"))
    next_cursor = encode_cursor({"key": last_key} if last_key else None, query=query)
    return json_response(200, {"items": items, "nextCursor": next_cursor})


@observed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
