"""PaymentIntents, PaymentMethods, Charges and Refunds: Stripe's documented state machine.

Functions here take the `State` (the caller holds the lock) and parsed params, mutate the
objects, record events, and return the object to answer, or raise `StripeError`.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from shopstack.stripe_emulator.cards import TEST_PAYMENT_METHODS, Decline, Outcome, TestCard, card_for, luhn_valid
from shopstack.stripe_emulator.errors import (
    StripeError,
    invalid_request,
    missing_param,
    no_such,
    unexpected_state,
    validation,
)
from shopstack.stripe_emulator.forms import (
    Params,
    as_bool,
    as_enum,
    as_int,
    as_metadata,
    as_str,
    check_known,
    merge_metadata,
)
from shopstack.stripe_emulator.state import Obj, State, new_id

CAPTURE_METHODS = ("automatic", "automatic_async", "manual")
CANCELLATION_REASONS = ("abandoned", "duplicate", "fraudulent", "requested_by_customer")
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
CANCELABLE = ("requires_payment_method", "requires_capture", "requires_confirmation", "requires_action", "processing")
CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
UPDATABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
CURRENCIES = frozenset(
    {"usd", "eur", "gbp", "cad", "aud", "nzd", "chf", "sek", "nok", "dkk", "pln", "czk", "huf", "ron", "bgn"}
    | {"jpy", "krw", "sgd", "hkd", "inr", "mxn", "brl", "zar", "aed", "ils", "thb", "myr", "php", "idr", "try"}
)
MINIMUM_CHARGE = {"gbp": 30, "sek": 300, "nok": 300, "dkk": 250, "czk": 1500, "huf": 17500, "pln": 200}
MAXIMUM_CHARGE = 99_999_999
SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}
AUTHENTICATION_FAILURE = (
    "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new "
    "PaymentMethod to attempt to fulfill this PaymentIntent again."
)
AUTHENTICATION_REQUIRED = Decline(
    "authentication_required",
    "authentication_required",
    "Your card was declined. This transaction requires authentication.",
)

PI_CREATE = {
    "amount",
    "automatic_payment_methods",
    "capture_method",
    "confirm",
    "confirmation_method",
    "currency",
    "customer",
    "description",
    "error_on_requires_action",
    "metadata",
    "off_session",
    "payment_method",
    "payment_method_data",
    "payment_method_options",
    "payment_method_types",
    "receipt_email",
    "return_url",
    "setup_future_usage",
    "shipping",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "use_stripe_sdk",
}
PI_UPDATE = {
    "amount",
    "capture_method",
    "currency",
    "customer",
    "description",
    "metadata",
    "payment_method",
    "payment_method_data",
    "payment_method_options",
    "payment_method_types",
    "receipt_email",
    "setup_future_usage",
    "shipping",
    "statement_descriptor",
    "statement_descriptor_suffix",
}
PI_CONFIRM = {
    "capture_method",
    "error_on_requires_action",
    "off_session",
    "payment_method",
    "payment_method_data",
    "payment_method_options",
    "receipt_email",
    "return_url",
    "setup_future_usage",
    "shipping",
    "use_stripe_sdk",
    "client_secret",
}
PI_CAPTURE = {"amount_to_capture", "final_capture", "metadata", "statement_descriptor", "statement_descriptor_suffix"}
PI_CANCEL = {"cancellation_reason"}
REFUND_CREATE = {"amount", "charge", "instructions_email", "metadata", "payment_intent", "reason"}
PM_CREATE = {"type", "card", "billing_details", "metadata"}


# --- money ---------------------------------------------------------------------------------------


def format_amount(amount: int, currency: str) -> str:
    symbol = SYMBOLS.get(currency, "")
    major = f"{amount:,}" if currency in ZERO_DECIMAL else f"{amount / 100:,.2f}"
    return f"{symbol}{major}" if symbol else f"{major} {currency.upper()}"


def parse_currency(value: Any) -> str:
    currency = as_str(value, "currency").lower()
    if currency not in CURRENCIES:
        raise validation(
            f"Invalid currency: {currency}. Stripe currently supports these currencies: "
            + ", ".join(sorted(CURRENCIES)),
            param="currency",
        )
    return currency


def parse_amount(value: Any, currency: str) -> int:
    amount = as_int(value, "amount")
    minimum = MINIMUM_CHARGE.get(currency, 50)
    if amount < minimum:
        raise validation(
            f"Amount must be at least {format_amount(minimum, currency)} {currency}",
            param="amount",
            code="amount_too_small",
        )
    if amount > MAXIMUM_CHARGE:
        raise validation(
            f"Amount must be no more than {format_amount(MAXIMUM_CHARGE, currency)}",
            param="amount",
            code="amount_too_large",
        )
    return amount


# --- payment methods -----------------------------------------------------------------------------


def _payment_method_object(state: State, card: TestCard, exp_month: int, exp_year: int) -> Obj:
    pm: Obj = {
        "id": new_id("pm"),
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": {
            "address": {
                "city": None,
                "country": None,
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": None,
            },
            "email": None,
            "name": None,
            "phone": None,
        },
        "card": {
            "brand": card.brand,
            "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "unchecked"},
            "country": card.country,
            "display_brand": card.brand,
            "exp_month": exp_month,
            "exp_year": exp_year,
            "fingerprint": "fp" + card.number[-8:],
            "funding": card.funding,
            "generated_from": None,
            "last4": card.last4,
            "networks": {"available": [card.brand], "preferred": None},
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": state.now(),
        "customer": None,
        "livemode": False,
        "metadata": {},
        "type": "card",
    }
    state.payment_methods[pm["id"]] = pm
    state.cards[pm["id"]] = card
    return pm


def _card_from_params(state: State, data: Any, param: str) -> Obj:
    if not isinstance(data, dict):
        raise validation("Invalid object", param=param)
    kind = data.get("type")
    if kind is None:
        raise missing_param(f"{param}[type]" if param != "type" else "type")
    if kind != "card":
        raise validation(
            f"The payment method type provided: {kind} is invalid. This emulator supports: card.",
            param=f"{param}[type]" if param else "type",
        )
    card = data.get("card")
    if not isinstance(card, dict):
        raise missing_param(f"{param}[card]" if param else "card")
    number = as_str(card.get("number", ""), "card[number]").replace(" ", "")
    if not number:
        raise missing_param("card[number]")
    if not luhn_valid(number):
        raise StripeError(402, "card_error", "Your card number is incorrect.", code="incorrect_number", param="number")
    exp_month = as_int(card.get("exp_month", 12), "card[exp_month]")
    exp_year = as_int(card.get("exp_year", 2034), "card[exp_year]")
    if not 1 <= exp_month <= 12:
        raise StripeError(
            402,
            "card_error",
            "Your card's expiration month is invalid.",
            code="invalid_expiry_month",
            param="exp_month",
        )
    if exp_year < 100:
        exp_year += 2000
    year, month = _year_month(state)
    if (exp_year, exp_month) < (year, month):
        raise StripeError(
            402, "card_error", "Your card's expiration year is invalid.", code="invalid_expiry_year", param="exp_year"
        )
    pm = _payment_method_object(state, card_for(number), exp_month, exp_year)
    metadata = as_metadata(data.get("metadata", {}))
    pm["metadata"] = merge_metadata({}, metadata)
    if isinstance(data.get("billing_details"), dict):
        for key in ("email", "name", "phone"):
            if key in data["billing_details"]:
                pm["billing_details"][key] = data["billing_details"][key]
    return pm


def _year_month(state: State) -> tuple[int, int]:
    now = time.gmtime(state.now())
    return now.tm_year, now.tm_mon


def create_payment_method(state: State, params: Params) -> Obj:
    check_known(params, PM_CREATE)
    return _card_from_params(state, params, "")


def payment_method_for(state: State, ref: Any, param: str = "payment_method") -> Obj:
    """A stored PaymentMethod, or a fresh one for a test id such as `pm_card_visa`."""
    pm_id = as_str(ref, param)
    if pm_id in state.payment_methods:
        return state.payment_methods[pm_id]
    number = TEST_PAYMENT_METHODS.get(pm_id)
    if number is None:
        raise no_such("PaymentMethod", pm_id, param=param, status=400)
    return _payment_method_object(state, card_for(number), 12, 2034)


def retrieve_payment_method(state: State, pm_id: str) -> Obj:
    if pm_id in state.payment_methods:
        return state.payment_methods[pm_id]
    if pm_id in TEST_PAYMENT_METHODS:
        return payment_method_for(state, pm_id, "id")
    raise no_such("payment_method", pm_id)


# --- payment intents -----------------------------------------------------------------------------


def _intent(state: State, pi_id: str) -> Obj:
    pi = state.payment_intents.get(pi_id)
    if pi is None:
        raise no_such("payment_intent", pi_id, param="intent")
    return pi


def retrieve_payment_intent(state: State, pi_id: str) -> Obj:
    return _intent(state, pi_id)


def list_payment_intents(state: State, params: Params) -> list[Obj]:
    items = list(reversed(state.payment_intents.values()))
    if "customer" in params:
        items = [pi for pi in items if pi["customer"] == params["customer"]]
    return items


def create_payment_intent(state: State, params: Params) -> Obj:
    check_known(params, PI_CREATE)
    for required in ("amount", "currency"):
        if required not in params:
            raise missing_param(required)
    currency = parse_currency(params["currency"])
    amount = parse_amount(params["amount"], currency)
    capture_method = as_enum(params.get("capture_method", "automatic_async"), "capture_method", CAPTURE_METHODS)
    confirm = as_bool(params.get("confirm", "false"), "confirm")
    metadata = merge_metadata({}, as_metadata(params.get("metadata", {})))
    if "return_url" in params and not confirm:
        raise validation("You can only provide return_url when confirm=true.", param="return_url")
    pi_id = new_id("pi")
    pi: Obj = {
        "id": pi_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": capture_method,
        "client_secret": f"{pi_id}_secret_{new_id('x')[2:]}",
        "confirmation_method": params.get("confirmation_method", "automatic"),
        "created": state.now(),
        "currency": currency,
        "customer": params.get("customer"),
        "description": params.get("description"),
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": metadata,
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": list(params.get("payment_method_types") or ["card"]),
        "processing": None,
        "receipt_email": params.get("receipt_email"),
        "review": None,
        "setup_future_usage": params.get("setup_future_usage"),
        "shipping": params.get("shipping"),
        "source": None,
        "statement_descriptor": params.get("statement_descriptor"),
        "statement_descriptor_suffix": params.get("statement_descriptor_suffix"),
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
    }
    if isinstance(params.get("automatic_payment_methods"), dict):
        apm = params["automatic_payment_methods"]
        pi["automatic_payment_methods"] = {
            "allow_redirects": apm.get("allow_redirects", "always"),
            "enabled": as_bool(apm.get("enabled", "false"), "automatic_payment_methods[enabled]"),
        }
    pm = _payment_method_param(state, params)
    if pm is not None:
        pi["payment_method"] = pm["id"]
        pi["status"] = "requires_confirmation"
    state.payment_intents[pi_id] = pi
    state.emit("payment_intent.created", pi)
    if confirm:
        _confirm(state, pi, params)
    return pi


def _payment_method_param(state: State, params: Params) -> Obj | None:
    if "payment_method" in params and "payment_method_data" in params:
        raise validation("You cannot provide both payment_method and payment_method_data.", param="payment_method_data")
    if "payment_method" in params:
        return payment_method_for(state, params["payment_method"])
    if "payment_method_data" in params:
        return _card_from_params(state, params["payment_method_data"], "payment_method_data")
    return None


def update_payment_intent(state: State, pi_id: str, params: Params) -> Obj:
    check_known(params, PI_UPDATE)
    pi = _intent(state, pi_id)
    payment_fields = [
        f for f in ("amount", "currency", "payment_method", "payment_method_data", "capture_method") if f in params
    ]
    if payment_fields and pi["status"] not in UPDATABLE:
        field = payment_fields[0]
        raise unexpected_state(
            f"This PaymentIntent's {field} could not be updated because it has a status of {pi['status']}. "
            f"You may only update the {field} of a PaymentIntent with one of the following statuses: "
            + ", ".join(UPDATABLE)
            + ".",
            payment_intent=pi,
        )
    currency = parse_currency(params["currency"]) if "currency" in params else pi["currency"]
    amount = parse_amount(params["amount"], currency) if "amount" in params else pi["amount"]
    capture_method = (
        as_enum(params["capture_method"], "capture_method", CAPTURE_METHODS)
        if "capture_method" in params
        else pi["capture_method"]
    )
    metadata = merge_metadata(pi["metadata"], as_metadata(params["metadata"])) if "metadata" in params else None
    pm = _payment_method_param(state, params)
    pi.update(amount=amount, currency=currency, capture_method=capture_method)
    if metadata is not None:
        pi["metadata"] = metadata
    for key in ("description", "receipt_email", "shipping", "statement_descriptor", "statement_descriptor_suffix"):
        if key in params:
            pi[key] = params[key] or None
    if pm is not None:
        pi["payment_method"] = pm["id"]
        pi["next_action"] = None
        pi["status"] = "requires_confirmation"
    return pi


def confirm_payment_intent(state: State, pi_id: str, params: Params) -> Obj:
    check_known(params, PI_CONFIRM)
    pi = _intent(state, pi_id)
    _confirm(state, pi, params)
    return pi


def _confirm(state: State, pi: Obj, params: Params) -> None:
    status = pi["status"]
    if status not in CONFIRMABLE:
        if status == "succeeded":
            message = (
                "You cannot confirm this PaymentIntent because it has already succeeded after being "
                "previously confirmed."
            )
        else:
            message = (
                f"You cannot confirm this PaymentIntent because it has a status of {status}. Only a PaymentIntent "
                "with one of the following statuses may be confirmed: " + ", ".join(CONFIRMABLE) + "."
            )
        raise unexpected_state(message, payment_intent=pi)
    pm = _payment_method_param(state, params)
    if pm is not None:
        pi["payment_method"] = pm["id"]
    if "capture_method" in params:
        pi["capture_method"] = as_enum(params["capture_method"], "capture_method", CAPTURE_METHODS)
    if "receipt_email" in params:
        pi["receipt_email"] = params["receipt_email"] or None
    if pi["payment_method"] is None:
        raise unexpected_state(
            "You cannot confirm this PaymentIntent because it's missing a payment method. Update the "
            "PaymentIntent with a payment method and then confirm it again.",
            payment_intent=pi,
        )
    pi["last_payment_error"] = None
    card = state.cards[pi["payment_method"]]
    off_session = as_bool(params.get("off_session", "false"), "off_session")
    error_on_action = as_bool(params.get("error_on_requires_action", "false"), "error_on_requires_action")
    if card.outcome is Outcome.AUTHENTICATE:
        if off_session or error_on_action:
            _decline(state, pi, card, AUTHENTICATION_REQUIRED)
        _require_action(state, pi, params.get("return_url"))
        return
    _authorize(state, pi, card)


def _require_action(state: State, pi: Obj, return_url: Any) -> None:
    request = state.request
    base = request.base_url if request else ""
    authenticate_url = f"{base}/_emulator/payment_intents/{pi['id']}/authenticate"
    if return_url:
        pi["next_action"] = {
            "type": "redirect_to_url",
            "redirect_to_url": {
                "return_url": as_str(return_url, "return_url"),
                "url": f"{authenticate_url}?outcome=succeed&redirect=true",
            },
        }
    else:
        pi["next_action"] = {
            "type": "use_stripe_sdk",
            "use_stripe_sdk": {
                "source": new_id("src"),
                "stripe_js": authenticate_url,
                "type": "three_d_secure_redirect",
            },
        }
    pi["status"] = "requires_action"
    state.emit("payment_intent.requires_action", pi)


def authenticate_payment_intent(state: State, pi_id: str, outcome: str) -> Obj:
    """The customer completes (`succeed`) or fails (`fail`) 3-D Secure."""
    pi = _intent(state, pi_id)
    if pi["status"] != "requires_action":
        raise unexpected_state(
            f"This PaymentIntent has a status of {pi['status']} and does not require authentication.",
            payment_intent=pi,
        )
    if outcome not in ("succeed", "fail"):
        raise validation("outcome must be succeed or fail", param="outcome")
    pi["next_action"] = None
    card = state.cards[pi["payment_method"]]
    if outcome == "fail":
        pm = state.payment_methods[pi["payment_method"]]
        pi["last_payment_error"] = {
            "code": "payment_intent_authentication_failure",
            "doc_url": "https://stripe.com/docs/error-codes/payment-intent-authentication-failure",
            "message": AUTHENTICATION_FAILURE,
            "payment_method": pm,
            "type": "invalid_request_error",
        }
        pi["payment_method"] = None
        pi["status"] = "requires_payment_method"
        state.emit("payment_intent.payment_failed", pi)
        return pi
    with contextlib.suppress(StripeError):
        _authorize(state, pi, card, authenticated=True)
    return pi


def _new_charge(state: State, pi: Obj, card: TestCard, *, status: str, captured: bool) -> Obj:
    pm = state.payment_methods[pi["payment_method"]]
    charge: Obj = {
        "id": new_id("ch"),
        "object": "charge",
        "amount": pi["amount"],
        "amount_captured": pi["amount"] if captured else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": new_id("txn") if status == "succeeded" and captured else None,
        "billing_details": pm["billing_details"],
        "calculated_statement_descriptor": "SHOPSTACK",
        "captured": captured,
        "created": state.now(),
        "currency": pi["currency"],
        "customer": pi["customer"],
        "description": pi["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(pi["metadata"]),
        "on_behalf_of": None,
        "outcome": None,
        "paid": status == "succeeded",
        "payment_intent": pi["id"],
        "payment_method": pm["id"],
        "payment_method_details": {
            "card": {
                "amount_authorized": pi["amount"] if status == "succeeded" else None,
                "brand": card.brand,
                "capture_before": state.now() + 7 * 86400 if not captured else None,
                "country": card.country,
                "exp_month": pm["card"]["exp_month"],
                "exp_year": pm["card"]["exp_year"],
                "funding": card.funding,
                "last4": card.last4,
                "network": card.brand,
                "three_d_secure": None,
            },
            "type": "card",
        },
        "receipt_email": pi["receipt_email"],
        "receipt_url": None,
        "refunded": False,
        "review": None,
        "shipping": pi["shipping"],
        "status": status,
    }
    state.charges[charge["id"]] = charge
    pi["latest_charge"] = charge["id"]
    return charge


def _outcome(kind: str, reason: str | None, message: str) -> Obj:
    return {
        "network_status": "approved_by_network" if kind == "authorized" else "declined_by_network",
        "reason": reason,
        "risk_level": "normal",
        "risk_score": 20,
        "seller_message": message,
        "type": kind,
    }


def _authorize(state: State, pi: Obj, card: TestCard, *, authenticated: bool = False) -> None:
    if card.outcome is Outcome.DECLINE and card.decline is not None:
        _decline(state, pi, card, card.decline)
    manual = pi["capture_method"] == "manual"
    charge = _new_charge(state, pi, card, status="succeeded", captured=not manual)
    charge["outcome"] = _outcome("authorized", None, "Payment complete.")
    if authenticated:
        charge["payment_method_details"]["card"]["three_d_secure"] = {
            "authentication_flow": "challenge",
            "result": "authenticated",
            "version": "2.2.0",
        }
    pi["next_action"] = None
    state.emit("charge.succeeded", charge)
    if manual:
        pi["status"] = "requires_capture"
        pi["amount_capturable"] = pi["amount"]
        state.emit("payment_intent.amount_capturable_updated", pi)
    else:
        pi["status"] = "succeeded"
        pi["amount_received"] = pi["amount"]
        state.emit("payment_intent.succeeded", pi)


def _decline(state: State, pi: Obj, card: TestCard, decline: Decline) -> None:
    """A declined attempt: a failed charge, the intent back to requires_payment_method, a 402."""
    pm = state.payment_methods[pi["payment_method"]]
    charge = _new_charge(state, pi, card, status="failed", captured=False)
    charge.update(failure_code=decline.code, failure_message=decline.message)
    charge["outcome"] = _outcome(
        "issuer_declined", decline.decline_code, "The bank did not return any further details with this decline."
    )
    error: Obj = {
        "charge": charge["id"],
        "code": decline.code,
        "decline_code": decline.decline_code,
        "doc_url": "https://stripe.com/docs/error-codes/" + decline.code.replace("_", "-"),
        "message": decline.message,
        "payment_method": pm,
        "type": "card_error",
    }
    pi.update(last_payment_error=error, payment_method=None, next_action=None, status="requires_payment_method")
    state.emit("charge.failed", charge)
    state.emit("payment_intent.payment_failed", pi)
    raise StripeError(
        402,
        "card_error",
        decline.message,
        code=decline.code,
        decline_code=decline.decline_code,
        extra={"charge": charge["id"], "payment_intent": pi, "payment_method": pm},
    )


def capture_payment_intent(state: State, pi_id: str, params: Params) -> Obj:
    check_known(params, PI_CAPTURE)
    pi = _intent(state, pi_id)
    if pi["status"] != "requires_capture":
        if pi["status"] == "succeeded":
            message = "This PaymentIntent could not be captured because it has already been captured."
        else:
            message = (
                f"This PaymentIntent could not be captured because it has a status of {pi['status']}. "
                "Only a PaymentIntent with one of the following statuses may be captured: requires_capture."
            )
        raise unexpected_state(message, payment_intent=pi)
    capturable = pi["amount_capturable"]
    amount = capturable
    if "amount_to_capture" in params:
        amount = as_int(params["amount_to_capture"], "amount_to_capture", minimum=1)
        if amount > capturable:
            raise invalid_request(
                f"The amount to capture ({format_amount(amount, pi['currency'])}) is greater than the amount "
                f"capturable ({format_amount(capturable, pi['currency'])}).",
                code="amount_too_large",
                param="amount_to_capture",
                extra={"payment_intent": pi},
            )
    if "metadata" in params:
        pi["metadata"] = merge_metadata(pi["metadata"], as_metadata(params["metadata"]))
    charge = state.charges[pi["latest_charge"]]
    previous = {"amount_captured": 0, "captured": False, "balance_transaction": None}
    charge.update(amount_captured=amount, captured=True, balance_transaction=new_id("txn"))
    charge["payment_method_details"]["card"]["capture_before"] = None
    pi.update(amount_received=amount, amount_capturable=0, status="succeeded")
    state.emit("charge.captured", charge, previous)
    state.emit("payment_intent.succeeded", pi)
    return pi


def cancel_payment_intent(state: State, pi_id: str, params: Params) -> Obj:
    check_known(params, PI_CANCEL)
    pi = _intent(state, pi_id)
    if pi["status"] not in CANCELABLE:
        raise unexpected_state(
            f"You cannot cancel this PaymentIntent because it has a status of {pi['status']}. Only a "
            "PaymentIntent with one of the following statuses may be canceled: " + ", ".join(CANCELABLE) + ".",
            payment_intent=pi,
        )
    reason = None
    if "cancellation_reason" in params:
        reason = as_enum(params["cancellation_reason"], "cancellation_reason", CANCELLATION_REASONS)
    if pi["status"] == "requires_capture":
        charge = state.charges[pi["latest_charge"]]
        charge.update(refunded=True, amount_refunded=charge["amount"])
    pi.update(
        status="canceled",
        canceled_at=state.now(),
        cancellation_reason=reason,
        amount_capturable=0,
        next_action=None,
    )
    state.emit("payment_intent.canceled", pi)
    return pi


# --- charges and refunds -------------------------------------------------------------------------


def retrieve_charge(state: State, charge_id: str) -> Obj:
    charge = state.charges.get(charge_id)
    if charge is None:
        raise no_such("charge", charge_id, param="id")
    return charge


def list_charges(state: State, params: Params) -> list[Obj]:
    items = list(reversed(state.charges.values()))
    if "payment_intent" in params:
        items = [c for c in items if c["payment_intent"] == params["payment_intent"]]
    return items


def retrieve_refund(state: State, refund_id: str) -> Obj:
    refund = state.refunds.get(refund_id)
    if refund is None:
        raise no_such("refund", refund_id, param="id")
    return refund


def list_refunds(state: State, params: Params) -> list[Obj]:
    items = list(reversed(state.refunds.values()))
    for key in ("payment_intent", "charge"):
        if key in params:
            items = [r for r in items if r[key] == params[key]]
    return items


def _refundable_charge(state: State, params: Params) -> Obj:
    if "charge" not in params and "payment_intent" not in params:
        raise validation("One of the following params should be provided for this request: payment_intent or charge.")
    if "payment_intent" in params:
        pi_id = as_str(params["payment_intent"], "payment_intent")
        pi = state.payment_intents.get(pi_id)
        if pi is None:
            raise no_such("payment_intent", pi_id, param="payment_intent", status=400)
        if pi["status"] == "requires_capture":
            raise unexpected_state(
                f"This PaymentIntent ({pi_id}) has a status of requires_capture and its funds have not been "
                "captured, so it cannot be refunded. Cancel the PaymentIntent to release the authorization instead.",
                payment_intent=pi,
            )
        charge_id = pi["latest_charge"]
        if pi["status"] != "succeeded" or charge_id is None:
            raise invalid_request(
                f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                code="charge_not_refundable",
                param="payment_intent",
            )
        charge = state.charges[charge_id]
        if "charge" in params and params["charge"] != charge_id:
            raise validation(f"The charge {params['charge']} does not belong to PaymentIntent {pi_id}.", param="charge")
        return charge
    charge_id = as_str(params["charge"], "charge")
    found = state.charges.get(charge_id)
    if found is None:
        raise no_such("charge", charge_id, param="charge", status=400)
    if found["status"] != "succeeded":
        raise invalid_request(
            f"Charge {charge_id} has a status of {found['status']} and cannot be refunded.",
            code="charge_not_refundable",
            param="charge",
        )
    if not found["captured"]:
        raise invalid_request(
            f"Charge {charge_id} has not been captured, so it cannot be refunded. Cancel its PaymentIntent "
            "to release the authorization instead.",
            code="charge_not_refundable",
            param="charge",
        )
    return found


def create_refund(state: State, params: Params) -> Obj:
    check_known(params, REFUND_CREATE)
    charge = _refundable_charge(state, params)
    remaining = charge["amount_captured"] - charge["amount_refunded"]
    if remaining <= 0:
        raise invalid_request(
            f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded", param="charge"
        )
    amount = remaining
    if "amount" in params:
        amount = as_int(params["amount"], "amount", minimum=1)
        if amount > remaining:
            raise invalid_request(
                f"Refund amount ({format_amount(amount, charge['currency'])}) is greater than unrefunded amount "
                f"on charge ({format_amount(remaining, charge['currency'])})",
                code="amount_too_large",
                param="amount",
            )
    reason = as_enum(params["reason"], "reason", REFUND_REASONS) if "reason" in params else None
    refund: Obj = {
        "id": new_id("re"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": new_id("txn"),
        "charge": charge["id"],
        "created": state.now(),
        "currency": charge["currency"],
        "destination_details": {
            "card": {"reference_status": "pending", "reference_type": "acquirer_reference_number", "type": "refund"},
            "type": "card",
        },
        "metadata": merge_metadata({}, as_metadata(params.get("metadata", {}))),
        "payment_intent": charge["payment_intent"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }
    state.refunds[refund["id"]] = refund
    previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
    state.emit("refund.created", refund)
    state.emit("charge.refunded", charge, previous)
    return refund
