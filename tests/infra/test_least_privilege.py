"""Least privilege on DynamoDB: each function holds exactly the actions its code makes on each table
(and Query on the indexes it queries, by name), so an extra grant (a DeleteItem or Scan no code
makes, `grant_read_write_data`, an `index/*`) fails here. The local cloud does not enforce IAM:
this pin, derived from the code, is what keeps a deploy from failing with AccessDenied.

How each set was derived (PynamoDB `get`/`batch_get`/`scan`/`query`/`save`/`update`/`batch_write`
and boto3 `get_item`/`query`/`scan`/`update_item`/`delete_item`/`transact_write_items`, along each
function's entrypoint): a transaction's Put and Update need PutItem and UpdateItem (IAM has no
TransactWriteItems action); Powertools idempotency Gets, Puts, Updates and, when the handler
fails, Deletes its record; PynamoDB 6 builds its table metadata from the model, so no DescribeTable.
"""

from __future__ import annotations

from typing import Any

import pytest

from infra.settings import load_cdk_json_context
from tests.infra.conftest import Synthesized, render

STAGE = load_cdk_json_context()["stage"]
IDEMPOTENCY = {"GetItem", "PutItem", "UpdateItem", "DeleteItem"}
STREAM_READS = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}
ERASURE_CHECK = {"erasures": {"GetItem"}}
"""Every function behind the API reads the erasure of the caller (commerce.erasures.refuse_erased)."""

