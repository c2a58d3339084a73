"""Answers that may hold personal data or a token are never cached and never sniffed; the public
catalog may be cached. Origins come from configuration (cdk.json `corsAllowOrigins`)."""

from __future__ import annotations

import pytest

from shopstack.buyer import buy, stock_product
from shopstack.harness import LocalCloud

pytestmark = pytest.mark.integration


def test_personal_answers_carry_no_store_and_nosniff(cloud: LocalCloud, admin_token: str) -> None:
    sku = stock_product(cloud, admin_token, 2)
    bought = buy(cloud, sku)
    for path in (f"/orders/{bought.order_id}", f"/orders/{bought.order_id}/tracking"):
        reply = cloud.request("GET", path, headers=bought.headers)
        assert reply.status == 200
        assert reply.headers["cache-control"] == "no-store", path
        assert reply.headers["x-content-type-options"] == "nosniff", path
    refused = cloud.request("GET", f"/orders/{bought.order_id}")
    assert refused.headers["cache-control"] == "no-store"
    catalog = cloud.request("GET", f"/products/{sku}")
    assert catalog.status == 200
    assert "cache-control" not in catalog.headers
    assert catalog.headers["x-content-type-options"] == "nosniff"


def test_the_allowed_origin_comes_from_configuration(cloud: LocalCloud) -> None:
    import json
    from pathlib import Path

    origins = json.loads((Path(__file__).resolve().parents[2] / "cdk.json").read_text())["context"]["corsAllowOrigins"]
    reply = cloud.request("GET", "/products", headers={"Origin": "https://shop.example"})
    expected = "*" if origins == ["*"] else None
    assert reply.headers.get("access-control-allow-origin") == expected
