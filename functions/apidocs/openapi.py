"""One OpenAPI document for the whole API, merged from every service's Powertools resolver: the
paths each handler declares, with their request and response models. Pure: no I/O."""

from __future__ import annotations

import importlib
import json
from functools import cache
from typing import Any

SERVICES = ("inventory", "checkout", "orders", "customers")
TITLE = "shopstack API"
VERSION = "1"


def merge(documents: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {
        "openapi": documents[0]["openapi"] if documents else "3.1.0",
        "info": {"title": TITLE, "version": VERSION},
        "paths": {},
        "components": {"schemas": {}},
    }
    for document in documents:
        for path, item in document.get("paths", {}).items():
            merged["paths"].setdefault(path, {}).update(item)
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            existing = merged["components"]["schemas"].get(name)
            if existing is not None and existing != schema:
                raise ValueError(f"two services define schema {name} differently")
            merged["components"]["schemas"][name] = schema
    merged["paths"] = dict(sorted(merged["paths"].items()))
    return merged


@cache
def document() -> dict[str, Any]:
    apps = [importlib.import_module(f"{service}.entrypoints.api").app for service in SERVICES]
    return merge([json.loads(app.get_openapi_json_schema(title=TITLE, version=VERSION)) for app in apps])
