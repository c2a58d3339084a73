"""The Stripe secret the stack creates is one checkout recognizes as not configured."""

import json

from commerce.stripe_client import configuration_problems
from infra.stacks.shared import STRIPE_PLACEHOLDER
from tests.unit.test_stripe_config import PLACEHOLDER


def test_the_stacks_placeholder_refuses_payments() -> None:
    assert STRIPE_PLACEHOLDER == PLACEHOLDER
    assert configuration_problems(json.dumps(STRIPE_PLACEHOLDER)) == [
        "secretKey is still the placeholder",
        "webhookSecret is still the placeholder",
    ]
