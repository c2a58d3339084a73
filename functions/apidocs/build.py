"""Builds the apidocs function's static site when the CDK app synthesizes: the whole API's OpenAPI
document, merged (`apidocs.openapi.merge`) from every service's Powertools resolver, as
`openapi.json`, and Swagger UI over it (its assets inline: no CDN) as `docs.html`, written into
`apidocs.site.SITE_DIR` before the function's asset is staged. The deployed handler only reads
those files: it imports no other service, and its asset holds the apidocs package alone.

    python -m apidocs.build [--out DIR]     (functions/ and the shared layer on PYTHONPATH)

The CDK app runs it in a subprocess (infra never imports a handler module). The document names the
catalog currency from CATALOG_CURRENCY, which the CDK app sets from the pricing rules. This module
is the one place that imports every service's API; the import contracts forbid the handler from
importing it. Files already current are left untouched, and a changed file is replaced whole, so
a synth running beside this one never stages half a file."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from analytics.entrypoints import api as analytics_api
from apidocs.openapi import TITLE, VERSION, merge
from apidocs.site import DOCS_HTML, OPENAPI_JSON, SITE_DIR
from checkout.entrypoints import api as checkout_api
from commerce.jsonutil import dumps
from customers.entrypoints import api as customers_api
from integrations.entrypoints import api as integrations_api
from inventory.entrypoints import api as inventory_api
from orders.entrypoints import api as orders_api

APPS = (inventory_api.app, checkout_api.app, orders_api.app, customers_api.app, analytics_api.app, integrations_api.app)
"""Every service's resolver, in the order their paths are merged."""

SCRATCH = "__pycache__"
"""Where a file is written before it replaces the old one: inside the output folder (one file
system, so the rename is atomic) under a name no asset, git or the local cloud's synth hash holds."""


@cache
def document() -> dict[str, Any]:
    """The merged OpenAPI document of every service (built once per process)."""
    return merge([json.loads(app.get_openapi_json_schema(title=TITLE, version=VERSION)) for app in APPS])


def swagger_page(spec: str) -> str:
    """Swagger UI over `spec` (the document's JSON), its script and style inline."""
    from aws_lambda_powertools.event_handler.openapi import swagger_ui
    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

    assets = Path(swagger_ui.__file__).parent
    return generate_swagger_html(
        spec,
        (assets / "swagger-ui-bundle.min.js").read_text(),
        (assets / "swagger-ui.min.css").read_text(),
        "",
        None,
    )


def site() -> dict[str, str]:
    """The site's files by name: what `GET /openapi.json` and `GET /docs` answer."""
    spec = dumps(document())
    return {OPENAPI_JSON: spec, DOCS_HTML: swagger_page(spec)}


def write_site(out: Path, files: Mapping[str, str]) -> list[str]:
    """Writes `files` into `out`; the names of those that changed."""
    out.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, text in files.items():
        target, data = out / name, text.encode("utf-8")
        if target.is_file() and target.read_bytes() == data:
            continue
        scratch = out / SCRATCH
        scratch.mkdir(exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=scratch, prefix=f"{name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.chmod(temporary, 0o644)  # readable by Lambda's runtime user, as every file of the asset
            os.replace(temporary, target)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        changed.append(name)
    with contextlib.suppress(OSError):  # absent, or another build is writing there
        (out / SCRATCH).rmdir()
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apidocs.build", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SITE_DIR, help=f"output folder (default {SITE_DIR})")
    args = parser.parse_args(argv)
    changed = write_site(args.out, site())
    print(f"{args.out}: {', '.join(changed) if changed else 'up to date'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
