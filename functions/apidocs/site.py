"""Where the apidocs function's static site lives: `generated/` inside this package, so the
function's asset carries it. `apidocs.build` writes it when the CDK app synthesizes; the handler
only reads it. A build output (gitignored), not a source."""

from __future__ import annotations

from pathlib import Path

SITE_DIR = Path(__file__).resolve().parent / "generated"
OPENAPI_JSON = "openapi.json"
DOCS_HTML = "docs.html"
