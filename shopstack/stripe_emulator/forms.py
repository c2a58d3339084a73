"""Stripe's form encoding: `metadata[order]=1`, `expand[0]=latest_charge`, `expand[]=x` into nested data,
and the coercions its parameters need."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from shopstack.stripe_emulator.errors import validation

Params = dict[str, Any]

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def split_key(key: str) -> list[str]:
    """`a[b][0]` -> ["a", "b", "0"]; `a[]` -> ["a", ""]."""
    match = _KEY.match(key)
    if not match:
        return [key]
    rest = match.group(2)
    return [match.group(1), *re.findall(r"\[([^\[\]]*)\]", rest)]


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        converted = {k: _listify(v) for k, v in value.items()}
        if converted and all(isinstance(k, int) for k in converted):
            return [converted[k] for k in sorted(converted)]
        return converted
    return value


def parse_pairs(pairs: Iterable[tuple[str, str]]) -> Params:
    """Nested params from form pairs; numeric and empty brackets make lists."""
    root: dict[Any, Any] = {}
    for key, value in pairs:
        parts = split_key(key)
        node = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            name: Any = part
            if part == "":
                name = len(node)
            elif part.isdigit() and index > 0:
                name = int(part)
            if last:
                node[name] = value
            else:
                child = node.get(name)
                if not isinstance(child, dict):
                    child = {}
                    node[name] = child
                node = child
    result = _listify(root)
    assert isinstance(result, dict)
    return result


def as_int(value: Any, param: str, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise validation(f"Invalid integer: {value}", param=param, code="parameter_invalid_integer")
    try:
        number = int(value)
    except ValueError:
        raise validation(f"Invalid integer: {value}", param=param, code="parameter_invalid_integer") from None
    if minimum is not None and number < minimum:
        raise validation(
            f"This value must be greater than or equal to {minimum}.",
            param=param,
            code="parameter_invalid_integer",
        )
    return number


def as_bool(value: Any, param: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise validation(f"Invalid boolean: {value}", param=param)


def as_str(value: Any, param: str) -> str:
    if not isinstance(value, str):
        raise validation(f"Invalid string: {value!r}", param=param)
    return value


def as_enum(value: Any, param: str, allowed: tuple[str, ...]) -> str:
    text = as_str(value, param)
    if text not in allowed:
        choices = ", ".join(allowed[:-1]) + f", or {allowed[-1]}" if len(allowed) > 1 else allowed[0]
        raise validation(f"Invalid {param}: must be one of {choices}", param=param)
    return text


def as_metadata(value: Any, param: str = "metadata") -> dict[str, str] | None:
    """A metadata update: `None` clears all keys (sent as `metadata=`), values `""` unset one key."""
    if value == "":
        return None
    if not isinstance(value, dict):
        raise validation("Invalid hash", param=param)
    for key, item in value.items():
        if not isinstance(item, str):
            raise validation("Invalid hash", param=f"{param}[{key}]")
        if len(key) > 40:
            raise validation("Metadata keys can have a maximum length of 40 characters.", param=f"{param}[{key}]")
        if len(item) > 500:
            raise validation("Metadata values can have a maximum length of 500 characters.", param=f"{param}[{key}]")
    return {str(k): str(v) for k, v in value.items()}


def merge_metadata(current: dict[str, str], update: dict[str, str] | None) -> dict[str, str]:
    if update is None:
        return {}
    merged = dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > 50:
        raise validation("You can have at most 50 metadata keys.", param="metadata")
    return merged


def expand_paths(params: Params) -> list[str]:
    raw = params.get("expand")
    if raw is None:
        return []
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and all(isinstance(p, str) for p in raw):
        return list(raw)
    raise validation("Invalid array", param="expand")


def check_known(params: Params, allowed: Iterable[str]) -> None:
    known = set(allowed) | {"expand"}
    for key in params:
        if key not in known:
            raise validation(f"Received unknown parameter: {key}", param=key, code="parameter_unknown")
