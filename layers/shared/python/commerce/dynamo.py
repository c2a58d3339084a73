"""PynamoDB helpers every service's adapters share."""

from __future__ import annotations

from typing import Any

from commerce.config import region, setting


def bind(table_setting: str, *models: Any) -> None:
    """Point PynamoDB models at the table a setting names, on first use rather than at import."""
    for model in models:
        if model.Meta.table_name is None:
            model.Meta.table_name = setting(table_setting)
            model.Meta.region = region()


def refused_by_condition(exc: Any) -> bool:
    """True when a cancelled transaction failed only on conditions (not throttling or conflicts)."""
    codes = {reason.code for reason in (getattr(exc, "cancellation_reasons", None) or []) if reason}
    return codes == {"ConditionalCheckFailed"}


def plain(value: Any) -> Any:
    """A PynamoDB attribute value (raw MapAttribute, list, dict) as plain Python data."""
    from pynamodb.attributes import MapAttribute

    if isinstance(value, MapAttribute):
        return {k: plain(v) for k, v in value.attribute_values.items()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def key_to_cursor(key: dict[str, Any] | None) -> dict[str, Any] | None:
    """A LastEvaluatedKey of string attributes (DynamoDB JSON) as plain JSON, for a list cursor."""
    return {name: next(iter(value.values())) for name, value in key.items()} if key else None


def key_from_cursor(key: dict[str, Any] | None) -> dict[str, Any] | None:
    """The inverse of `key_to_cursor`: an ExclusiveStartKey."""
    return {name: {"S": str(value)} for name, value in key.items()} if key else None
