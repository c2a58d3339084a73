"""Erased accounts: the one record every service honours.

Erasure deletes the customer's Cognito user, but an ID token it issued stays valid until it
expires (an hour by default), and neither the API Gateway authorizer nor a JWT check can know
the user is gone. So the customers service records the erasure here first (the Erasures table
of the shared stack, one item per Cognito sub: `customerId`, `erasedAt`, nothing personal), and
every function behind the API refuses a signed-in caller whose sub it finds (401
`account_erased`). This module owns the table's items; nothing else reads or writes them.

A sub is checked at most once per request, with a strongly consistent read (an erasure is seen
by the next request). A found erasure is remembered for the life of the process: it is final.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, Protocol

from commerce.errors import Unauthorized

TABLE_SETTING = "ERASURES_TABLE"


class ErasureLog(Protocol):
    def erased_at(self, customer_id: str) -> str | None: ...
    def record(self, customer_id: str, at: str) -> str:
        """Record the erasure once; the time of the first record, however often it is retried."""
        ...


class DynamoErasureLog:
    def __init__(self) -> None:
        from pynamodb.attributes import UnicodeAttribute
        from pynamodb.models import Model

        from commerce.dynamo import bind

        class ErasureRecord(Model):
            class Meta:
                table_name: str | None = None
                region: str | None = None

            customer_id = UnicodeAttribute(hash_key=True, attr_name="customerId")
            erased_at = UnicodeAttribute(attr_name="erasedAt")

        bind(TABLE_SETTING, ErasureRecord)
        self._model = ErasureRecord

    def erased_at(self, customer_id: str) -> str | None:
        from commerce.dynamo import retrying

        try:
            found = retrying(lambda: self._model.get(customer_id, consistent_read=True), what="erasure read")
        except self._model.DoesNotExist:
            return None
        return str(found.erased_at)

    def record(self, customer_id: str, at: str) -> str:
        from pynamodb.exceptions import PutError

        from commerce.dynamo import retrying

        item = self._model(customer_id, erased_at=at)
        try:
            retrying(lambda: item.save(condition=self._model.customer_id.does_not_exist()), what="erasure write")
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
            return self.erased_at(customer_id) or at
        return at


@cache
def log() -> ErasureLog:
    """The process's erasure log (unit tests replace it with a fake)."""
    return DynamoErasureLog()


_erased: set[str] = set()
_last_active: tuple[Mapping[str, Any], str] | None = None
"""The request (the event object itself) and sub last found active: a request checks once."""


def refuse_erased(customer_id: str, event: Mapping[str, Any]) -> None:
    """Raise 401 `account_erased` when `customer_id`'s account has been erased."""
    global _last_active
    if _last_active is not None and _last_active[0] is event and _last_active[1] == customer_id:
        return
    if customer_id in _erased or log().erased_at(customer_id) is not None:
        _erased.add(customer_id)
        raise Unauthorized(
            "This account has been erased; sign up again to shop with an account.", code="account_erased"
        )
    _last_active = (event, customer_id)
