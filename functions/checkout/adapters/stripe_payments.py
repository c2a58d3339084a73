"""Payments through the `stripe` SDK (client and keys from `commerce.stripe_client`)."""

from __future__ import annotations

from typing import Any

from checkout.domain.order import Order, Payment, PaymentStatus
from commerce.errors import ValidationFailed
from commerce.stripe_client import (
    client,
    key_errors,
    plain,
    refused_keys,
    require_configured,
    stripe_settings,
    transient_errors,
    unavailable,
)


def _payment(sdk_intent: Any) -> Payment:
    intent = plain(sdk_intent)
    error = intent.get("last_payment_error") or {}
    return Payment(
        intent_id=intent["id"],
        status=intent["status"],
        client_secret=intent.get("client_secret"),
        amount=int(intent["amount"]),
        currency=intent["currency"],
        order_id=(intent.get("metadata") or {}).get("orderId"),
        decline_code=(error.get("decline_code") or error.get("code")) if error else None,
        decline_message=error.get("message") if error else None,
    )


class StripePayments:
    """The `Payments` port on Stripe: manual capture, idempotency keys derived from the order.
    A key Stripe refuses (AuthenticationError, PermissionError) is `PaymentsUnavailable`, a 503."""

    def require_configured(self) -> None:
        require_configured()

    def authorize(self, order: Order, payment_method: str | None) -> Payment:
        import stripe

        if order.payment_intent_id:
            return self.retrieve(order.payment_intent_id)
        params: dict[str, Any] = {
            "amount": order.totals.total,
            "currency": order.totals.currency,
            "capture_method": "manual",
            "payment_method_types": ["card"],
            "metadata": {"orderId": order.order_id},
            "description": f"shopstack order {order.order_id}",
            "receipt_email": order.email,
        }
        if payment_method:
            params.update(payment_method=payment_method, confirm=True)
        try:
            intent = client().v1.payment_intents.create(
                params=params, options={"idempotency_key": f"order-{order.order_id}-intent"}
            )
        except stripe.CardError as declined:
            return self._declined(declined)
        except stripe.InvalidRequestError as exc:
            if payment_method and getattr(exc, "param", None) == "payment_method":
                raise ValidationFailed(
                    "Stripe has no such payment method.",
                    code="invalid_payment_method",
                    errors=[{"field": "paymentMethod", "message": "not a payment method Stripe knows"}],
                ) from exc
            raise
        except key_errors() as exc:
            raise refused_keys(exc) from exc
        except transient_errors() as exc:
            raise unavailable(exc) from exc
        return _payment(intent)

    def _declined(self, declined: Any) -> Payment:
        error = declined.error
        intent = plain(getattr(error, "payment_intent", None))
        return Payment(
            intent_id=intent.get("id", ""),
            status=intent.get("status", PaymentStatus.REQUIRES_PAYMENT_METHOD),
            client_secret=intent.get("client_secret"),
            amount=int(intent.get("amount", 0)),
            currency=intent.get("currency", "usd"),
            order_id=(intent.get("metadata") or {}).get("orderId"),
            decline_code=getattr(error, "decline_code", None) or getattr(error, "code", None) or "card_declined",
            decline_message=getattr(declined, "user_message", None),
        )

    def retrieve(self, intent_id: str) -> Payment:

        try:
            return _payment(client().v1.payment_intents.retrieve(intent_id))
        except key_errors() as exc:
            raise refused_keys(exc) from exc
        except transient_errors() as exc:
            raise unavailable(exc) from exc


def verify_webhook(payload: str, signature: str | None, *, tolerance: int = 300) -> dict[str, Any]:
    """The Stripe event, if its signature is valid and its timestamp within `tolerance` seconds
    either side of now (the SDK only bounds the past)."""
    import time

    import stripe

    from commerce.errors import BadRequest

    secret = str(stripe_settings()["webhookSecret"])
    try:
        event = stripe.Webhook.construct_event(payload, signature or "", secret, tolerance=tolerance)
        stamp = int(dict(p.split("=", 1) for p in (signature or "").split(",") if "=" in p).get("t", "0"))
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise BadRequest("The Stripe-Signature header does not verify.", code="invalid_signature") from exc
    if abs(time.time() - stamp) > tolerance:
        raise BadRequest("The Stripe-Signature timestamp is outside the tolerance.", code="invalid_signature")
    return event.to_dict()