EXPECTED: dict[tuple[str, str], dict[str, set[str]]] = {
    # inventory.adapters.dynamodb: get/stock (GetItem), list (Scan of active products, or Query byCategory
    # then BatchGetItem), upsert (UpdateItem), adjust (transaction: Update product, Put ledger entry;
    # GetItem of the entry to explain a refusal)
    ("ShopstackInventory", "api_function"): {
        "products": {"GetItem", "BatchGetItem", "Scan", "PutItem", "UpdateItem"},
        "products/index/byCategory": {"Query"},
        "idempotency": IDEMPOTENCY,
        **ERASURE_CHECK,
    },
    # orders.adapters.dynamodb + commerce.ledger: get/invoice (GetItem), list_for_owner/list_all (Query
    # byOwner/byStatus, Scan without a status), shipments/returns (Query under the order), shipment,
    # shipment_by_tracking, return_by_id (Query byShipment/byTracking/byReturn), add_shipment/add_return
    # (transaction: Put + Update), save_shipment and ledger.apply (UpdateItem; stock on Products)
    ("ShopstackOrders", "api_function"): {
        "orders": {"GetItem", "Query", "Scan", "PutItem", "UpdateItem"},
        "orders/index/byOwner": {"Query"},
        "orders/index/byStatus": {"Query"},
        "orders/index/byShipment": {"Query"},
        "orders/index/byTracking": {"Query"},
        "orders/index/byReturn": {"Query"},
        "products": {"UpdateItem"},
        "idempotency": IDEMPOTENCY,
        **ERASURE_CHECK,
    },
    # orders.entrypoints.tasks: capture/commit/confirm/compensate (ledger.state GetItem, ledger.apply
    # UpdateItem, stock UpdateItem), issue_invoice (GetItem counter; transaction Update counter, Put
    # invoice, Update order), request_fulfilment (mark: UpdateItem)
    ("ShopstackOrders", "tasks_function"): {
        "orders": {"GetItem", "PutItem", "UpdateItem"},
        "products": {"UpdateItem"},
    },
    # orders.service.reconcile: ledger.stuck (Query byStatus), settlement (GetItem, UpdateItem, stock),
    # _restart (GetItem, note_reconciled UpdateItem), _resume_refund (Query byReturn, GetItem, Query of
    # the order's returns, transaction Updates)
    ("ShopstackOrders", "reconciler_function"): {
        "orders": {"GetItem", "Query", "UpdateItem"},
        "orders/index/byStatus": {"Query"},
        "orders/index/byReturn": {"Query"},
        "products": {"UpdateItem"},
    },
    # orders.entrypoints.on_fulfilment: store.get (GetItem), ledger.mark_once (UpdateItem)
    ("ShopstackOrders", "fulfilment_consumer"): {"orders": {"GetItem", "UpdateItem"}},
    # orders.service.notify: store.get (GetItem), store.shipments (Query under the order), add_email
    # (UpdateItem)
    ("ShopstackOrders", "notifications_function"): {"orders": {"GetItem", "Query", "UpdateItem"}},
    # analytics.adapters.dynamodb.DynamoAggregates.apply: get_item (the customer's or cart's record, the
    # marker after a refusal), transact_write_items (Put marker and records, Update counters)
    ("ShopstackAnalytics", "consumer"): {"analytics": {"GetItem", "PutItem", "UpdateItem"}},
    # .sweep: query byPending, get_item of each cart, transact_write_items (Put cart, Update counter)
    ("ShopstackAnalytics", "sweep_function"): {
        "analytics": {"GetItem", "PutItem", "UpdateItem"},
        "analytics/index/byPending": {"Query"},
    },
    # .rows (query of the month partitions) and .abandoned_carts (query byAbandoned)
    ("ShopstackAnalytics", "api_function"): {
        "analytics": {"Query"},
        "analytics/index/byAbandoned": {"Query"},
        **ERASURE_CHECK,
    },
    # integrations.adapters.dynamodb: subscriptions all (Query of the WEBHOOKS partition), deliveries
    # create (PutItem) and get (GetItem) for the fan-out; get and record/save (PutItem) for attempts;
    # the API adds delete (DeleteItem) and of_webhook (Query byWebhook)
    ("ShopstackIntegrations", "fanout_function"): {"webhooks": {"GetItem", "Query", "PutItem"}},
    ("ShopstackIntegrations", "delivery_function"): {"webhooks": {"GetItem", "PutItem"}},
    ("ShopstackIntegrations", "api_function"): {
        "webhooks": {"GetItem", "Query", "PutItem", "DeleteItem"},
        "webhooks/index/byWebhook": {"Query"},
        **ERASURE_CHECK,
    },
    # checkout.adapters.dynamodb: carts/holds/webhook log in the Carts table (GetItem, save PutItem,
    # update UpdateItem), catalog (BatchGetItem), place (ledger.place transaction: Put order, Update
    # stock, Update cart), orders get/set_intent/set_token and ledger.apply (GetItem, UpdateItem)
    ("ShopstackCheckout", "api_function"): {
        "carts": {"GetItem", "PutItem", "UpdateItem"},
        "products": {"BatchGetItem", "UpdateItem"},
        "orders": {"GetItem", "PutItem", "UpdateItem"},
        "idempotency": IDEMPOTENCY,
        **ERASURE_CHECK,
    },
    # checkout.entrypoints.tasks -> settlement.expire: ledger.state (GetItem), ledger.apply (UpdateItem
    # of the order and its stock); no cart is touched
    ("ShopstackCheckout", "tasks_function"): {
        "orders": {"GetItem", "UpdateItem"},
        "products": {"UpdateItem"},
    },
    # customers.adapters.dynamodb (profiles: GetItem, save PutItem, update UpdateItem, Query byEmail and
    # under the customer, delete_all BatchWriteItem) and .records (orders: Query byOwner and under each
    # order, update_item; carts: filtered scan, delete_item); commerce.erasures record (PutItem)
    ("ShopstackCustomers", "api_function"): {
        "customers": {"GetItem", "Query", "PutItem", "UpdateItem", "BatchWriteItem"},
        "customers/index/byEmail": {"Query"},
        "orders": {"Query", "UpdateItem"},
        "orders/index/byOwner": {"Query"},
        "carts": {"Scan", "DeleteItem"},
        "erasures": {"GetItem", "PutItem"},
    },
    ("ShopstackApi", "docs_function"): {},
}


def _table_names(synthesized: Synthesized) -> dict[str, str]:
    """Logical id of each table (in any stack) -> its name without the stage prefix."""
    prefix = f"shopstack-{STAGE}-"
    found = {}
    for stack in synthesized.raw:
        for logical_id, resource in synthesized.resources(stack, "AWS::DynamoDB::Table").items():
            found[logical_id] = str(resource["Properties"]["TableName"]).removeprefix(prefix)
    return found


