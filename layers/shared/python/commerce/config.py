"""Settings come from the function's environment, read when first needed, never at import."""

from __future__ import annotations

import os

from commerce.errors import ConfigurationError


def setting(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or value == "":
        raise ConfigurationError(f"setting {name} is not configured")
    return value


def int_setting(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
