"""Orders HTTP API: a customer's orders, invoices, tracking and cancellation; staff's order list,
shipments and tracking events; the carriers' tracking webhook.

Routes return Powertools `Response`s built from JSON strings; their bodies are documented
through `responses=`."""

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Protocol, runtime_checkable

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from commerce.clock import now, rfc3339
from commerce.config import setting
from commerce.contract import CURSOR_PATTERN, responses
from commerce.errors import BadRequest, NotFound, Unauthorized
from commerce.http import Caller, dumps, json_response, make_resolver
from commerce.idempotency import idempotency_key, run_once
from commerce.identity import optional_caller
from commerce.observability import observed
from commerce.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from orders import bootstrap, service
from orders.domain.invoice import invoice_html
from orders.domain.model import Order, OrderStatus, Shipment, TrackingEvent, TrackingStatus
from orders.domain.returns import ReturnLine
from orders.entrypoints.schemas import (
    CarrierEventIn,
    InvoiceOut,
    OrderOut,
    OrderPage,
    RefundIn,
    ReturnIn,
    ReturnOut,
    ShipmentIn,
    ShipmentOut,
    TrackingEventIn,
    TrackingOut,
)
from orders.entrypoints.serialize import order_json

if TYPE_CHECKING:
    from orders.adapters.dynamodb import WholeOrder

app = make_resolver()
SIGNATURE_TOLERANCE_SECONDS = 300


ORDER = (401, 404, 503)
"""Every order route: a bad ID token (401), an order that is not the caller's (404), a busy store (503)."""
ADMIN = (401, 403, 404, 503)
"""Staff routes: the authorizer's 401, `commerce.http`'s 403 for anyone not in the admin group."""


def _doc(status: int, model: type | None, *errors: int) -> dict[int, Any]:
    return responses(status, model, *errors)


def _caller() -> Caller:
    return optional_caller(app.current_event.raw_event)


def _order_for_caller(order_id: str) -> Order:
    """The order, if the caller owns it, holds its order token, or is staff; otherwise 404."""
    return _shown_to_caller(bootstrap.orders().store.get(order_id))


def _shown_to_caller(order: Order | None) -> Order:
    """`order`, if the caller owns it, holds its order token, or is staff; otherwise 404."""
    caller = _caller()
    token = app.current_event.headers.get("x-order-token")
    allowed = order is not None and (
        (caller.sub is not None and caller.sub == order.owner)
        or caller.is_admin
        or (token is not None and hmac.compare_digest(hashlib.sha256(token.encode()).hexdigest(), order.token_hash))
    )
    if order is None or not allowed:
        raise NotFound("No such order.", code="order_not_found")
    return order


def _view(order: Order) -> dict[str, Any]:
    store = bootstrap.orders().store
    returns = [r.to_json(order.currency) for r in store.returns(order.order_id)]
    return order_json(order, store.shipments(order.order_id), store.invoice(order.order_id), returns)


def _page(orders: list[Order], last: dict[str, Any] | None, query: str) -> Response:
    return json_response(200, {"items": [_view(o) for o in orders], "nextCursor": encode_cursor(last, query=query)})


@app.get("/orders", responses=_doc(200, OrderPage, 401, 422, 503))
def list_orders(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(pattern=CURSOR_PATTERN)] = None,
):
    caller = _caller()
    if caller.sub is None:
        raise Unauthorized("Sign in to list your orders.")
    query = f"owner={caller.sub}"
    orders, last = bootstrap.orders().store.list_for_owner(caller.sub, limit, decode_cursor(cursor, query=query))
    return _page(orders, last, query)


@runtime_checkable
class _WholeOrders(Protocol):
    """A store that reads an order with its shipments, invoice and returns in one request."""

    def whole_order(self, order_id: str) -> "WholeOrder | None": ...


