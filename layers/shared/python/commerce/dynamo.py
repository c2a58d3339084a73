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
