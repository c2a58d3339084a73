"""The local cloud's runtime switches through the harness: DynamoDB chaos fails writes (never
reads) and counts what it injected; the SES mode round-trips."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from shopstack.harness import LocalCloud

pytestmark = pytest.mark.integration
PRODUCT = {
    "name": "Chaos Lantern",
    "description": "Flickers.",
    "category": "lighting",
    "price": {"amount": 1999, "currency": "usd"},
    "images": ["/images/products/lantern.svg"],
}


@pytest.fixture
def calm(cloud: LocalCloud) -> Iterator[None]:
    yield
    cloud.set_chaos(dynamodb=0)


def test_full_chaos_fails_writes_but_not_reads(cloud: LocalCloud, admin_token: str, calm: None) -> None:
    sku = "T-" + uuid.uuid4().hex[:12].upper()
    assert cloud.request("PUT", f"/admin/products/{sku}", body=PRODUCT, token=admin_token).status == 200
    before = cloud.set_chaos(dynamodb=1.0)
    assert before["dynamodb"] == 1.0

    reply = cloud.request("PUT", f"/admin/products/{sku}", body={**PRODUCT, "name": "Changed"}, token=admin_token)
    assert reply.status >= 500, reply.text
    read = cloud.request("GET", f"/products/{sku}")
    assert read.status == 200 and read.json["name"] == "Chaos Lantern"

    state = cloud.chaos()
    assert state["injected"]["dynamodb"] > before["injected"]["dynamodb"]
    assert cloud.set_chaos(dynamodb=0)["dynamodb"] == 0
    assert (
        cloud.request("PUT", f"/admin/products/{sku}", body={**PRODUCT, "name": "Changed"}, token=admin_token).status
        == 200
    )


def test_the_ses_mode_round_trips(cloud: LocalCloud) -> None:
    assert cloud.ses_mode() == "production"
    cloud.set_ses_mode("sandbox")
    try:
        assert cloud.ses_mode() == "sandbox"
    finally:
        cloud.set_ses_mode("production")
    with pytest.raises(RuntimeError):
        cloud.set_ses_mode("lenient")
