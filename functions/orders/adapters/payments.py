"""Capture and refund a return through Stripe, with idempotency keys derived from the order and
the return (a cancellation's void or refund is `commerce.stripe_money`)."""

from __future__ import annotations

from commerce.stripe_client import client, plain, transient, transient_errors


class StripeOrderPayments:
    def capture(self, intent_id: str, order_id: str) -> None:
        try:
            intent = plain(client().v1.payment_intents.retrieve(intent_id))
            if intent["status"] == "succeeded":
                return
            client().v1.payment_intents.capture(intent_id, options={"idempotency_key": f"order-{order_id}-capture"})
        except transient_errors() as exc:
            raise transient(exc) from exc

    def refund(self, intent_id: str, *, amount: int, return_id: str) -> None:
        try:
            client().v1.refunds.create(
                params={"payment_intent": intent_id, "amount": amount, "metadata": {"returnId": return_id}},
                options={"idempotency_key": f"return-{return_id}-refund"},
            )
        except transient_errors() as exc:
            raise transient(exc) from exc
