"""The architecture rules (.importlinter, run by `make lint`) hold on the tree, and each one bites:
a copy of the tree's Python sources with one forbidden import added fails `lint-imports`, naming the
rule and the import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
SOURCES = ("functions", "layers", "shopstack", "infra", "bench", "tests")
CONFIG = ".importlinter"


def lint_imports(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`make lint`'s command line, in `root`."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(["functions", "layers/shared/python", "."]),
        "COLUMNS": "400",  # one line per contract, whatever the terminal
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [str(LINT_IMPORTS), *extra], cwd=root, env=env, capture_output=True, text=True, check=False, timeout=120
    )


def python_sources(folder: str, names: list[str]) -> set[str]:
    """copytree's ignore: keeps folders and Python files only, without caches and node_modules."""
    return {
        name
        for name in names
        if name in {"__pycache__", "node_modules", "generated"}
        or (not Path(folder, name).is_dir() and not name.endswith(".py"))
    }


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for source in SOURCES:
        shutil.copytree(ROOT / source, tmp_path / source, ignore=python_sources)
    shutil.copy2(ROOT / CONFIG, tmp_path / CONFIG)
    return tmp_path


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


VIOLATIONS = [
    pytest.param(
        "functions/orders/domain/_scratch_violation.py",
        "import boto3\n",
        "Domain packages are pure",
        "orders.domain is not allowed to import boto3",
        id="domain-imports-boto3",
    ),
    pytest.param(
        "functions/inventory/domain/_scratch_violation.py",
        "from commerce.eventbridge import EventBridgePublisher\n",
        "Domain packages are pure",
        "inventory.domain is not allowed to import boto3",
        id="domain-reaches-boto3-through-commerce",
    ),
    pytest.param(
        "functions/checkout/_scratch_violation.py",
        "from orders import service\n",
        "Services never import each other",
        "checkout is not allowed to import orders",
        id="service-imports-service",
    ),
    pytest.param(
        "layers/shared/python/commerce/_scratch_violation.py",
        "from shopstack import harness\n",
        "Deployed code (functions and the commerce layer) never imports tooling",
        "commerce is not allowed to import shopstack",
        id="layer-imports-tooling",
    ),
    pytest.param(
        "shopstack/_scratch_violation.py",
        "from orders.entrypoints import api\n",
        "Tooling and the CDK app never import a handler module",
        "shopstack is not allowed to import orders.entrypoints",
        id="tooling-imports-handler",
    ),
    pytest.param(
        "functions/apidocs/entrypoints/_scratch_violation.py",
        "from apidocs.build import document\n",
        "The apidocs handler serves the built document",
        "apidocs.entrypoints is not allowed to import apidocs.build",
        id="docs-handler-imports-build",
    ),
]


@pytest.mark.parametrize(("path", "source", "contract", "finding"), VIOLATIONS)
def test_a_forbidden_import_breaks_its_rule(tree: Path, path: str, source: str, contract: str, finding: str) -> None:
    (tree / path).write_text(source)
    result = lint_imports(tree, "--no-cache")
    assert result.returncode != 0
    broken = [line for line in result.stdout.splitlines() if " BROKEN" in line]
    assert len(broken) == 1 and broken[0].startswith(contract), result.stdout
    assert finding in result.stdout
    assert "_scratch_violation" in result.stdout
