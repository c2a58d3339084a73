"""The CDK app built and synthesized once per session, with asset bundling skipped."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from infra.app import STACK_IDS, build_app
from infra.nag import render_reference


@dataclass(frozen=True)
class Synthesized:
    """The app, its cloud assembly directory and every stack's template."""

    app: cdk.App
    outdir: Path
    raw: dict[str, dict[str, Any]]
    templates: dict[str, Template]

    def resources(self, stack: str, kind: str) -> dict[str, dict[str, Any]]:
        """Resources of one CloudFormation type in a stack, by logical id."""
        return {key: res for key, res in self.raw[stack]["Resources"].items() if res["Type"] == kind}


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = build_app(outdir=str(outdir), local=True)
    assembly = app.synth()
    raw = {stack_id: assembly.get_stack_artifact(stack_id).template for stack_id in STACK_IDS}
    templates = {stack_id: Template.from_json(template) for stack_id, template in raw.items()}
    return Synthesized(app=app, outdir=outdir, raw=raw, templates=templates)


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def render(value: Any) -> str:
    """A CloudFormation value as one string, references as `<Logical.Attr>` / `<AWS::Region>` (the
    way cdk-nag prints them), to compare ARNs built from another stack's resource names."""
    try:
        return render_reference(value)
    except ValueError:
        return json.dumps(value, sort_keys=True)
