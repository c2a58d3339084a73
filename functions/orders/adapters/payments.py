"""Capture, void and refund through Stripe, with idempotency keys derived from the order."""

from __future__ import annotations

from commerce.stripe_client import client, plain, transient_errors
from orders.domain.model import PaymentState, TransientError


class StripeOrderPayments:
    def capture(self, intent_id: str, order_id: str) -> None:
        try:
            intent = plain(client().v1.payment_intents.retrieve(intent_id))
            if intent["status"] == "succeeded":
                return
            client().v1.payment_intents.capture(intent_id, options={"idempotency_key": f"order-{order_id}-capture"})
        except transient_errors() as exc:
            raise TransientError(str(exc)) from exc

    def void_or_refund(self, intent_id: str, order_id: str) -> PaymentState:
        """Void an authorization; refund what was captured and not yet refunded."""
        try:
            intent = plain(client().v1.payment_intents.retrieve(intent_id))
            if intent["status"] in ("requires_capture", "requires_payment_method", "requires_action"):
                client().v1.payment_intents.cancel(
                    intent_id,
                    params={"cancellation_reason": "requested_by_customer"},
                    options={"idempotency_key": f"order-{order_id}-void"},
                )
                return PaymentState.VOIDED
            if intent["status"] == "canceled":
                return PaymentState.VOIDED
            client().v1.refunds.create(
                params={"payment_intent": intent_id, "metadata": {"orderId": order_id}},
                options={"idempotency_key": f"order-{order_id}-refund"},
            )
            return PaymentState.REFUNDED
        except transient_errors() as exc:
            raise TransientError(str(exc)) from exc

    def refund(self, intent_id: str, *, amount: int, return_id: str) -> None:
        try:
            client().v1.refunds.create(
                params={"payment_intent": intent_id, "amount": amount, "metadata": {"returnId": return_id}},
                options={"idempotency_key": f"return-{return_id}-refund"},
            )
        except transient_errors() as exc:
            raise TransientError(str(exc)) from exc
