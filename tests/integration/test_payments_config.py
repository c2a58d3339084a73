"""Checkout with payments not configured: a clear 503 `payments_unavailable` before anything is
reserved (no 500, no stock held for the reservation's 15 minutes)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from shopstack.harness import LocalCloud
from tests.integration.test_checkout import add, checkout, inventory, new_cart
from tests.integration.test_orders import product

pytestmark = pytest.mark.integration

__all__ = ["product"]


CACHE_SECONDS = 1


def _wait_for_functions_to_reread_the_secret() -> None:
    """The checkout function trusts the secret it read for CACHE_SECONDS (see `_short_cache`)."""
    time.sleep(CACHE_SECONDS + 0.5)


@pytest.fixture
def _short_cache(aws: Any) -> Iterator[None]:
    """The checkout API function trusts the Stripe secret for 1 s instead of its
    SECRET_MAX_AGE_SECONDS (a configuration change, so new execution environments, as on AWS);
    restored afterwards."""
    lam = aws("lambda")
    [name] = [f["FunctionName"] for f in lam.list_functions()["Functions"] if "CheckoutApi" in f["FunctionName"]]
    original = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    shorter = {**original, "STRIPE_SECRET_MAX_AGE_SECONDS": str(CACHE_SECONDS)}
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": shorter})
    try:
        yield
    finally:
        lam.update_function_configuration(FunctionName=name, Environment={"Variables": original})


@pytest.mark.usefixtures("_short_cache")
def test_checkout_with_the_stripe_secret_emptied_is_503_and_reserves_nothing(
    cloud: LocalCloud, admin_token: str, product: Any, aws: Any, outputs: dict[str, str]
) -> None:
    secrets = aws("secretsmanager")
    name = outputs["StripeSecretName"]
    original = secrets.get_secret_value(SecretId=name)["SecretString"]
    sku = product(3)
    cart, headers = new_cart(cloud)
    assert add(cloud, cart, headers, sku, 2).status == 200
    before = inventory(cloud, admin_token, sku)
    secrets.put_secret_value(SecretId=name, SecretString="{}")  # Secrets Manager refuses ""
    try:
        _wait_for_functions_to_reread_the_secret()
        reply = checkout(cloud, cart, headers, key=uuid.uuid4().hex)
    finally:
        secrets.put_secret_value(SecretId=name, SecretString=original)
        _wait_for_functions_to_reread_the_secret()
    assert reply.status == 503, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert int(reply.headers["retry-after"]) > 0
    problem = reply.json
    assert problem["code"] == "payments_unavailable" and problem["status"] == 503
    assert "secretKey is missing" in problem["detail"] and "webhookSecret is missing" in problem["detail"]
    for value in json.loads(original).values():
        assert str(value) not in reply.text, "the problem never shows a key"
    after = inventory(cloud, admin_token, sku)
    assert (after["onHand"], after["reserved"], after["available"]) == (
        before["onHand"],
        before["reserved"],
        before["available"],
    )
    product_view = cloud.request("GET", f"/products/{sku}").json
    assert product_view["available"] == before["available"] == 3

    again = checkout(cloud, cart, headers, key=uuid.uuid4().hex)
    assert again.status == 201, "with the keys back, the same cart checks out"
