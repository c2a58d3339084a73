"""A Stripe API emulator for local runs and tests, reached by the official `stripe` SDK through its
base-address setting. See README.md beside this file."""

from shopstack.stripe_emulator.app import StripeEmulator
from shopstack.stripe_emulator.server import EmulatorServer
from shopstack.stripe_emulator.webhooks import RetryPolicy, sign

__all__ = ["EmulatorServer", "RetryPolicy", "StripeEmulator", "sign"]
