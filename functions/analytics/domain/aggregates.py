"""What one integration event adds to the merchant's reports. Pure: no I/O.

Every effect is an ADD to a counter item, so an event counted once (the adapter writes a
`SEEN#<event id>` marker in the same transaction) gives the same totals in any order of
arrival: an order refunded before its confirmation event arrives is counted once for each,
each on its own day. Money is counted per currency and never added across currencies.

Counter items, one partition per month so a report over a date range is a few Queries:

- `SALES#<yyyy-mm>` / `<day>#<currency>`: orders, gross, units, refunds, refundCount,
  newCustomers, returningCustomers
- `PRODUCT#<yyyy-mm>` / `<day>#<sku>#<currency>`: units, revenue, refunds, returnedUnits
- `FUNNEL#<yyyy-mm>` / `<day>`: the funnel's steps (FUNNEL_STEPS) and abandonedCarts

Two facts need what came before, so they are decisions the adapter makes with a record of its
own, under a condition: whether an order is its customer's first (`first_order`) and when a
cart was abandoned (`abandoned`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any


class MalformedEvent(ValueError):
    """Not a shopstack event envelope, or without what its type must carry."""


FUNNEL_STEPS = ("cartsCreated", "cartsWithItems", "checkoutsStarted", "ordersPaid", "ordersShipped", "ordersDelivered")
SALES_COUNTS = ("orders", "gross", "units", "refunds", "refundCount", "newCustomers", "returningCustomers")
PRODUCT_COUNTS = ("units", "revenue", "refunds", "returnedUnits")

_FUNNEL_EVENTS = {
    "CartCreated": "cartsCreated",
    "CheckoutStarted": "checkoutsStarted",
    "PaymentAuthorized": "ordersPaid",
    "OrderShipped": "ordersShipped",
    "OrderDelivered": "ordersDelivered",
}


@dataclass(frozen=True, slots=True)
class Add:
    """ADD `counts` to the counters of item (pk, sk)."""

    pk: str
    sk: str
    counts: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Order:
    """An order as its customer's history sees it: who, when, in which currency."""

    order_id: str
    customer: str
    at: str
    currency: str


@dataclass(frozen=True, slots=True)
class Cart:
    """A cart as the funnel sees it: its last activity, whether it holds items now, whether it
    ever did, whether it was checked out, and the day it was counted abandoned (if it was)."""

    cart_id: str
    at: str
    has_items: bool
    filled: bool = False
    checked_out: bool = False
    email: str | None = None
    abandoned_day: str | None = None


@dataclass(frozen=True, slots=True)
class Effects:
    event_id: str
    adds: tuple[Add, ...] = ()
    order: Order | None = None
    cart: Cart | None = None


def day_of(at: str) -> str:
    return at[:10]


def sales(day: str, currency: str, **counts: int) -> Add:
    return Add(f"SALES#{day[:7]}", f"{day}#{currency}", counts)


def product(day: str, sku: str, currency: str, **counts: int) -> Add:
    return Add(f"PRODUCT#{day[:7]}", f"{day}#{sku}#{currency}", counts)


def funnel(day: str, **counts: int) -> Add:
    return Add(f"FUNNEL#{day[:7]}", day, counts)


def customer_key(data: Mapping[str, Any]) -> str | None:
    """A signed-in customer by id; a guest by a hash of their email (no email kept here)."""
    if data.get("customerId"):
        return f"id:{data['customerId']}"
    email = str(data.get("email") or "").strip().lower()
    if not email or email.endswith("@invalid"):
        return None
    return "email:" + hashlib.sha256(email.encode()).hexdigest()[:32]


def _money(value: Any) -> tuple[int, str]:
    if not isinstance(value, Mapping) or not isinstance(value.get("amount"), int) or not value.get("currency"):
        raise MalformedEvent("money without amount or currency")
    return int(value["amount"]), str(value["currency"]).lower()


