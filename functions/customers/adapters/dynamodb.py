"""Profiles and staff notes in the Customers table, through PynamoDB (the record of an erasure
is commerce.erasures').

Item layout (`pk` = `CUSTOMER#<customer id>`):

- `PROFILE`: the profile; its lowercased `email` feeds the `byEmail` index
- `INTERACTION#<ulid>`: a contact staff logged"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import BooleanAttribute, ListAttribute, MapAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from commerce.dynamo import bind, plain, retrying
from customers.domain.profile import Address, Channel, Interaction, Profile

PROFILE, INTERACTION = "PROFILE", "INTERACTION#"


def _pk(customer_id: str) -> str:
    return f"CUSTOMER#{customer_id}"


class ByEmail(GlobalSecondaryIndex["ProfileRecord"]):
    class Meta:
        index_name = "byEmail"
        projection = AllProjection()

    email = UnicodeAttribute(hash_key=True)


class ProfileRecord(Model):
    class Meta:
        table_name: str | None = None
        region: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    customer_id = UnicodeAttribute(attr_name="customerId")
    email = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    addresses = ListAttribute[Any](of=MapAttribute, default=list)
    marketing_opt_in = BooleanAttribute(attr_name="marketingOptIn", default=False)
    created_at = UnicodeAttribute(attr_name="createdAt")
    updated_at = UnicodeAttribute(attr_name="updatedAt")
    registered_published = BooleanAttribute(attr_name="registeredPublished", default=False)
    by_email = ByEmail()


class InteractionRecord(Model):
    class Meta:
        table_name: str | None = None
        region: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    interaction_id = UnicodeAttribute(attr_name="interactionId")
    customer_id = UnicodeAttribute(attr_name="customerId")
    channel = UnicodeAttribute()
    summary = UnicodeAttribute()
    created_at = UnicodeAttribute(attr_name="createdAt")
    staff = MapAttribute[str, Any](default=dict)


class AnyRecord(Model):
    """Any item of the table, by key: for deleting a customer's partition."""

    class Meta:
        table_name: str | None = None
        region: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


def _profile(record: ProfileRecord) -> Profile:
    return Profile(
        customer_id=record.customer_id,
        email=record.email,
        created_at=record.created_at,
        updated_at=record.updated_at,
        name=record.name,
        phone=record.phone,
        addresses=tuple(Address.from_json(a) for a in plain(record.addresses or [])),
        marketing_opt_in=bool(record.marketing_opt_in),
        registered_published=bool(record.registered_published),
    )


def _interaction(record: InteractionRecord) -> Interaction:
    return Interaction(
        interaction_id=record.interaction_id,
        customer_id=record.customer_id,
        channel=Channel(record.channel),
        summary=record.summary,
        at=record.created_at,
        staff=plain(record.staff or {}),
    )


def _conditional_failure(exc: PutError | UpdateError) -> bool:
    return exc.cause_response_code == "ConditionalCheckFailedException"


class DynamoProfileStore:
    """The `ProfileStore` port on DynamoDB."""

    def __init__(self) -> None:
        bind("CUSTOMERS_TABLE", ProfileRecord, InteractionRecord, AnyRecord)

    def get(self, customer_id: str) -> Profile | None:
        try:
            return _profile(ProfileRecord.get(_pk(customer_id), PROFILE, consistent_read=True))
        except ProfileRecord.DoesNotExist:
            return None

    def create(self, profile: Profile) -> bool:
        record = ProfileRecord(
            _pk(profile.customer_id),
            PROFILE,
            customer_id=profile.customer_id,
            email=profile.email,
            created_at=profile.created_at,
            updated_at=profile.updated_at,
            addresses=[],
            marketing_opt_in=False,
            registered_published=False,
        )
        try:
            retrying(lambda: record.save(condition=ProfileRecord.pk.does_not_exist()), what="profile write")
        except PutError as exc:
            if _conditional_failure(exc):
                return False
            raise
        return True

    def save(self, profile: Profile) -> None:
        actions: list[Any] = [
            ProfileRecord.name.set(profile.name) if profile.name is not None else ProfileRecord.name.remove(),
            ProfileRecord.phone.set(profile.phone) if profile.phone is not None else ProfileRecord.phone.remove(),
            ProfileRecord.addresses.set([a.to_json() for a in profile.addresses]),
            ProfileRecord.marketing_opt_in.set(profile.marketing_opt_in),
            ProfileRecord.updated_at.set(profile.updated_at),
            ProfileRecord.email.set(profile.email) if profile.email else ProfileRecord.email.remove(),
        ]
        try:
            retrying(
                lambda: ProfileRecord(_pk(profile.customer_id), PROFILE).update(
                    actions=actions, condition=ProfileRecord.pk.exists()
                ),
                what="profile write",
            )
        except UpdateError as exc:
            if _conditional_failure(exc):
                from commerce.errors import NotFound

                raise NotFound("No such customer.", code="customer_not_found") from exc
            raise

    def mark_registered(self, customer_id: str) -> None:
        try:
            retrying(
                lambda: ProfileRecord(_pk(customer_id), PROFILE).update(
                    actions=[ProfileRecord.registered_published.set(True)], condition=ProfileRecord.pk.exists()
                ),
                what="profile write",
            )
        except UpdateError as exc:
            if not _conditional_failure(exc):
                raise

    def find_by_email(self, email: str) -> list[Profile]:
        return [_profile(r) for r in ProfileRecord.by_email.query(email) if r.sk == PROFILE]

    def add_interaction(self, interaction: Interaction) -> None:
        record = InteractionRecord(
            _pk(interaction.customer_id),
            INTERACTION + interaction.interaction_id,
            interaction_id=interaction.interaction_id,
            customer_id=interaction.customer_id,
            channel=interaction.channel.value,
            summary=interaction.summary,
            created_at=interaction.at,
            staff=dict(interaction.staff),
        )
        retrying(lambda: record.save(condition=InteractionRecord.pk.does_not_exist()), what="interaction write")

    def interactions(self, customer_id: str) -> list[Interaction]:
        records = InteractionRecord.query(
            _pk(customer_id), InteractionRecord.sk.startswith(INTERACTION), consistent_read=True
        )
        return [_interaction(r) for r in records]

    def delete_all(self, customer_id: str) -> None:
        """Every item of the customer's partition."""
        records = list(AnyRecord.query(_pk(customer_id), consistent_read=True))

        def delete() -> None:
            with AnyRecord.batch_write() as batch:
                for record in records:
                    batch.delete(record)

        retrying(delete, what="erasure write")
