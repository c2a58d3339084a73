"""Customers HTTP API: a signed-in customer's profile, data export and erasure (`/me`), and the
staff CRM: search by email, the customer view and logged interactions (`/admin/customers`).

`/me` routes have no API Gateway authorizer: the handler verifies the Bearer ID token itself
(`commerce.identity`), and the customer id is always the token's own `sub`."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from commerce.contract import responses
from commerce.errors import Unauthorized
from commerce.http import json_response, make_resolver, require_admin
from commerce.identity import optional_caller
from commerce.observability import observed
from customers import bootstrap, service
from customers.domain.profile import Address, Channel, ProfileUpdate
from customers.entrypoints.schemas import (
    CustomerExportOut,
    CustomerSearchOut,
    CustomerViewOut,
    InteractionIn,
    InteractionOut,
    ProfileIn,
    ProfileOut,
)
from customers.service import SignedIn

app = make_resolver()
CUSTOMER_ID = Path(pattern=r"^[A-Za-z0-9_-]{1,128}$")


ADMIN = (401, 403, 503)
"""Staff routes: the authorizer's 401, `commerce.http`'s 403 for anyone not in the admin group."""


def _doc(status: int, model: type | None, *errors: int) -> dict[int, Any]:
    return responses(status, model, *errors, description="OK" if model else "No content")


def _username(event: dict[str, Any]) -> str | None:
    """The Cognito user name of a caller whose token `optional_caller` has already verified."""
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("claims") or {}
    if isinstance(claims, dict) and claims.get("cognito:username"):
        return str(claims["cognito:username"])
    header = next((str(v) for k, v in (event.get("headers") or {}).items() if k.lower() == "authorization"), "")
    token = header.partition(" ")[2].strip() if header.lower().startswith("bearer ") else header.strip()
    if not token:
        return None
    import jwt

    unverified = jwt.decode(token, options={"verify_signature": False})
    username = unverified.get("cognito:username")
    return str(username) if username else None


def _signed_in(*, allow_erased: bool = False) -> SignedIn:
    event = app.current_event.raw_event
    caller = optional_caller(event, allow_erased=allow_erased)
    if caller.sub is None:
        raise Unauthorized("Sign in to use your account.")
    return SignedIn(customer_id=caller.sub, email=caller.email, username=_username(event))


@app.get("/me", responses=_doc(200, ProfileOut, 401, 503))
def get_me():
    return json_response(200, service.me(bootstrap.customers(), _signed_in()).to_json())


@app.put("/me", responses=_doc(200, ProfileOut, 401, 422, 503))
def put_me(body: Annotated[ProfileIn, Body()]):
    caller = _signed_in()
    update = ProfileUpdate(
        name=body.name,
        phone=body.phone,
        addresses=tuple(Address.from_json(a.model_dump()) for a in body.addresses),
        marketing_opt_in=body.marketingOptIn,
    )
    return json_response(200, service.update_me(bootstrap.customers(), caller, update).to_json())


@app.get("/me/export", responses=_doc(200, CustomerExportOut, 401, 503))
def export_me():
    return json_response(200, service.export(bootstrap.customers(), _signed_in()))


@app.delete("/me", responses=_doc(204, None, 401, 503))
def delete_me():
    # A retried erasure finishes what a failed one started, so it answers an erased account.
    service.erase(bootstrap.customers(), _signed_in(allow_erased=True))
    return Response(status_code=204, body="")


@app.get("/admin/customers", responses=_doc(200, CustomerSearchOut, *ADMIN, 422))
def search_customers(email: Annotated[str, Query(min_length=3, max_length=254)]):
    return json_response(200, {"items": service.search(bootstrap.customers(), email)})


@app.get("/admin/customers/<customerId>", responses=_doc(200, CustomerViewOut, *ADMIN, 404, 422))
def get_customer(customerId: Annotated[str, CUSTOMER_ID]):
    return json_response(200, service.view(bootstrap.customers(), customerId))


@app.post("/admin/customers/<customerId>/interactions", responses=_doc(201, InteractionOut, *ADMIN, 404, 409, 422))
def log_interaction(customerId: Annotated[str, CUSTOMER_ID], body: Annotated[InteractionIn, Body()]):
    staff = require_admin(app.current_event.raw_event)
    interaction = service.log_interaction(
        bootstrap.customers(),
        customerId,
        channel=Channel(body.channel),
        summary=body.summary,
        staff={"staffId": staff.sub, "email": staff.email},
    )
    return json_response(201, interaction.to_json())


@observed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
