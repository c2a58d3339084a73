"""The one owner of the cart items in the Carts table: `CART#<id>` / `CART`, a shopper's cart
(its lines, optimistic `version`, `owner` once a signed-in customer claims it, `expiresAt` TTL).

Who uses what: checkout creates, changes and checks out carts through `CartRecord` (its adapter
turns them into its domain carts). The customers service finds and deletes a customer's carts,
for data export and erasure, only through `carts_of` and `delete` below. Checkout's other items
in the same table (the Stripe webhook log `STRIPE_EVENT#<id>`, the guest hold counters
`HOLDS#<key>#<window>`) only checkout reads; they stay in its adapter.

Why the shared layer: two services need these items and services never import each other."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from commerce.dynamo import bind, retrying
from commerce.records import pages, resource_table, stored_json

TABLE_SETTING = "CARTS_TABLE"
OPEN = "OPEN"
"""A cart's status until it is checked out (checkout's `CartStatus.OPEN`)."""


class CartRecord(Model):
    """`CART#<id>` / `CART`."""

    class Meta:
        table_name: str | None = None
        region: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    token_hash = UnicodeAttribute(attr_name="tokenHash")
    owner = UnicodeAttribute(null=True)
    items = MapAttribute[str, Any](default=dict)
    status = UnicodeAttribute(default=OPEN)
    version = NumberAttribute(default=0)
    updated_at = UnicodeAttribute(attr_name="updatedAt")
    expires_at = NumberAttribute(attr_name="expiresAt")


def bind_tables() -> None:
    """Point the model at the Carts table (on first use, not at import)."""
    bind(TABLE_SETTING, CartRecord)


def key(cart_id: str) -> tuple[str, str]:
    return f"CART#{cart_id}", "CART"


def cart_id_of(record: CartRecord) -> str:
    return record.pk.removeprefix("CART#")


# --- a customer's carts, for data export and erasure ------------------------------------------


def carts_of(owner: str) -> list[dict[str, Any]]:
    """Every cart `owner` claimed, as plain items. Carts have no index by owner, so they are
    found with a strongly consistent filtered scan: only export and erasure, both rare, need it."""
    items = pages(
        resource_table(TABLE_SETTING).scan,
        FilterExpression="#owner = :owner",
        ExpressionAttributeNames={"#owner": "owner"},
        ExpressionAttributeValues={":owner": owner},
        ConsistentRead=True,
    )
    return [stored_json(i) for i in items]


def delete(cart: dict[str, Any]) -> None:
    """Delete a cart `carts_of` found (gone already: nothing to do)."""
    item_key = {"pk": cart["pk"], "sk": cart["sk"]}
    retrying(lambda: resource_table(TABLE_SETTING).delete_item(Key=item_key), what="cart deletion")
