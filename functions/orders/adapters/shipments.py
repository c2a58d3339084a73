"""Shipments of an order in the Orders table (`ORDER#<id>` / `SHIPMENT#<shipment id>`, model and
keys in `commerce.records.fulfilment`, their owner): the orders service's reads and writes of
them as domain `Shipment`s. A new shipment is written in the same transaction as the order's
move it makes (`commerce.ledger.apply`); its tracking events change by one conditional write."""

from __future__ import annotations

from pynamodb.exceptions import UpdateError
from pynamodb.transactions import TransactWrite

from commerce import ledger
from commerce.dynamo import plain, retrying
from commerce.orders import Change
from commerce.records import fulfilment
from commerce.records.fulfilment import SHIPMENT_PREFIX, ShipmentRecord
from orders.domain.model import Shipment, TrackingEvent, TrackingStatus


def shipment_of(record: ShipmentRecord) -> Shipment:
    return Shipment(
        shipment_id=record.shipment_id,
        order_id=record.order_id,
        carrier=record.carrier,
        tracking_number=record.tracking_number,
        status=TrackingStatus(record.status),
        created_at=record.created_at,
        events=tuple(
            TrackingEvent(TrackingStatus(e["status"]), str(e["at"]), e.get("location")) for e in plain(record.events)
        ),
    )


class DynamoShipments:
    """The shipment part of the `OrderStore` port."""

    def __init__(self) -> None:
        fulfilment.bind_tables()
        ledger.bind_tables()

    def shipments(self, order_id: str) -> list[Shipment]:
        records = ShipmentRecord.query(
            fulfilment.partition(order_id), ShipmentRecord.sk.startswith(SHIPMENT_PREFIX), consistent_read=True
        )
        return [shipment_of(r) for r in records]

    def shipment(self, shipment_id: str) -> Shipment | None:
        found = list(ShipmentRecord.by_shipment.query(shipment_id, limit=1))
        if not found:
            return None
        try:
            return shipment_of(ShipmentRecord.get(found[0].pk, found[0].sk, consistent_read=True))
        except ShipmentRecord.DoesNotExist:
            return None

    def shipment_by_tracking(self, tracking_number: str) -> Shipment | None:
        found = list(ShipmentRecord.by_tracking.query(tracking_number, limit=1))
        return self.shipment(found[0].shipment_id) if found else None

    def add_shipment(self, change: Change, shipment: Shipment) -> bool:
        """The shipment and the order's move (to SHIPPED with the first one), in one transaction."""

        def save(tx: TransactWrite) -> None:
            tx.save(
                ShipmentRecord(
                    *fulfilment.shipment_key(shipment.order_id, shipment.shipment_id),
                    shipment_id=shipment.shipment_id,
                    order_id=shipment.order_id,
                    carrier=shipment.carrier,
                    tracking_number=shipment.tracking_number,
                    status=shipment.status.value,
                    created_at=shipment.created_at,
                    events=[e.to_json() for e in shipment.events],
                    version=0,
                ),
                condition=ShipmentRecord.pk.does_not_exist(),
            )

        return ledger.apply(change, extra=save)

    def save_shipment(self, before: Shipment, after: Shipment) -> bool:
        """The shipment's new status and events, if its events are still those read."""
        try:
            retrying(
                lambda: ShipmentRecord(*fulfilment.shipment_key(before.order_id, before.shipment_id)).update(
                    actions=[
                        ShipmentRecord.status.set(after.status.value),
                        ShipmentRecord.events.set([e.to_json() for e in after.events]),
                        ShipmentRecord.version.add(1),
                    ],
                    condition=ShipmentRecord.events == [e.to_json() for e in before.events],
                ),
                what="shipment write",
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True
