"""cfn-lint on every synthesized template."""

from __future__ import annotations

from cfnlint.api import ManualArgs, lint_file

from infra.app import STACK_IDS
from tests.infra.conftest import Synthesized

IGNORED = {
    "W3005": "CDK adds DependsOn on a function's role and policy so the permissions exist before the "
    "function; the GetAtt dependency it duplicates is harmless.",
}


def test_templates_pass_cfn_lint(synthesized: Synthesized) -> None:
    config = ManualArgs(ignore_checks=sorted(IGNORED), regions=["us-east-1"])
    problems = [
        f"{stack}:{match.linenumber} {match.rule.id} {match.message}"
        for stack in STACK_IDS
        for match in lint_file(synthesized.outdir / f"{stack}.template.json", config=config)
        if match.rule.severity in {"error", "warning"}
    ]
    assert not problems, "\n".join(problems)
