"""Buy orders over HTTP as a storefront does, for the memory, durability and latency checks of
the local cloud (tests/reliability, tests/integration and bench/)."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopstack.harness import LocalCloud, Reply
from shopstack.waiting import NotMet, eventually

ADDRESS = {
    "name": "Ada Shopper",
    "line1": "1 Main St",
    "city": "Springfield",
    "postalCode": "12345",
    "country": "US",
}
SETTLED = ("CONFIRMED", "PAYMENT_FAILED", "CANCELLED", "EXPIRED")


class CheckoutFailed(RuntimeError):
    """The checkout request did not answer 201; `seconds` is how long it took."""

    def __init__(self, message: str, seconds: float) -> None:
        super().__init__(message)
        self.seconds = seconds


@dataclass(frozen=True)
class Bought:
    order: dict[str, Any]
    checkout_seconds: float

    @property
    def order_id(self) -> str:
        return str(self.order["orderId"])

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Order-Token": str(self.order["orderToken"])}


def stock_product(cloud: LocalCloud, admin_token: str, units: int, price: int = 1500) -> str:
    """A new product with `units` on hand (none when 0)."""
    sku = "LD-" + uuid.uuid4().hex[:10].upper()
    body = {"name": f"Item {sku}", "category": "load", "price": {"amount": price, "currency": "usd"}}
    reply = cloud.request("PUT", f"/admin/products/{sku}", body=body, token=admin_token)
    if reply.status != 200:
        raise RuntimeError(f"product {sku}: {reply.status} {reply.text}")
    if not units:
        return sku
    reply = cloud.request(
        "POST",
        f"/admin/inventory/{sku}/adjustments",
        body={"delta": units, "reason": "stock"},
        token=admin_token,
        headers={"Idempotency-Key": f"stock-{sku}"},
    )
    if reply.status != 200:
        raise RuntimeError(f"stock {sku}: {reply.status} {reply.text}")
    return sku


def _checked(reply: Reply, expected: int, what: str) -> Reply:
    if reply.status != expected:
        raise RuntimeError(f"{what}: {reply.status} {reply.text[:500]}")
    return reply


def buy(
    cloud: LocalCloud,
    sku: str,
    quantity: int = 1,
    payment_method: str = "pm_card_visa",
    *,
    token: str | None = None,
    email: str = "ada@example.com",
) -> Bought:
    """Cart, item, checkout paid with `payment_method`, as a guest or signed in with `token`; times
    the checkout request alone."""
    cart = _checked(cloud.request("POST", "/carts", token=token), 201, "new cart").json
    headers = {"X-Cart-Token": cart["cartToken"]}
    _checked(
        cloud.request(
            "PUT", f"/carts/{cart['cartId']}/items/{sku}", body={"quantity": quantity}, headers=headers, token=token
        ),
        200,
        "add to cart",
    )
    body = {"email": email, "shippingAddress": ADDRESS, "paymentMethod": payment_method}
    began = time.perf_counter()
    reply = cloud.request(
        "POST",
        f"/carts/{cart['cartId']}/checkout",
        body=body,
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
        token=token,
    )
    elapsed = time.perf_counter() - began
    if reply.status != 201:
        raise CheckoutFailed(f"checkout: {reply.status} {reply.text[:500]}", elapsed)
    return Bought(reply.json, elapsed)


def order_status(cloud: LocalCloud, bought: Bought) -> str:
    reply = cloud.request("GET", f"/orders/{bought.order_id}", headers=bought.headers)
    return str(reply.json.get("status")) if reply.status == 200 else f"HTTP {reply.status}"


def wait_until(
    cloud: LocalCloud,
    orders: list[Bought],
    statuses: tuple[str, ...] = SETTLED,
    *,
    timeout: float = 120.0,
    poll: float = 0.5,
) -> dict[str, str]:
    """Wait until every order is in one of `statuses`; returns the status of each order id
    (the last status seen, for an order still elsewhere at the timeout)."""
    found: dict[str, str] = {}

    def all_there() -> bool:
        for bought in orders:
            if found.get(bought.order_id) not in statuses:
                found[bought.order_id] = order_status(cloud, bought)
        return all(found[bought.order_id] in statuses for bought in orders)

    with contextlib.suppress(NotMet):
        eventually(all_there, timeout=timeout, interval=poll, what="orders settled")
    return found


def rss_mb(pid: int) -> float:
    """Resident memory of one process in MB (0 when it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def settle(sample: Callable[[], float], *, quiet_seconds: float = 3.0, timeout: float = 30.0) -> float:
    """Sample until two readings `quiet_seconds` apart agree within 1 MB; returns the last."""
    deadline = time.monotonic() + timeout
    last = sample()
    while time.monotonic() < deadline:
        time.sleep(quiet_seconds)
        now = sample()
        if abs(now - last) < 1.0:
            return now
        last = now
    return last
