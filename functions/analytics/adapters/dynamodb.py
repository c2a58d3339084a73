"""Daily event counters in the Analytics table: `DAY#<date>` / `EVENT#<name>` with a count,
and `SEEN#<event id>` markers written in the same transaction so a redelivered event counts once."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from analytics.domain.counters import Tally
from commerce.config import region, setting


class AnalyticsRecord(Model):
    class Meta:
        table_name: str | None = None
        region: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    count = NumberAttribute(default=0)  # type: ignore[assignment]


def _bind() -> None:
    if AnalyticsRecord.Meta.table_name is None:
        AnalyticsRecord.Meta.table_name = setting("ANALYTICS_TABLE")
        AnalyticsRecord.Meta.region = region()


class DynamoCounters:
    def __init__(self) -> None:
        _bind()

    def record(self, tally: Tally) -> bool:
        """Count the event once; False when it was already counted."""
        try:
            with TransactWrite(connection=Connection(region=region())) as tx:
                tx.save(
                    AnalyticsRecord(f"SEEN#{tally.event_id}", "SEEN"),
                    condition=AnalyticsRecord.pk.does_not_exist(),
                )
                tx.update(
                    AnalyticsRecord(f"DAY#{tally.day}", f"EVENT#{tally.name}"),
                    actions=[AnalyticsRecord.count.add(1)],
                )
        except TransactWriteError as exc:
            reasons = [r.code if r else None for r in (exc.cancellation_reasons or [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return False
            raise
        return True

    def count(self, day: str, name: str) -> int:
        try:
            return int(AnalyticsRecord.get(f"DAY#{day}", f"EVENT#{name}").count)
        except AnalyticsRecord.DoesNotExist:
            return 0