def _table_of(arn: str, tables: dict[str, str]) -> str:
    """`<name>` or `<name>/index/<index>` of a rendered table ARN (own table or a name-built reference)."""
    marker = f":table/shopstack-{STAGE}-"
    if marker in arn:
        return arn.split(marker, 1)[1]
    for logical_id, name in tables.items():
        if arn.startswith(f"<{logical_id}.Arn>"):
            return name + arn.removeprefix(f"<{logical_id}.Arn>")
    raise AssertionError(f"a DynamoDB grant on something other than a table: {arn}")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def dynamodb_actions(synthesized: Synthesized, stack_id: str, attribute: str) -> dict[str, set[str]]:
    """The DynamoDB actions a function's role holds, per table (and index) name."""
    stack = synthesized.app.node.find_child(stack_id)
    function = getattr(stack, attribute)
    role = function.role
    role_id = stack.resolve(stack.get_logical_id(role.node.default_child))
    tables = _table_names(synthesized)
    granted: dict[str, set[str]] = {}
    for policy in synthesized.resources(stack_id, "AWS::IAM::Policy").values():
        if {"Ref": role_id} not in policy["Properties"].get("Roles", []):
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = [a for a in _as_list(statement["Action"]) if a.startswith("dynamodb:")]
            if not actions:
                continue
            for resource in _as_list(statement["Resource"]):
                arn = render(resource)
                if arn == "*":
                    # the event source's dynamodb:ListStreams only; no function here reads a stream
                    raise AssertionError(f"{stack_id}.{attribute}: DynamoDB actions on '*': {actions}")
                if "/stream/" in arn:
                    continue
                granted.setdefault(_table_of(arn, tables), set()).update(a.removeprefix("dynamodb:") for a in actions)
    return granted


@pytest.mark.parametrize(("stack_id", "attribute"), sorted(EXPECTED))
def test_each_function_holds_exactly_the_dynamodb_actions_its_code_makes(
    synthesized: Synthesized, stack_id: str, attribute: str
) -> None:
    assert dynamodb_actions(synthesized, stack_id, attribute) == EXPECTED[(stack_id, attribute)]


def test_no_function_may_delete_or_scan_where_its_code_does_not(synthesized: Synthesized) -> None:
    """The destructive and expensive actions, listed once: who holds them, and on what."""
    holders = {
        (f"{stack_id}.{attribute}", table, action)
        for stack_id, attribute in EXPECTED
        for table, actions in dynamodb_actions(synthesized, stack_id, attribute).items()
        for action in actions & {"DeleteItem", "BatchWriteItem", "Scan"}
    }
    assert holders == {
        ("ShopstackInventory.api_function", "products", "Scan"),
        ("ShopstackInventory.api_function", "idempotency", "DeleteItem"),
        ("ShopstackOrders.api_function", "orders", "Scan"),
        ("ShopstackOrders.api_function", "idempotency", "DeleteItem"),
        ("ShopstackCheckout.api_function", "idempotency", "DeleteItem"),
        ("ShopstackCustomers.api_function", "customers", "BatchWriteItem"),
        ("ShopstackCustomers.api_function", "carts", "Scan"),
        ("ShopstackCustomers.api_function", "carts", "DeleteItem"),
        ("ShopstackIntegrations.api_function", "webhooks", "DeleteItem"),
    }


def test_every_function_with_a_table_is_pinned(synthesized: Synthesized) -> None:
    """A new function with a DynamoDB grant must be added to EXPECTED."""
    pinned_roles = set()
    for stack_id, attribute in EXPECTED:
        stack = synthesized.app.node.find_child(stack_id)
        role = getattr(stack, attribute).role
        pinned_roles.add((stack_id, stack.resolve(stack.get_logical_id(role.node.default_child))))
    for stack_id in synthesized.raw:
        for policy in synthesized.resources(stack_id, "AWS::IAM::Policy").values():
            statements = policy["Properties"]["PolicyDocument"]["Statement"]
            actions = {a for s in statements for a in _as_list(s["Action"])}
            item_actions = {a for a in actions if a.startswith("dynamodb:") and a != "dynamodb:ListStreams"}
            if not item_actions or item_actions <= STREAM_READS:
                continue
            for role in policy["Properties"]["Roles"]:
                assert (stack_id, role["Ref"]) in pinned_roles, f"{stack_id} {role['Ref']} has {sorted(item_actions)}"