@app.get("/orders/<orderId>", responses=_doc(200, OrderOut, *ORDER))
def get_order(orderId: str):
    store = bootstrap.orders().store
    if not isinstance(store, _WholeOrders):
        return json_response(200, _view(_order_for_caller(orderId)))
    whole = store.whole_order(orderId)
    order = _shown_to_caller(whole.order if whole is not None else None)
    assert whole is not None  # else refused above
    returns = [r.to_json(order.currency) for r in whole.returns]
    return json_response(200, order_json(order, whole.shipments, whole.invoice, returns))


def _cancelled(order_id: str, by: str) -> Response:
    """200 with the order CANCELLED; 202 with it CANCELLING when the payment provider could not
    be reached (the stock is back already; the money follows on a retry or by the reconciler)."""
    order = service.cancel(bootstrap.orders(), order_id, by=by)
    return json_response(202 if order.status is OrderStatus.CANCELLING else 200, _view(order))


def _cancel_doc(*errors: int) -> dict[int, Any]:
    return {**_doc(200, OrderOut, *errors), 202: responses(202, OrderOut, description="Accepted: CANCELLING")[202]}


@app.post("/orders/<orderId>/cancel", responses=_cancel_doc(*ORDER, 409))
def cancel_order(orderId: str):
    return _cancelled(_order_for_caller(orderId).order_id, "customer")


def _invoice_doc() -> dict[int, Any]:
    """JSON, or the printable page for an `Accept` that names text/html."""
    documented = _doc(200, InvoiceOut, *ORDER)
    documented[200]["content"]["text/html"] = {"schema": {"type": "string"}}
    return documented


@app.get("/orders/<orderId>/invoice", responses=_invoice_doc())
def get_invoice(orderId: str):
    order = _order_for_caller(orderId)
    invoice = bootstrap.orders().store.invoice(order.order_id)
    if invoice is None:
        raise NotFound("No invoice has been issued for this order yet.", code="invoice_not_found")
    if "text/html" in (app.current_event.headers.get("accept") or ""):
        return Response(200, "text/html; charset=utf-8", invoice_html(invoice))
    return json_response(200, invoice)


@app.get("/orders/<orderId>/tracking", responses=_doc(200, TrackingOut, *ORDER))
def get_tracking(orderId: str):
    order = _order_for_caller(orderId)
    shipments = bootstrap.orders().store.shipments(order.order_id)
    return json_response(200, {"orderId": order.order_id, "shipments": [s.to_json() for s in shipments]})


@app.get("/admin/orders", responses=_doc(200, OrderPage, 401, 403, 422, 503))
def admin_list_orders(
    status: Annotated[str | None, Query(pattern=r"^[A-Z_]{3,30}$")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(pattern=CURSOR_PATTERN)] = None,
):
    query = f"status={status or ''}"
    orders, last = bootstrap.orders().store.list_all(status, limit, decode_cursor(cursor, query=query))
    return _page(orders, last, query)


@app.post("/admin/orders/<orderId>/cancel", responses=_cancel_doc(*ADMIN, 409))
def admin_cancel_order(orderId: str):
    return _cancelled(_order_for_caller(orderId).order_id, "staff")


@app.post("/admin/orders/<orderId>/shipments", responses=_doc(201, ShipmentOut, *ADMIN, 409, 422))
def create_shipment(orderId: str, body: Annotated[ShipmentIn, Body()]):
    order = _order_for_caller(orderId)
    shipment = service.create_shipment(
        bootstrap.orders(), order.order_id, carrier=body.carrier, tracking_number=body.trackingNumber
    )
    return json_response(201, shipment.to_json())


def _tracked(shipment: Shipment, body: TrackingEventIn) -> Shipment:
    event = TrackingEvent(TrackingStatus(body.status), rfc3339(body.at), body.location)
    return service.record_tracking(bootstrap.orders(), shipment, event)


@app.post("/admin/shipments/<shipmentId>/events", responses=_doc(200, ShipmentOut, *ADMIN, 409, 422))
def staff_tracking_event(shipmentId: str, body: Annotated[TrackingEventIn, Body()]):
    shipment = service.shipment_or_404(bootstrap.orders(), shipmentId)
    return json_response(200, _tracked(shipment, body).to_json())


