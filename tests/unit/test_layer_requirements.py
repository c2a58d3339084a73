"""The shared layer installs what the functions import when they run on Lambda."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


LAYER = _pins(ROOT / "layers/shared/requirements.txt")


def test_the_tracer_every_function_runs_has_its_x_ray_sdk_in_the_layer() -> None:
    """Active tracing makes Powertools' Tracer import aws_xray_sdk on the first invocation: without
    it in the layer every function would fail on AWS (locally tracing is off)."""
    extra = [Requirement(r) for r in importlib.metadata.requires("aws-lambda-powertools") or []]
    tracer = {r.name.lower() for r in extra if r.marker and r.marker.evaluate({"extra": "tracer"})}
    assert tracer and tracer <= set(LAYER), tracer - set(LAYER)


def test_every_layer_package_brings_its_dependencies_at_the_projects_versions() -> None:
    locked = _pins(ROOT / "requirements.lock")
    for name, version in LAYER.items():
        assert locked.get(name) == version, f"{name}=={version} but the project resolves {locked.get(name)}"
        for raw in importlib.metadata.requires(name) or []:
            needed = Requirement(raw)
            if needed.marker and not needed.marker.evaluate({"extra": ""}):
                continue
            assert needed.name.lower().replace("_", "-") in LAYER, f"{name} needs {needed.name}"
