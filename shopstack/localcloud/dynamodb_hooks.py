"""What the local cloud's DynamoDB does differently from moto 5.2.5 to keep memory and latency flat.

- TransactWriteItems: moto deep-copies every table a transaction touches before applying it, to
  roll back on failure by swapping the copies in. A table holds its items, its stream records and
  (through its event source mappings) the mapped Lambda functions with their code, so each
  transaction cost time and memory in proportion to everything ever written, and a failed one
  left old tables alive behind stream iterators. `transact_write_items` here is moto's, step for
  step, except that it remembers only the items the transaction touches (a deep copy of each, or
  their absence) and each touched stream's end, and puts exactly those back on failure: the
  table objects never change, and a failed transaction's stream records are never seen.
- Stream records: AWS keeps them 24 hours. `trim_shard` drops records older than that, and the
  oldest beyond MAX_STREAM_RECORDS per shard, but never a record a reader has not read yet: the
  read position of every live iterator of the shard bounds what goes.
- Shard iterators: each GetRecords creates one; the used one is marked superseded, and superseded
  iterators are dropped first when there are too many.

Callers hold the DynamoDB lock (server.SerializedDynamoDB), as every DynamoDB request does.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

STREAM_RETENTION = timedelta(hours=24)
MAX_STREAM_RECORDS = 100
TRIM_SLACK = 25  # trim in steps, not on every record
MAX_LIVE_ITERATORS = 1000
MAX_SUPERSEDED_ITERATORS = 100
SUPERSEDED = "_shopstack_superseded"


# --- transactions ---------------------------------------------------------------------------------


@dataclass
class Undo:
    """The state of the items a transaction touches, taken before it writes them."""

    items: list[tuple[Any, Any, Any, Any]] = field(default_factory=list)  # table, hash, range, Item | None
    stream_ends: dict[int, tuple[Any, int]] = field(default_factory=dict)  # id(shard): (shard, next seq)

    def remember(self, table: Any, hash_value: Any, range_value: Any) -> None:
        current = table.get_item(hash_value, range_value)
        self.items.append((table, hash_value, range_value, copy.deepcopy(current)))
        shard = table.stream_shard
        if shard is not None and id(shard) not in self.stream_ends:
            self.stream_ends[id(shard)] = (shard, shard.starting_sequence_number + len(shard.items))

    def rollback(self) -> None:
        for table, hash_value, range_value, saved in reversed(self.items):
            if range_value is not None:
                rows = table.items[hash_value]
                if saved is None:
                    rows.pop(range_value, None)
                    if not rows:
                        table.items.pop(hash_value, None)
                else:
                    rows[range_value] = saved
            elif saved is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = saved
        for shard, end in self.stream_ends.values():
            del shard.items[max(0, end - shard.starting_sequence_number) :]


def item_key(table: Any, op_type: str, op: dict[str, Any]) -> tuple[Any, Any]:
    """The (hash, range) DynamoType key of a transaction action's item."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    source = op["Item"] if op_type == "Put" else op["Key"]
    hash_value = DynamoType(source[table.hash_key_attr])
    range_value = DynamoType(source[table.range_key_attr]) if table.range_key_attr is not None else None
    return hash_value, range_value


def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto 5.2.5's DynamoDBBackend.transact_write_items with an item-level undo instead of
    whole-table copies (see the module docstring)."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo = Undo()
    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[Any, Any, Any]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            return_on_failure = op.get("ReturnValuesOnConditionCheckFailure")
            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            check_unicity(table_name, key)
            current = self.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = get_filter_expression(condition_expression, names, values)
                if not condition_op.expr(current):
                    if return_on_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)
            if op_type != "ConditionCheck":
                table = self.get_table(table_name)
                undo.remember(table, *item_key(table, op_type, op))
            if op_type == "Put":
                self.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            undo.rollback()
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))
        except Exception as e:  # moto records any other failure per action
            errors.append((type(e).__name__, str(e), original_item))
    if any(code is not None for code, _, _ in errors):
        undo.rollback()
        raise TransactionCanceledException(errors)


# --- stream records and iterators -----------------------------------------------------------------


def _created(record: Any) -> datetime | None:
    created = record.record.get("dynamodb", {}).get("ApproximateCreationDateTime")
    return created if isinstance(created, datetime) else None


def read_frontier(shard: Any, iterators: dict[str, Any]) -> int | None:
    """The lowest sequence number a live (not superseded) iterator of `shard` would read next."""
    positions = [
        int(it.sequence_number)
        for it in iterators.values()
        if it.stream_shard is shard and not getattr(it, SUPERSEDED, False)
    ]
    return min(positions) if positions else None


def trim_shard(
    shard: Any,
    iterators: dict[str, Any],
    *,
    keep: int | None = None,
    now: datetime | None = None,
) -> int:
    """Drop the records past retention or beyond `keep` (MAX_STREAM_RECORDS), none a live iterator has yet to read;
    returns how many went. Sequence numbers of the records kept do not change."""
    items = shard.items
    droppable = max(0, len(items) - (MAX_STREAM_RECORDS if keep is None else keep))
    if items:
        first = _created(items[0])
        if first is not None:
            current = now or datetime.now(first.tzinfo)
            cutoff = current - STREAM_RETENTION
            old = 0
            while old < len(items) and (created := _created(items[old])) is not None and created < cutoff:
                old += 1
            droppable = max(droppable, old)
    frontier = read_frontier(shard, iterators)
    if frontier is not None:
        droppable = min(droppable, max(0, frontier - shard.starting_sequence_number))
    if droppable <= 0:
        return 0
    del items[:droppable]
    shard.starting_sequence_number += droppable
    return droppable


def expire_iterators(iterators: dict[str, Any]) -> None:
    """Bound the iterators kept: superseded ones (already used by a GetRecords) go first, then
    the oldest live ones (AWS expires iterators after 15 minutes)."""
    superseded = [arn for arn, it in iterators.items() if getattr(it, SUPERSEDED, False)]
    for arn in superseded[: max(0, len(superseded) - MAX_SUPERSEDED_ITERATORS)]:
        iterators.pop(arn, None)
    live = [arn for arn, it in iterators.items() if not getattr(it, SUPERSEDED, False)]
    for arn in live[: max(0, len(live) - MAX_LIVE_ITERATORS)]:
        iterators.pop(arn, None)


def streams_backend_for(table: Any) -> Any:
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    return dynamodbstreams_backends[table.account_id][table.region_name]


def after_append(shard: Any) -> None:
    """Trim a shard that grew TRIM_SLACK past its bound (or whose oldest record expired)."""
    items = shard.items
    if len(items) > MAX_STREAM_RECORDS + TRIM_SLACK:
        trim_shard(shard, streams_backend_for(shard.table).shard_iterators)
        return
    if items:
        first = _created(items[0])
        if first is not None and first < datetime.now(first.tzinfo) - STREAM_RETENTION:
            trim_shard(shard, streams_backend_for(shard.table).shard_iterators)
