"""The analytics aggregates in the Analytics table (boto3: counters are ADDs to attributes
named at run time, which PynamoDB models cannot declare).

One event is one transaction: a `SEEN#<event id>` marker put under `attribute_not_exists`, the
ADDs of its effects (merged per item: a transaction may touch an item once), and the customer's
or cart's record put under the version it was read at. A duplicate fails on its marker and
changes nothing; a record changed in between (another event of the same customer or cart) is
read again and the event retried.

Items besides the counters of `analytics.domain.aggregates`:
- `CUSTOMER#<key>` / `FIRST`: the customer's earliest counted order
- `CART#<cart id>` / `CART`: the cart as the funnel sees it; while it may be abandoned it carries
  `pending` = "PENDING" and `pendingAt` (index `byPending`), once abandoned `abandonedMonth` and
  `abandonedKey` = `<day>#<cart id>` (index `byAbandoned`); it expires (`expiresAt`) after
  CART_RECORD_DAYS
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from analytics.domain.aggregates import Add, Cart, Effects, Order, abandonment, first_order, merge_cart
from commerce.clock import rfc3339
from commerce.config import setting
from commerce.dynamo import cancellation_codes, retrying
from commerce.dynamo import client as dynamodb_client

CART_RECORD_DAYS = 90
RECORD_ATTEMPTS = 5


def _client() -> Any:
    return dynamodb_client()


def _table() -> str:
    return setting("ANALYTICS_TABLE")


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": _s(pk), "sk": _s(sk)}


def merged(adds: Sequence[Add]) -> list[Add]:
    """ADDs to the same item as one (a transaction touches an item once); zero counts dropped."""
    by_item: dict[tuple[str, str], dict[str, int]] = {}
    for add in adds:
        counts = by_item.setdefault((add.pk, add.sk), {})
        for name, n in add.counts.items():
            counts[name] = counts.get(name, 0) + n
    return [Add(pk, sk, {n: v for n, v in c.items() if v}) for (pk, sk), c in by_item.items() if any(c.values())]


def _update(add: Add, table: str) -> dict[str, Any]:
    names = {f"#c{i}": name for i, name in enumerate(sorted(add.counts))}
    values = {f":c{i}": {"N": str(add.counts[name])} for i, name in enumerate(sorted(add.counts))}
    return {
        "Update": {
            "TableName": table,
            "Key": _key(add.pk, add.sk),
            "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(names))),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def _put_versioned(item: dict[str, Any], version: int | None, table: str) -> dict[str, Any]:
    """Put `item` with version+1, if the stored one is still at `version` (None: absent)."""
    item = {**item, "version": {"N": str((version or 0) + 1)}}
    if version is None:
        return {"Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}
    return {
        "Put": {
            "TableName": table,
            "Item": item,
            "ConditionExpression": "version = :v",
            "ExpressionAttributeValues": {":v": {"N": str(version)}},
        }
    }


def _order_item(customer: str, order: Order) -> dict[str, Any]:
    return {
        **_key(f"CUSTOMER#{customer}", "FIRST"),
        "orderId": _s(order.order_id),
        "at": _s(order.at),
        "currency": _s(order.currency),
    }


def _order_of(customer: str, item: Mapping[str, Any]) -> Order:
    return Order(item["orderId"]["S"], customer, item["at"]["S"], item["currency"]["S"])


def _cart_item(cart: Cart) -> dict[str, Any]:
    item: dict[str, Any] = {
        **_key(f"CART#{cart.cart_id}", "CART"),
        "at": _s(cart.at),
        "hasItems": {"BOOL": cart.has_items},
        "filled": {"BOOL": cart.filled},
        "checkedOut": {"BOOL": cart.checked_out},
        "expiresAt": {"N": str(int(time.time()) + CART_RECORD_DAYS * 86400)},
    }
    if cart.email:
        item["email"] = _s(cart.email)
    if cart.abandoned_day:
        item["abandonedMonth"] = _s(f"ABANDONED#{cart.abandoned_day[:7]}")
        item["abandonedKey"] = _s(f"{cart.abandoned_day}#{cart.cart_id}")
    elif cart.has_items and not cart.checked_out:
        item["pending"] = _s("PENDING")
        item["pendingAt"] = _s(cart.at)
    return item


def _cart_of(item: Mapping[str, Any]) -> Cart:
    abandoned = item.get("abandonedKey", {}).get("S")
    return Cart(
        cart_id=item["pk"]["S"].removeprefix("CART#"),
        at=item["at"]["S"],
        has_items=item["hasItems"]["BOOL"],
        filled=item["filled"]["BOOL"],
        checked_out=item["checkedOut"]["BOOL"],
        email=item.get("email", {}).get("S"),
        abandoned_day=abandoned.split("#", 1)[0] if abandoned else None,
    )


class DynamoAggregates:
    """Applies an event's effects once, sweeps abandoned carts and reads the reports."""

    def apply(self, effects: Effects) -> bool:
        """Count the event once; False when it was counted before."""
        table = _table()
        for _ in range(RECORD_ATTEMPTS):
            items = [
                {
                    "Put": {
                        "TableName": table,
                        "Item": _key(f"SEEN#{effects.event_id}", "SEEN"),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            ]
            adds = list(effects.adds)
            if effects.order is not None:
                found = self._get(f"CUSTOMER#{effects.order.customer}", "FIRST")
                known = _order_of(effects.order.customer, found) if found else None
                kept, moves = first_order(known, effects.order)
                adds.extend(moves)
                if kept != known:
                    version = int(found["version"]["N"]) if found else None
                    items.append(_put_versioned(_order_item(effects.order.customer, kept), version, table))
            if effects.cart is not None:
                found = self._get(f"CART#{effects.cart.cart_id}", "CART")
                cart, moves = merge_cart(_cart_of(found) if found else None, effects.cart)
                adds.extend(moves)
                items.append(_put_versioned(_cart_item(cart), int(found["version"]["N"]) if found else None, table))
            items.extend(_update(add, table) for add in merged(adds))
            try:
                _write(items, "analytics counter")
            except Exception as exc:
                if "ConditionalCheckFailed" not in cancellation_codes(exc):
                    raise
                if self._get(f"SEEN#{effects.event_id}", "SEEN") is not None:
                    return False
                continue  # the customer's or cart's record moved meanwhile: read it again
            return True
        raise RuntimeError(f"event {effects.event_id}: its record kept changing; the queue retries it")

    def sweep(self, now: datetime, idle_minutes: int) -> int:
        """Count the carts left with items for `idle_minutes` as abandoned; how many were."""
        table, counted = _table(), 0
        cutoff, stamp = rfc3339(now - timedelta(minutes=idle_minutes)), rfc3339(now)
        for found in self._query(
            "byPending",
            "pending = :p AND pendingAt <= :t",
            {":p": _s("PENDING"), ":t": _s(cutoff)},
        ):
            item = self._get(found["pk"]["S"], "CART")
            decided = abandonment(_cart_of(item), stamp, idle_minutes) if item else None
            if item is None or decided is None:
                continue
            cart, moves = decided
            items = [_put_versioned(_cart_item(cart), int(item["version"]["N"]), table)]
            items.extend(_update(add, table) for add in merged(moves))
            try:
                _write(items, "abandoned cart")
            except Exception as exc:
                if cancellation_codes(exc) != {"ConditionalCheckFailed"}:
                    raise
                continue  # changed meanwhile: the next sweep decides again
            counted += 1
        return counted

    def rows(self, prefix: str, start: date, end: date) -> list[tuple[str, dict[str, int]]]:
        """(sort key, counters) of the `<prefix>#<month>` items from `start` to `end` inclusive."""
        found: list[tuple[str, dict[str, int]]] = []
        for month in _months(start, end):
            for item in self._query(
                None,
                "pk = :pk AND sk BETWEEN :from AND :to",
                {":pk": _s(f"{prefix}#{month}"), ":from": _s(start.isoformat()), ":to": _s(f"{end.isoformat()}~")},
            ):
                counts = {k: int(v["N"]) for k, v in item.items() if "N" in v}
                found.append((item["sk"]["S"], counts))
        return found

    def abandoned_carts(
        self, start: date, end: date, limit: int, after: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Abandoned carts from `start` to `end` by day, `limit` per page after key `after`."""
        page: list[dict[str, Any]] = []
        for month in _months(start, end):
            if after and after[:7] > month:
                continue
            low = max(start.isoformat(), after or "")
            for item in self._query(
                "byAbandoned",
                "abandonedMonth = :m AND abandonedKey BETWEEN :from AND :to",
                {":m": _s(f"ABANDONED#{month}"), ":from": _s(low), ":to": _s(f"{end.isoformat()}~")},
            ):
                key = item["abandonedKey"]["S"]
                if after and key <= after:
                    continue
                cart = _cart_of(item)
                page.append(
                    {"cartId": cart.cart_id, "date": cart.abandoned_day, "lastActivityAt": cart.at, "email": cart.email}
                )
                if len(page) == limit:
                    return page, key
        return page, None

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        reply = _client().get_item(TableName=_table(), Key=_key(pk, sk), ConsistentRead=True)
        item: dict[str, Any] | None = reply.get("Item")
        return item

    def _query(self, index: str | None, condition: str, values: dict[str, Any]) -> Iterator[dict[str, Any]]:
        names = {"#pk": "pk", "#sk": "sk"} if index is None else None
        if names:
            condition = condition.replace("pk =", "#pk =").replace("sk BETWEEN", "#sk BETWEEN")
        request: dict[str, Any] = {"TableName": _table(), "KeyConditionExpression": condition}
        request["ExpressionAttributeValues"] = values
        if names:
            request["ExpressionAttributeNames"] = names
        if index:
            request["IndexName"] = index
        while True:
            reply = _client().query(**request)
            yield from reply.get("Items", [])
            if "LastEvaluatedKey" not in reply:
                return
            request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]


def _write(items: list[dict[str, Any]], what: str) -> None:
    retrying(lambda: _client().transact_write_items(TransactItems=items), what=what)


def _months(start: date, end: date) -> list[str]:
    months, current = [], date(start.year, start.month, 1)
    while current <= end:
        months.append(current.strftime("%Y-%m"))
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months
