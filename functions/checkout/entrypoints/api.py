"""Checkout HTTP API: carts, checkout and the Stripe webhook.

Routes return Powertools `Response`s built from JSON strings, so a stored response replays byte
for byte; their bodies are documented through `responses=`."""

from collections.abc import Iterable
from dataclasses import replace
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from checkout import bootstrap, service
from checkout.domain.cart import Cart
from checkout.entrypoints.schemas import CartOut, CheckoutIn, CheckoutOut, QuantityIn, StripeWebhookOut
from commerce.contract import responses
from commerce.errors import Conflict, PaymentDeclined, Unauthorized
from commerce.http import Caller, dumps, json_response, make_resolver, problem_body
from commerce.idempotency import idempotency_key, run_once
from commerce.identity import optional_caller
from commerce.observability import correlation_of, count, logger, observed

app = make_resolver()
STOCK_OUTS = "StockOuts"
"""Checkouts refused for want of stock (a retried request answered from its first answer is not
counted again)."""
CART = (401, 404, 503)
"""Every cart route: a bad ID token (401), a cart that is not the caller's (404), a busy store (503)."""


def _doc(status: int, model: type, *errors: int) -> dict[int, Any]:
    return responses(status, model, *errors)


def _caller() -> Caller:
    return optional_caller(app.current_event.raw_event)


def _cart(cart_id: str, caller: Caller) -> Cart:
    token = app.current_event.headers.get("x-cart-token")
    return service.open_cart(bootstrap.checkout(), cart_id, sub=caller.sub, token=token)


@app.post("/carts", responses=_doc(201, CartOut, 401, 503))
def create_cart():
    deps = bootstrap.checkout()
    cart, token = service.create_cart(deps, _caller().sub)
    return json_response(201, service.cart_json(deps, cart, token=token))


@app.post("/carts/<cartId>/claim", responses=_doc(200, CartOut, *CART, 409))
def claim_cart(cartId: str):
    """A signed-in customer holding a guest cart's token (X-Cart-Token) makes the cart theirs."""
    caller = _caller()
    if caller.sub is None:
        raise Unauthorized("Sign in to keep this cart in your account.")
    deps = bootstrap.checkout()
    cart = service.claim_cart(deps, cartId, sub=caller.sub, token=app.current_event.headers.get("x-cart-token"))
    return json_response(200, service.cart_json(deps, cart))


@app.get("/carts/<cartId>", responses=_doc(200, CartOut, *CART))
def get_cart(cartId: str):
    return json_response(200, service.cart_json(bootstrap.checkout(), _cart(cartId, _caller())))


class _ReadOnce:
    """The catalog for one request: its first read fetches every SKU the request will need (the
    cart's lines and the changed one), later reads are answered from that read. A cart update
    then reads its products once, for the stock check and for the priced cart it answers."""

    def __init__(self, catalog: service.Catalog, wanted: Iterable[str]) -> None:
        self.catalog = catalog
        self.wanted = set(wanted)
        self.fetched: set[str] = set()
        self.found: dict[str, service.CatalogItem] = {}

    def items(self, skus: list[str]) -> dict[str, service.CatalogItem]:
        missing = set(skus) - self.fetched
        if missing:
            fetch = missing | (self.wanted - self.fetched)
            self.found.update(self.catalog.items(sorted(fetch)))
            self.fetched |= fetch
        return {sku: self.found[sku] for sku in skus if sku in self.found}


@app.put("/carts/<cartId>/items/<sku>", responses=_doc(200, CartOut, *CART, 409, 422))
def put_item(cartId: str, sku: str, body: Annotated[QuantityIn, Body()]):
    caller = _caller()
    cart = _cart(cartId, caller)
    deps = bootstrap.checkout()
    deps = replace(deps, catalog=_ReadOnce(deps.catalog, [*cart.items, sku]))
    cart = service.set_item(deps, cart, sku, body.quantity, email=caller.email)
    return json_response(200, service.cart_json(deps, cart))


@app.delete("/carts/<cartId>/items/<sku>", responses=_doc(200, CartOut, *CART, 409))
def delete_item(cartId: str, sku: str):
    deps, caller = bootstrap.checkout(), _caller()
    cart = service.remove_item(deps, _cart(cartId, caller), sku, email=caller.email)
    return json_response(200, service.cart_json(deps, cart))


@app.post("/carts/<cartId>/checkout", responses=_doc(201, CheckoutOut, *CART, 402, 409, 422, 429))
def checkout(cartId: str, body: Annotated[CheckoutIn, Body()]):
    caller = _caller()
    cart = _cart(cartId, caller)
    key = idempotency_key(app.current_event.headers)
    scope = caller.sub or f"cart:{cart.cart_id}"
    request = service.CheckoutRequest(
        email=body.email,
        shipping_address=body.shippingAddress.model_dump(exclude_none=True),
        payment_method=body.paymentMethod,
        owner=caller.sub,
        client=((app.current_event.raw_event.get("requestContext") or {}).get("identity") or {}).get("sourceIp"),
        correlation_id=correlation_of(app.current_event.raw_event),
    )
    order_id = service.order_id_for(scope, key)
    logger().append_keys(orderId=order_id)

    def place() -> dict[str, Any]:
        """The answer to keep for this key: a decline is kept (its order failed, its stock went
        back); other refusals are raised and not kept, so the same key may try again."""
        try:
            placed = service.checkout(bootstrap.checkout(), cart, request, order_id=order_id)
        except PaymentDeclined as declined:
            return {"status": declined.status, "body": dumps(problem_body(declined))}
        except Conflict as refused:
            if refused.problem_code == service.OUT_OF_STOCK:
                count(STOCK_OUTS)
            raise
        return {"status": 201, "body": dumps(placed.to_json())}

    stored = run_once(
        scope=scope,
        operation="checkout",
        key=key,
        body={**body.model_dump(), "cartId": cart.cart_id},  # a key reused on another cart: 422
        fn=place,
        lambda_context=app.lambda_context,
    )
    content_type = "application/json" if stored["status"] < 400 else "application/problem+json"
    return Response(stored["status"], content_type, stored["body"])


@app.post("/webhooks/stripe", responses=_doc(200, StripeWebhookOut, 400, 503))
def stripe_webhook():
    from checkout.adapters.stripe_payments import verify_webhook

    event = verify_webhook(app.current_event.decoded_body or "", app.current_event.headers.get("stripe-signature"))
    outcome = service.on_stripe_event(bootstrap.checkout(), bootstrap.webhook_log(), event)
    return json_response(200, {"received": True, "outcome": outcome})


@observed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
