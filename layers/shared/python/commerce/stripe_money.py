"""Money going back to the customer through Stripe: the `Money` port of `commerce.settlement`.

A captured payment is never voided: `release` reads the intent first and voids only an
authorization (or an intent still waiting for a payment method or authentication), refunds what
was captured and not yet refunded, and does nothing to money already back. When the intent moves
between the read and the call (a capture lands just before the void), it reads again and takes
the other road. Idempotency keys derive from the order, so a retry never refunds twice."""

from __future__ import annotations

from typing import Any

from commerce.errors import TransientError
from commerce.orders import OrderState, PaymentState
from commerce.stripe_client import client, key_errors, plain, refused_keys, transient, transient_errors

VOIDABLE = ("requires_capture", "requires_payment_method", "requires_action", "requires_confirmation")
AUTHORIZED = ("requires_capture", "succeeded")


def _intent(intent_id: str) -> dict[str, Any]:
    return plain(client().v1.payment_intents.retrieve(intent_id, params={"expand": ["latest_charge"]}))


def _fully_refunded(intent: dict[str, Any]) -> bool:
    charge = intent.get("latest_charge")
    if not isinstance(charge, dict):
        return False
    return bool(charge.get("refunded")) or int(charge.get("amount_refunded") or 0) >= int(
        charge.get("amount_captured") or intent.get("amount_received") or intent.get("amount") or 0
    )


class StripeMoney:
    def release(self, intent_id: str, order_id: str) -> PaymentState:
        import stripe

        try:
            for _ in range(3):
                intent = _intent(intent_id)
                status = intent["status"]
                if status == "canceled":
                    return PaymentState.VOIDED
                if status in VOIDABLE:
                    try:
                        client().v1.payment_intents.cancel(
                            intent_id,
                            params={"cancellation_reason": "requested_by_customer"},
                            options={"idempotency_key": f"order-{order_id}-void"},
                        )
                    except stripe.InvalidRequestError:
                        continue  # it moved (captured, or canceled by someone else): read again
                    return PaymentState.VOIDED
                if status == "succeeded":
                    if not _fully_refunded(intent):
                        client().v1.refunds.create(
                            params={"payment_intent": intent_id, "metadata": {"orderId": order_id}},
                            options={"idempotency_key": f"order-{order_id}-refund"},
                        )
                    return PaymentState.REFUNDED
                raise TransientError(f"payment {intent_id} is {status}; retry shortly", retry_after=2)
            raise TransientError(f"payment {intent_id} kept moving; retry shortly", retry_after=2)
        except key_errors() as exc:
            raise refused_keys(exc) from exc
        except transient_errors() as exc:
            raise transient(exc) from exc

    def authorized_for(self, intent_id: str, order: OrderState) -> bool:
        """The intent holds this order's money: authorized or captured, for its id, amount and
        currency."""
        try:
            intent = plain(client().v1.payment_intents.retrieve(intent_id))
        except key_errors() as exc:
            raise refused_keys(exc) from exc
        except transient_errors() as exc:
            raise transient(exc) from exc
        return (
            intent["status"] in AUTHORIZED
            and (intent.get("metadata") or {}).get("orderId") == order.order_id
            and int(intent["amount"]) == order.total
            and intent["currency"] == order.currency
        )
