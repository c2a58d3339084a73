"""Synthesize the CDK app (cached by a hash of its inputs) and deploy it to moto's CloudFormation."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopstack.localcloud.lambda_pool import REPO_ROOT

BOOTSTRAP_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
BOOTSTRAP_VERSION = "30"
HASH_INPUTS = ("infra", "cdk.json", "functions", "layers/shared")
SKIPPED_PARTS = {"__pycache__", "node_modules", "cdk.out", ".pytest_cache", ".mypy_cache", "generated"}
"""`generated/`: build outputs the synth itself writes from the other inputs (functions/apidocs/generated/)."""
KEPT_SYNTHS = 3
STUB_HANDLER = b"def handler(event, context):\n    raise RuntimeError('served by the local worker pool')\n"


class DeployError(RuntimeError):
    """A stack did not reach CREATE_COMPLETE, or synth failed."""


@dataclass(frozen=True)
class StackArtifact:
    """One CloudFormation stack of a cloud assembly."""

    artifact_id: str
    stack_name: str
    template_file: Path
    dependencies: tuple[str, ...]

    def template(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.template_file.read_text())
        return document


# --- synth, cached -------------------------------------------------------------------------------


def _input_files(root: Path) -> Iterator[Path]:
    for name in HASH_INPUTS:
        path = root / name
        if path.is_file():
            yield path
        elif path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.is_file() and not SKIPPED_PARTS.intersection(file.parts) and file.suffix != ".pyc":
                    yield file


def input_hash(root: Path = REPO_ROOT) -> str:
    """A hash of everything that changes the synthesized template."""
    digest = hashlib.sha256()
    for file in _input_files(root):
        digest.update(str(file.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(file.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:20]


def synth_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "CDK_DISABLE_CLI_TELEMETRY": "true",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
        }
    )
    return env


def synth(root: Path = REPO_ROOT, *, cache_dir: Path | None = None, python: str = sys.executable) -> Path:
    """The cloud assembly of the CDK app: reused when its inputs are unchanged, else synthesized."""
    cache = cache_dir or root / ".shopstack" / "cdk.out"
    target = cache / input_hash(root)
    if (target / "manifest.json").is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="synth-", dir=cache))
    command = [python, "-m", "infra.app", "--outdir", str(scratch), "--local"]
    result = subprocess.run(command, cwd=root, env=synth_env(), capture_output=True, text=True, check=False)
    if result.returncode != 0 or not (scratch / "manifest.json").is_file():
        shutil.rmtree(scratch, ignore_errors=True)
        raise DeployError(f"synth failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    try:
        scratch.rename(target)
    except OSError:  # another process (a parallel test worker) synthesized the same inputs first
        shutil.rmtree(scratch, ignore_errors=True)
    _prune(cache, keep=target)
    return target


def _prune(cache: Path, *, keep: Path) -> None:
    synths = sorted((p for p in cache.iterdir() if p.is_dir() and p != keep), key=lambda p: p.stat().st_mtime)
    for old in synths[: max(0, len(synths) - (KEPT_SYNTHS - 1))]:
        shutil.rmtree(old, ignore_errors=True)


# --- the cloud assembly --------------------------------------------------------------------------


def read_stacks(assembly: Path) -> list[StackArtifact]:
    """The assembly's stacks, each after the stacks it depends on."""
    manifest = json.loads((assembly / "manifest.json").read_text())
    artifacts: dict[str, Any] = manifest.get("artifacts", {})
    stacks = {
        artifact_id: StackArtifact(
            artifact_id=artifact_id,
            stack_name=artifact.get("properties", {}).get("stackName", artifact_id),
            template_file=assembly / artifact["properties"]["templateFile"],
            dependencies=tuple(d for d in artifact.get("dependencies", []) if d in artifacts),
        )
        for artifact_id, artifact in artifacts.items()
        if artifact.get("type") == "aws:cloudformation:stack"
    }
    return _dependency_order(stacks)


def _dependency_order(stacks: dict[str, StackArtifact]) -> list[StackArtifact]:
    ordered: list[StackArtifact] = []
    visiting: set[str] = set()

    def visit(artifact_id: str) -> None:
        if artifact_id not in stacks or stacks[artifact_id] in ordered:
            return
        if artifact_id in visiting:
            raise DeployError(f"stack dependency cycle through {artifact_id}")
        visiting.add(artifact_id)
        for dependency in stacks[artifact_id].dependencies:
            visit(dependency)
        ordered.append(stacks[artifact_id])

    for artifact_id in stacks:
        visit(artifact_id)
    return ordered


