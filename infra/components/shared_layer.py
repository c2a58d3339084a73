"""The shared Lambda layer: `commerce` plus pinned third-party packages, bundled without Docker."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.settings import ARCHITECTURE, PIP_PLATFORM, REPO_ROOT, RUNTIME

LAYER_DIR = REPO_ROOT / "layers" / "shared"
REQUIREMENTS = LAYER_DIR / "requirements.txt"
LIBRARY = LAYER_DIR / "python" / "commerce"
BUNDLE_FORMAT = "shopstack-layer-v1"
SOURCE_EXCLUDES = ["__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", ".ruff_cache"]


def runtime_python_version(runtime: lambda_.Runtime = RUNTIME) -> str:
    """`3.14` for `python3.14`."""
    return runtime.name.removeprefix("python")


def _source_files() -> list[Path]:
    files = [REQUIREMENTS]
    for path in sorted(LIBRARY.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files.append(path)
    return files


def layer_source_hash() -> str:
    """Hash of everything the bundle depends on: requirements, library source, runtime, platform."""
    digest = hashlib.sha256()
    digest.update(f"{BUNDLE_FORMAT}\0{RUNTIME.name}\0{PIP_PLATFORM}\0".encode())
    for path in _source_files():
        digest.update(path.relative_to(LAYER_DIR).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _matching_interpreter(version: str) -> str | None:
    """A Python interpreter of the runtime's version, to compile byte code Lambda will use."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    return shutil.which(f"python{version}")


@jsii.implements(ILocalBundling)
class PipLayerBundling:
    """Bundles the layer on this machine with pip's cross-platform wheel selection."""

    def __init__(self, *, python_version: str, platform: str) -> None:
        self.python_version = python_version
        self.platform = platform

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: object) -> bool:
        """Fill `output_dir/python`; False lets CDK fall back to Docker."""
        target = Path(output_dir) / "python"
        pip = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--requirement",
            str(REQUIREMENTS),
            "--target",
            str(target),
            "--platform",
            self.platform,
            "--python-version",
            self.python_version,
            "--only-binary=:all:",
            "--implementation",
            "cp",
        ]
        result = subprocess.run(pip, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            sys.stderr.write(f"shared layer: pip install failed\n{result.stdout}{result.stderr}\n")
            return False
        shutil.rmtree(target / "bin", ignore_errors=True)
        shutil.copytree(
            LIBRARY, target / "commerce", ignore=shutil.ignore_patterns(*SOURCE_EXCLUDES), dirs_exist_ok=True
        )
        interpreter = _matching_interpreter(self.python_version)
        if interpreter is None:
            sys.stderr.write(f"shared layer: no python{self.python_version} on PATH, layer ships without .pyc files\n")
            return True
        compile_all = [
            interpreter,
            "-m",
            "compileall",
            "-q",
            "--invalidation-mode",
            "unchecked-hash",
            str(target),
        ]
        subprocess.run(compile_all, check=True)
        return True


def _docker_command() -> list[str]:
    """The same steps inside the runtime's build image, used only when local bundling fails."""
    script = " && ".join(
        [
            "pip install --no-compile -r requirements.txt -t /asset-output/python",
            "rm -rf /asset-output/python/bin",
            "cp -r python/commerce /asset-output/python/",
            "find /asset-output/python/commerce -name __pycache__ -prune -exec rm -rf {} +",
            "python -m compileall -q --invalidation-mode unchecked-hash /asset-output/python",
        ]
    )
    return ["bash", "-c", script]


class SharedLayer(Construct):
    """`layers/shared` as a LayerVersion for the project's runtime and architecture.

    Each change publishes a new version; earlier versions are retained, so that a function stack
    rolled back after the layer changed can still point at the version it had.
    """

    def __init__(self, scope: Construct, construct_id: str, *, description: str) -> None:
        super().__init__(scope, construct_id)
        python_version = runtime_python_version()
        code = lambda_.Code.from_asset(
            str(LAYER_DIR),
            exclude=SOURCE_EXCLUDES,
            asset_hash_type=AssetHashType.CUSTOM,
            asset_hash=layer_source_hash(),
            bundling=BundlingOptions(
                image=RUNTIME.bundling_image,
                platform="linux/arm64",
                command=_docker_command(),
                local=PipLayerBundling(python_version=python_version, platform=PIP_PLATFORM),
            ),
        )
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=code,
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description=description,
            removal_policy=RemovalPolicy.RETAIN,
        )
