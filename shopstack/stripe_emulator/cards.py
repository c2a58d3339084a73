"""Stripe's test cards and test PaymentMethods, and what confirming a payment with each does."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Outcome(Enum):
    SUCCEED = "succeed"
    DECLINE = "decline"
    AUTHENTICATE = "authenticate"


@dataclass(frozen=True)
class Decline:
    code: str
    decline_code: str
    message: str


@dataclass(frozen=True)
class TestCard:
    number: str
    brand: str
    outcome: Outcome = Outcome.SUCCEED
    decline: Decline | None = None
    funding: str = "credit"
    country: str = "US"

    @property
    def last4(self) -> str:
        return self.number[-4:]


GENERIC = Decline("card_declined", "generic_decline", "Your card was declined.")
INSUFFICIENT = Decline("card_declined", "insufficient_funds", "Your card has insufficient funds.")
LOST = Decline("card_declined", "lost_card", "Your card was declined.")
STOLEN = Decline("card_declined", "stolen_card", "Your card was declined.")
EXPIRED = Decline("expired_card", "expired_card", "Your card has expired.")
INCORRECT_CVC = Decline("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.")
PROCESSING = Decline(
    "processing_error", "processing_error", "An error occurred while processing your card. Try again in a little bit."
)

CARDS: dict[str, TestCard] = {
    card.number: card
    for card in (
        TestCard("4242424242424242", "visa"),
        TestCard("4000056655665556", "visa", funding="debit"),
        TestCard("5555555555554444", "mastercard"),
        TestCard("2223003122003222", "mastercard"),
        TestCard("378282246310005", "amex"),
        TestCard("4000000000000002", "visa", Outcome.DECLINE, GENERIC),
        TestCard("4000000000009995", "visa", Outcome.DECLINE, INSUFFICIENT),
        TestCard("4000000000009987", "visa", Outcome.DECLINE, LOST),
        TestCard("4000000000009979", "visa", Outcome.DECLINE, STOLEN),
        TestCard("4000000000000069", "visa", Outcome.DECLINE, EXPIRED),
        TestCard("4000000000000127", "visa", Outcome.DECLINE, INCORRECT_CVC),
        TestCard("4000000000000119", "visa", Outcome.DECLINE, PROCESSING),
        TestCard("4000002500003155", "visa", Outcome.AUTHENTICATE),
        TestCard("4000002760003184", "visa", Outcome.AUTHENTICATE),
        TestCard("4000000000003220", "visa", Outcome.AUTHENTICATE),
        TestCard("4000000000003063", "visa", Outcome.AUTHENTICATE),
    )
}

TEST_PAYMENT_METHODS: dict[str, str] = {
    "pm_card_visa": "4242424242424242",
    "pm_card_visa_debit": "4000056655665556",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_amex": "378282246310005",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeDeclinedLostCard": "4000000000009987",
    "pm_card_chargeDeclinedStolenCard": "4000000000009979",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_chargeDeclinedIncorrectCvc": "4000000000000127",
    "pm_card_chargeDeclinedProcessingError": "4000000000000119",
    "pm_card_authenticationRequired": "4000002500003155",
    "pm_card_authenticationRequiredOnSetup": "4000002500003155",
    "pm_card_threeDSecure2Required": "4000000000003220",
}


def luhn_valid(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for index, digit in enumerate(reversed(number)):
        value = int(digit)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def brand_of(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in ("34", "37"):
        return "amex"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "mastercard"
    if number.startswith("6011") or number.startswith("65"):
        return "discover"
    return "unknown"


def card_for(number: str) -> TestCard:
    """The behaviour of a card number: a listed test card, else a card that succeeds."""
    known = CARDS.get(number)
    if known is not None:
        return known
    return TestCard(number, brand_of(number))