def _lines(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    lines = data.get("lines") or []
    if not isinstance(lines, list) or not all(isinstance(x, Mapping) and x.get("sku") for x in lines):
        raise MalformedEvent("lines without sku")
    return lines


def effects_of(envelope: Mapping[str, Any]) -> Effects:
    """An EventBridge envelope (`detail-type`, `detail: {id, occurredAt, data}`) -> its effects."""
    name, detail = envelope.get("detail-type"), envelope.get("detail")
    if not isinstance(detail, Mapping) or not isinstance(name, str):
        raise MalformedEvent("not a shopstack event envelope")
    event_id, at, data = detail.get("id"), detail.get("occurredAt"), detail.get("data") or {}
    if not isinstance(event_id, str) or not isinstance(at, str) or len(at) < 10 or not isinstance(data, Mapping):
        raise MalformedEvent("event without id, occurredAt or data")
    day = day_of(at)
    counted = Add(f"DAY#{day}", f"EVENT#{name}", {"count": 1})
    adds: list[Add] = [counted]
    if name in _FUNNEL_EVENTS:
        adds.append(funnel(day, **{_FUNNEL_EVENTS[name]: 1}))
    if name == "OrderConfirmed":
        return _confirmed(event_id, at, data, adds)
    if name == "RefundIssued":
        amount, currency = _money(data.get("amount"))
        adds.append(sales(day, currency, refunds=amount, refundCount=1))
        lines = _lines(data)
        for line, line_amount in zip(lines, _refund_shares(amount, lines), strict=True):
            adds.append(
                product(day, str(line["sku"]), currency, refunds=line_amount, returnedUnits=int(line["quantity"]))
            )
        return Effects(event_id, tuple(adds))
    if name == "OrderCancelled":
        # A confirmed order cancelled with its captured payment refunded: its revenue is refunded.
        refund, currency = _money(data.get("refund") or {"amount": 0, "currency": "usd"})
        if refund > 0:
            adds.append(sales(day, currency, refunds=refund, refundCount=1))
            for line in _lines(data):
                adds.append(product(day, str(line["sku"]), currency, refunds=int(line.get("amount") or 0)))
        return Effects(event_id, tuple(adds))
    if name in ("CartCreated", "CartUpdated"):
        has_items = int(data.get("itemCount") or 0) > 0
        cart = Cart(str(data.get("cartId") or ""), at, has_items, filled=has_items, email=data.get("email") or None)
        if not cart.cart_id:
            raise MalformedEvent("cart event without cartId")
        return Effects(event_id, tuple(adds), cart=cart)
    if name == "CheckoutStarted" and data.get("cartId"):
        cart = Cart(str(data["cartId"]), at, has_items=True, filled=True, checked_out=True)
        return Effects(event_id, tuple(adds), cart=cart)
    return Effects(event_id, tuple(adds))


def _refund_shares(amount: int, lines: list[Mapping[str, Any]]) -> list[int]:
    """Each returned line's share of a refund: its own `amount` when the event carries one, else
    a split by units (the refund includes tax, which a per-line price would not), the rest of
    the rounding on the last line."""
    if all(isinstance(x.get("amount"), int) for x in lines):
        return [int(x["amount"]) for x in lines]
    units = sum(int(x.get("quantity") or 0) for x in lines) or 1
    shares = [amount * int(x.get("quantity") or 0) // units for x in lines]
    if shares:
        shares[-1] += amount - sum(shares)
    return shares


def _confirmed(event_id: str, at: str, data: Mapping[str, Any], adds: list[Add]) -> Effects:
    day = day_of(at)
    total, currency = _money(data.get("total"))
    lines = _lines(data)
    units = sum(int(x.get("quantity") or 0) for x in lines)
    adds.append(sales(day, currency, orders=1, gross=total, units=units))
    for line in lines:
        adds.append(product(day, str(line["sku"]), currency, units=int(line["quantity"]), revenue=int(line["amount"])))
    who = customer_key(data)
    order = Order(str(data.get("orderId")), who, at, currency) if who else None
    return Effects(event_id, tuple(adds), order=order)


def first_order(known: Order | None, order: Order) -> tuple[Order, tuple[Add, ...]]:
    """Whether `order` is its customer's first, given the earliest order counted so far (`known`):
    the customer's earliest order (to keep) and the counter moves. An earlier order arriving
    late takes the "new customer" from the one counted before it."""
    day = day_of(order.at)
    if known is None:
        return order, (sales(day, order.currency, newCustomers=1),)
    if (order.at, order.order_id) < (known.at, known.order_id):
        moved = sales(day_of(known.at), known.currency, newCustomers=-1, returningCustomers=1)
        return order, (sales(day, order.currency, newCustomers=1), moved)
    return known, (sales(day, order.currency, returningCustomers=1),)


def merge_cart(previous: Cart | None, change: Cart) -> tuple[Cart, tuple[Add, ...]]:
    """The cart after `change`, whichever order events arrive in, and the counter moves: a cart
    counts in `cartsWithItems` once, the first time any event shows it holding items; a cart
    counted abandoned that is changed or checked out after all is taken out of `abandonedCarts`
    (the sweep counts it again if it is left again)."""
    if previous is None:
        return change, ((funnel(day_of(change.at), cartsWithItems=1),) if change.filled else ())
    latest = change if change.at >= previous.at else previous
    merged = replace(
        previous,
        at=latest.at,
        has_items=latest.has_items,
        filled=previous.filled or change.filled,
        checked_out=previous.checked_out or change.checked_out,
        email=previous.email or change.email,
    )
    moves: list[Add] = []
    if change.filled and not previous.filled:
        moves.append(funnel(day_of(change.at), cartsWithItems=1))
    if previous.abandoned_day is not None and (change.checked_out or change.at > previous.at):
        moves.append(funnel(previous.abandoned_day, abandonedCarts=-1))
        merged = replace(merged, abandoned_day=None)
    return merged, tuple(moves)


def abandonment(cart: Cart, now: str, idle_minutes: int) -> tuple[Cart, tuple[Add, ...]] | None:
    """A cart that holds items and was neither changed nor checked out for `idle_minutes` is
    abandoned, counted on the day of its last activity; None when it is not (or already is)."""
    from datetime import datetime, timedelta

    if not cart.has_items or cart.checked_out or cart.abandoned_day is not None:
        return None
    last = datetime.fromisoformat(cart.at.replace("Z", "+00:00"))
    if datetime.fromisoformat(now.replace("Z", "+00:00")) - last < timedelta(minutes=idle_minutes):
        return None
    day = day_of(cart.at)
    return replace(cart, abandoned_day=day), (funnel(day, abandonedCarts=1),)


# Reports ------------------------------------------------------------------------------------


def _ratio(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 4) if denominator else 0.0


def sales_report(rows: Sequence[tuple[str, str, Mapping[str, int]]]) -> dict[str, Any]:
    """`rows` of (day, currency, counts) -> days and totals per currency, net revenue and
    average order value derived (never summed across currencies)."""

    def derived(counts: Mapping[str, int]) -> dict[str, Any]:
        body = {name: int(counts.get(name, 0)) for name in SALES_COUNTS}
        body["revenue"] = body["gross"]
        body["netRevenue"] = body["gross"] - body["refunds"]
        body["averageOrderValue"] = body["gross"] // body["orders"] if body["orders"] else 0
        return body

    days: dict[str, dict[str, Any]] = {}
    totals: dict[str, dict[str, int]] = {}
    for day, currency, counts in sorted(rows, key=lambda r: (r[0], r[1])):
        days.setdefault(day, {})[currency] = derived(counts)
        total = totals.setdefault(currency, {})
        for name in SALES_COUNTS:
            total[name] = total.get(name, 0) + int(counts.get(name, 0))
    return {
        "days": [{"date": day, "currencies": per} for day, per in days.items()],
        "totals": {currency: derived(counts) for currency, counts in totals.items()},
    }


def products_report(rows: Sequence[tuple[str, str, Mapping[str, int]]], *, by: str, limit: int) -> dict[str, Any]:
    """`rows` of (sku, currency, counts) summed over the range -> the top `limit` products by
    `units` or `revenue`, per currency, with their return rate (returned / sold units)."""
    summed: dict[tuple[str, str], dict[str, int]] = {}
    for sku, currency, counts in rows:
        total = summed.setdefault((sku, currency), dict.fromkeys(PRODUCT_COUNTS, 0))
        for name in PRODUCT_COUNTS:
            total[name] += int(counts.get(name, 0))
    per_currency: dict[str, list[dict[str, Any]]] = {}
    for (sku, currency), counts in summed.items():
        item = {"sku": sku, **counts, "returnRate": _ratio(counts["returnedUnits"], counts["units"])}
        per_currency.setdefault(currency, []).append(item)
    return {
        currency: sorted(items, key=lambda x: (-x[by], x["sku"]))[:limit]
        for currency, items in sorted(per_currency.items())
    }


def funnel_report(rows: Sequence[Mapping[str, int]]) -> dict[str, Any]:
    """The funnel over the range: each step's count and the conversion from the step before."""
    steps = {name: sum(int(r.get(name, 0)) for r in rows) for name in (*FUNNEL_STEPS, "abandonedCarts")}
    conversion = {
        f"{before}To{after[0].upper()}{after[1:]}": _ratio(steps[after], steps[before])
        for before, after in pairwise(FUNNEL_STEPS)
    }
    return {**steps, "conversion": conversion, "conversionRate": _ratio(steps["ordersPaid"], steps["cartsCreated"])}
