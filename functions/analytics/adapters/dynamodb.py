"""Daily event counters in the Analytics table: `DAY#<date>` / `EVENT#<name>` with a count,
and `SEEN#<event id>` markers written in the same transaction so a redelivered event counts once."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model

from analytics.domain.counters import Tally
from commerce.dynamo import bind, refused_by_condition, retrying, transaction


class AnalyticsRecord(Model):
    class Meta:
        table_name: str | None = None
        region: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    count = NumberAttribute(default=0)  # type: ignore[assignment]


class DynamoCounters:
    def __init__(self) -> None:
        bind("ANALYTICS_TABLE", AnalyticsRecord)

    def record(self, tally: Tally) -> bool:
        """Count the event once; False when it was already counted."""

        def count() -> None:
            with transaction() as tx:
                tx.save(
                    AnalyticsRecord(f"SEEN#{tally.event_id}", "SEEN"),
                    condition=AnalyticsRecord.pk.does_not_exist(),
                )
                tx.update(
                    AnalyticsRecord(f"DAY#{tally.day}", f"EVENT#{tally.name}"),
                    actions=[AnalyticsRecord.count.add(1)],
                )

        try:
            retrying(count, what="analytics counter")
        except TransactWriteError as exc:
            if refused_by_condition(exc):
                return False
            raise
        return True

    def count(self, day: str, name: str) -> int:
        try:
            return int(AnalyticsRecord.get(f"DAY#{day}", f"EVENT#{name}").count)
        except AnalyticsRecord.DoesNotExist:
            return 0
