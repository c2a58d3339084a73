"""Seed data for the local cloud, loaded through the public API as staff would load it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from shopstack.seed.demo import CATALOG, SeedProduct

SEED_ADMIN = "seed-admin@shopstack.local"


class SeedError(RuntimeError):
    pass


def _call(base_url: str, method: str, path: str, token: str, body: Any = None, key: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base_url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise SeedError(f"{method} {path}: {exc.code} {exc.read()[:300]!r}") from exc


def _load_product(base_url: str, token: str, product: SeedProduct) -> None:
    _call(base_url, "PUT", f"/admin/products/{product.sku}", token, product.body())
    # The key names the target, so re-seeding (even after a restart with saved state)
    # never adds the same stock twice.
    stock = _call(base_url, "GET", f"/admin/inventory/{product.sku}", token)
    if stock["onHand"] == 0:
        _call(
            base_url,
            "POST",
            f"/admin/inventory/{product.sku}/adjustments",
            token,
            {"delta": product.stock, "reason": "initial stock"},
            key=f"seed-{product.sku}-initial",
        )


def load(name: str, base_url: str) -> int:
    """Load the named seed set through the API; returns the number of products."""
    if name != "demo":
        raise SeedError(f"unknown seed set {name!r}")
    from concurrent.futures import ThreadPoolExecutor

    from shopstack.localcloud.tokens import issue_token

    token = issue_token(base_url, SEED_ADMIN, admin=True)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda p: _load_product(base_url, token, p), CATALOG))
    return len(CATALOG)