def _carrier_secret() -> str:
    from aws_lambda_powertools.utilities import parameters

    value: dict[str, Any] = parameters.get_secret(setting("CARRIER_SECRET_NAME"), transform="json", max_age=300)
    return str(value["signingSecret"])


def verify_carrier_signature(body: str, header: str | None, secret: str, *, now: float | None = None) -> None:
    """`X-Carrier-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`, within 300 s either way."""
    parts = dict(p.split("=", 1) for p in (header or "").split(",") if "=" in p)
    try:
        stamp = int(parts.get("t", ""))
    except ValueError:
        stamp = 0
    expected = hmac.new(secret.encode(), f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
    current = time.time() if now is None else now
    if not stamp or abs(current - stamp) > SIGNATURE_TOLERANCE_SECONDS:
        raise BadRequest(
            "The X-Carrier-Signature timestamp is missing or outside the tolerance.", code="invalid_signature"
        )
    if not hmac.compare_digest(expected, parts.get("v1", "")):
        raise BadRequest("The X-Carrier-Signature does not verify.", code="invalid_signature")


@app.post("/webhooks/carrier", responses=_doc(200, ShipmentOut, 400, 404, 409, 422, 503))
def carrier_webhook():
    """The signature is checked before the body is even parsed: unsigned input changes nothing."""
    from pydantic import ValidationError

    raw = app.current_event.decoded_body or ""
    verify_carrier_signature(raw, app.current_event.headers.get("x-carrier-signature"), _carrier_secret())
    try:
        body = CarrierEventIn.model_validate_json(raw)
    except ValidationError as exc:
        from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

        raise RequestValidationError(exc.errors()) from exc
    shipment = bootstrap.orders().store.shipment_by_tracking(body.trackingNumber)
    if shipment is None:
        raise NotFound("No shipment has this tracking number.", code="shipment_not_found")
    return json_response(200, _tracked(shipment, body).to_json())


def _idempotent(scope: str, operation: str, body: Any, work: Callable[[], tuple[int, dict[str, Any]]]) -> Response:
    def run() -> dict[str, Any]:
        status, payload = work()
        return {"status": status, "body": dumps(payload)}

    stored = run_once(
        scope=scope,
        operation=operation,
        key=idempotency_key(app.current_event.headers),
        body=body,
        fn=run,
        lambda_context=app.lambda_context,
    )
    return Response(stored["status"], "application/json", stored["body"])


@app.post("/orders/<orderId>/returns", responses=_doc(201, ReturnOut, *ORDER, 409, 422))
def request_return(orderId: str, body: Annotated[ReturnIn, Body()]):
    order = _order_for_caller(orderId)
    caller = _caller()
    lines = [ReturnLine(line.sku, line.quantity, line.reason) for line in body.lines]

    def work() -> tuple[int, dict[str, Any]]:
        ret = service.request_return(bootstrap.orders(), order.order_id, lines, now=now())
        return 201, ret.to_json(order.currency)

    # The order is part of the request: a key reused on another order is 422.
    return _idempotent(
        caller.sub or f"order:{order.order_id}", "return", {**body.model_dump(), "orderId": order.order_id}, work
    )


@app.post("/admin/returns/<returnId>/refund", responses=_doc(200, ReturnOut, *ADMIN, 409, 422))
def refund_return(returnId: str, body: Annotated[RefundIn, Body()]):
    caller = _caller()
    deps = bootstrap.orders()
    ret = service.return_or_404(deps, returnId)
    currency = deps.order(ret.order_id).currency

    def work() -> tuple[int, dict[str, Any]]:
        return 200, service.refund_return(deps, returnId, restock=body.restock).to_json(currency)

    # The return is part of the request: a key reused on another return is 422.
    return _idempotent(caller.scope, "refund", {**body.model_dump(), "returnId": ret.return_id}, work)


@observed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
