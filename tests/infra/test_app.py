"""The app's entry points: context loading, --local synthesis, determinism, the route table."""

from __future__ import annotations

import hashlib
import importlib
import subprocess
import sys
from pathlib import Path

from infra import routes
from infra.app import STACK_IDS, build_app
from infra.settings import REPO_ROOT, load_cdk_json_context
from tests.infra.conftest import Synthesized


def _digest(outdir: Path) -> dict[str, str]:
    return {stack: hashlib.sha256((outdir / f"{stack}.template.json").read_bytes()).hexdigest() for stack in STACK_IDS}


def test_context_comes_from_cdk_json(synthesized: Synthesized) -> None:
    context = load_cdk_json_context()
    assert context["stage"] == "dev"
    assert synthesized.app.node.try_get_context("stage") == context["stage"]
    assert synthesized.app.node.try_get_context("aws:cdk:bundling-stacks") == []


def test_explicit_context_overrides_cdk_json() -> None:
    app = build_app(local=True, context={"stage": "qa"})
    assert app.node.try_get_context("stage") == "qa"


def test_local_synth_is_deterministic(synthesized: Synthesized, tmp_path: Path) -> None:
    """`python -m infra.app --outdir DIR --local`, as the local cloud runs it, gives the same templates."""
    result = subprocess.run(
        [sys.executable, "-m", "infra.app", "--outdir", str(tmp_path), "--local"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert _digest(tmp_path) == _digest(synthesized.outdir)


def test_route_table_is_plain_data() -> None:
    module = importlib.reload(routes)
    assert "aws_cdk" not in vars(module)
    assert all(len(route) == 4 for route in module.ROUTES)
    assert len({(r.method, r.path) for r in module.ROUTES}) == len(module.ROUTES)
    assert module.functions_used() == [
        "InventoryApi",
        "ApiDocs",
        "CheckoutApi",
        "OrdersApi",
        "CustomersApi",
        "AnalyticsApi",
        "IntegrationsApi",
    ]