def asset_directories(assembly: Path) -> dict[str, Path]:
    """Each zip asset's folder by its S3 object key (`<hash>.zip`), from the `*.assets.json`
    manifests: what a function's or layer's `Code.S3Key` holds on AWS. Assets whose folder is
    missing are left out (their functions then fail to import, as an empty zip would)."""
    found: dict[str, Path] = {}
    for manifest in sorted(assembly.glob("*.assets.json")):
        document = json.loads(manifest.read_text())
        for entry in document.get("files", {}).values():
            source = entry.get("source", {})
            if source.get("packaging") != "zip" or not source.get("path"):
                continue
            folder = Path(source["path"])
            folder = folder if folder.is_absolute() else (assembly / folder).absolute()
            if not folder.is_dir():
                continue
            for destination in entry.get("destinations", {}).values():
                if destination.get("objectKey"):
                    found[str(destination["objectKey"])] = folder
    return found


def asset_locations(template: dict[str, Any]) -> Iterator[tuple[Any, str]]:
    """(bucket expression, key) of every Lambda code and layer asset in a template."""
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        code = properties.get("Code") or properties.get("Content") or {}
        if isinstance(code, dict) and "S3Key" in code and isinstance(code["S3Key"], str):
            yield code.get("S3Bucket"), code["S3Key"]


def resolve_bucket(expression: Any, account_id: str, region: str) -> str:
    if isinstance(expression, str):
        return expression
    if isinstance(expression, dict) and isinstance(expression.get("Fn::Sub"), str):
        return str(expression["Fn::Sub"]).replace("${AWS::AccountId}", account_id).replace("${AWS::Region}", region)
    raise DeployError(f"cannot resolve asset bucket {expression!r}")


def stub_zip() -> bytes:
    """Lambda code moto accepts; workers import the real code from the source folders."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", STUB_HANDLER)
    return buffer.getvalue()


# --- deploy --------------------------------------------------------------------------------------


@dataclass
class Deployer:
    """Creates stacks through boto3 CloudFormation against the local cloud."""

    endpoint_url: str
    region: str
    account_id: str

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def bootstrap(self, templates: Iterable[dict[str, Any]]) -> None:
        """What `cdk bootstrap` leaves behind: the version parameter and the assets bucket."""
        self.client("ssm").put_parameter(
            Name=BOOTSTRAP_PARAMETER, Value=BOOTSTRAP_VERSION, Type="String", Overwrite=True
        )
        s3 = self.client("s3")
        archive = stub_zip()
        buckets: set[str] = set()
        for template in templates:
            for bucket_expression, key in asset_locations(template):
                bucket = resolve_bucket(bucket_expression, self.account_id, self.region)
                if bucket not in buckets:
                    s3.create_bucket(Bucket=bucket)
                    buckets.add(bucket)
                s3.put_object(Bucket=bucket, Key=key, Body=archive)

    def create_stack(self, name: str, template: dict[str, Any], timeout: float = 120.0) -> dict[str, str]:
        cfn = self.client("cloudformation")
        cfn.create_stack(
            StackName=name,
            TemplateBody=json.dumps(template),
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        stack = self._wait(cfn, name, timeout)
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    def _wait(self, cfn: Any, name: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            stack: dict[str, Any] = cfn.describe_stacks(StackName=name)["Stacks"][0]
            status = stack["StackStatus"]
            if status == "CREATE_COMPLETE":
                return stack
            if not status.endswith("IN_PROGRESS") or time.monotonic() > deadline:
                reasons = [stack.get("StackStatusReason", ""), *self._failures(cfn, name)]
                raise DeployError(f"stack {name} ended {status}: {'; '.join(r for r in reasons if r)}")
            time.sleep(0.1)

    @staticmethod
    def _failures(cfn: Any, name: str) -> list[str]:
        """`LogicalId: reason` of each resource that failed to create, as the console lists them."""
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
        return [
            f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
            for e in events
            if e.get("ResourceStatus") == "CREATE_FAILED"
        ]

    def deploy(self, stacks: list[StackArtifact]) -> dict[str, dict[str, str]]:
        """Create every stack in order; returns each stack's outputs."""
        templates = {stack.artifact_id: stack.template() for stack in stacks}
        self.bootstrap(templates.values())
        return {stack.stack_name: self.create_stack(stack.stack_name, templates[stack.artifact_id]) for stack in stacks}


def deploy_assembly(assembly: Path, *, endpoint_url: str, region: str, account_id: str) -> dict[str, dict[str, str]]:
    return Deployer(endpoint_url, region, account_id).deploy(read_stacks(assembly))
