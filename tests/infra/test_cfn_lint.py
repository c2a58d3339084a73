"""cfn-lint on every synthesized template."""

from __future__ import annotations

import json
import subprocess
import sys

from infra.app import STACK_IDS
from tests.infra.conftest import Synthesized

IGNORED = {
    "W3005": "CDK adds DependsOn on a function's role and policy so the permissions exist before the "
    "function; the GetAtt dependency it duplicates is harmless.",
}


def test_templates_pass_cfn_lint(synthesized: Synthesized) -> None:
    templates = [str(synthesized.outdir / f"{stack}.template.json") for stack in STACK_IDS]
    command = [sys.executable, "-m", "cfnlint", "--format", "json", "--ignore-checks", *IGNORED, "--", *templates]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    findings = json.loads(result.stdout or "[]")
    problems = [
        f"{f['Filename']}:{f['Location']['Start']['LineNumber']} {f['Rule']['Id']} {f['Message']}"
        for f in findings
        if f["Level"] in {"Error", "Warning"}
    ]
    assert not problems, "\n".join(problems)
    assert result.returncode == 0, result.stderr
