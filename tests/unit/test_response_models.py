"""Response bodies are held to their models: the JSON a route sends, built by its real serializer,
matches the schema the OpenAPI document declares for it, and a member sent without its model
fails (the `*Out` models forbid members they do not declare). The integration suite holds every
answer it receives to the served document the same way (`shopstack.harness.ResponseContract`)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from pydantic import ValidationError

from apidocs.build import document
from commerce.orders import OrderStatus
from customers.domain.profile import anonymized_address
from orders.domain.invoice import invoice_document
from orders.domain.model import Shipment, TrackingEvent, TrackingStatus
from orders.domain.returns import Return, ReturnLine, ReturnStatus
from orders.entrypoints.schemas import InvoiceOut, OrderOut
from orders.entrypoints.serialize import order_json
from shopstack.harness import Reply, ResponseContract
from tests.unit.orders_fakes import paid_order

ORDER_PATH = "/orders/01JORDER"


@pytest.fixture(scope="module")
def contract() -> ResponseContract:
    return ResponseContract(document())


def delivered_order_json() -> dict[str, Any]:
    """A delivered order with a shipment, its invoice and a refunded return, as the API sends it."""
    order = replace(
        paid_order("01JORDER"),
        status=OrderStatus.DELIVERED,
        history=(
            {"status": "PENDING_PAYMENT", "at": "2026-01-01T00:00:00.000Z", "note": "checkout"},
            {"status": "PAID", "at": "2026-01-01T00:00:01.000Z", "note": None},
            {"status": "DELIVERED", "at": "2026-01-03T00:00:00.000Z"},
        ),
    )
    shipment = Shipment(
        "sh1",
        order.order_id,
        "UPS",
        "1Z999",
        TrackingStatus.DELIVERED,
        "2026-01-02T00:00:00.000Z",
        (TrackingEvent(TrackingStatus.DELIVERED, "2026-01-03T00:00:00.000Z", "Springfield"),),
    )
    invoice = invoice_document(order, number="INV-2026-000001", issued_at="2026-01-01T00:00:02.000Z", seller={})
    refunded = Return(
        "r1",
        order.order_id,
        ReturnStatus.REFUNDED,
        (ReturnLine("A", 1, "too small"),),
        "2026-01-04T00:00:00.000Z",
        refund_amount=1000,
        refunded_at="2026-01-05T00:00:00.000Z",
        restocked=True,
    )
    return order_json(order, [shipment], invoice, [refunded.to_json(order.currency)])


def answer(body: Any, status: int = 200, content_type: str = "application/json") -> Reply:
    return Reply(status, {"content-type": content_type}, json.dumps(body))


def test_an_order_as_sent_matches_its_model_and_the_documented_schema(contract: ResponseContract) -> None:
    body = delivered_order_json()
    OrderOut.model_validate(body)
    contract.check("GET", ORDER_PATH, answer(body))


def test_a_member_added_to_an_order_without_its_model_fails(contract: ResponseContract) -> None:
    body = {**delivered_order_json(), "internalNote": "not in OrderOut"}
    with pytest.raises(ValidationError, match="internalNote"):
        OrderOut.model_validate(body)
    with pytest.raises(AssertionError, match=r"GET /orders/\{orderId\} answered 200 .*internalNote"):
        contract.check("GET", ORDER_PATH, answer(body))


def test_a_member_added_deep_inside_an_order_fails(contract: ResponseContract) -> None:
    body = delivered_order_json()
    body["shipments"][0]["events"][0]["courier"] = "Bo"
    with pytest.raises(AssertionError, match="courier"):
        contract.check("GET", ORDER_PATH, answer(body))
    body = delivered_order_json()
    body["subtotal"]["display"] = "$20.00"
    with pytest.raises(AssertionError, match="display"):
        contract.check("GET", ORDER_PATH, answer(body))


def test_an_erased_customers_order_keeps_only_the_country(contract: ResponseContract) -> None:
    body = delivered_order_json()
    body["shippingAddress"] = anonymized_address(body["shippingAddress"])
    contract.check("GET", ORDER_PATH, answer(body))
    body["shippingAddress"] = {"country": "US", "name": "Ada"}  # neither an address nor an erased one
    with pytest.raises(AssertionError, match="shippingAddress"):
        contract.check("GET", ORDER_PATH, answer(body))


def test_an_invoice_as_stored_matches_its_model() -> None:
    order = paid_order("01JORDER")
    seller = {"name": "Shop", "address": "1 Road", "email": "shop@example.com"}
    InvoiceOut.model_validate(invoice_document(order, number="INV-2026-000001", issued_at="now", seller=seller))


def test_an_undocumented_status_or_content_type_fails(contract: ResponseContract) -> None:
    with pytest.raises(AssertionError, match=r"GET /orders/\{orderId\} answered 418"):
        contract.check("GET", ORDER_PATH, answer({}, status=418))
    with pytest.raises(AssertionError, match="application/json"):
        contract.check("GET", ORDER_PATH, answer(delivered_order_json(), content_type="application/vnd.api+json"))


def test_problems_are_open_to_the_members_a_code_adds(contract: ResponseContract) -> None:
    declined = {
        "type": "about:blank",
        "title": "Payment declined",
        "status": 402,
        "detail": "Your card was declined.",
        "code": "card_declined",
        "declineCode": "insufficient_funds",
        "orderId": "o1",
    }
    contract.check("POST", "/carts/c1/checkout", answer(declined, 402, "application/problem+json"))
    with pytest.raises(AssertionError, match="'code' is a required property"):
        without_code = {k: v for k, v in declined.items() if k != "code"}
        contract.check("POST", "/carts/c1/checkout", answer(without_code, 402, "application/problem+json"))


def test_answers_no_operation_declares_are_not_held_to_it(contract: ResponseContract) -> None:
    contract.check("GET", "/_localcloud/ses", answer({"mode": "sandbox"}))
    contract.check("TRACE", "/products", answer({"anything": 1}, 404))
    contract.check("GET", "/console/", Reply(200, {"content-type": "text/html"}, "<!doctype html>"))
    contract.check("GET", "/orders/01JORDER/invoice", Reply(200, {"content-type": "text/html"}, "<html>"))


def test_no_content_is_no_body(contract: ResponseContract) -> None:
    contract.check("DELETE", "/me", Reply(204, {"content-type": "application/json"}, ""))
    with pytest.raises(AssertionError, match=r"DELETE /me answered 204 with application/json"):
        contract.check("DELETE", "/me", answer({"erased": True}, 204))
