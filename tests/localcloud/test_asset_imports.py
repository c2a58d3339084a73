"""Workers import a function from its synthesized asset folder plus its layers' `python/`, as
Lambda does: a function that imports another service's package, or `shopstack`, fails its
invocation with Lambda's Runtime.ImportModuleError."""

from __future__ import annotations

import io
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopstack.localcloud.asset_imports import project_names
from shopstack.localcloud.deploy import asset_directories
from shopstack.localcloud.lambda_pool import REPO_ROOT, FunctionConfig, LambdaInvocationError, LambdaPool

ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"
HANDLER = textwrap.dedent(
    """
    import os, sys

    def ok(event, context):
        import boto3  # third-party packages come from the venv
        from commerce import errors  # the layer's library
        from svc import helper  # the function's own package
        return {"cwd": os.getcwd(), "helper": helper.VALUE, "task_root": os.environ["LAMBDA_TASK_ROOT"]}

    def load(event, context):
        __import__(event["module"])
        return "imported"
    """
)


def make_asset(root: Path, name: str, module_source: str) -> Path:
    asset = root / f"asset.{name}"
    (asset / "svc").mkdir(parents=True)
    (asset / "svc" / "__init__.py").write_text("")
    (asset / "svc" / "helper.py").write_text("VALUE = 42\n")
    (asset / "svc" / "handler.py").write_text(module_source)
    return asset


def fn(name: str, handler: str, code_key: str) -> FunctionConfig:
    return FunctionConfig(
        name=name,
        arn=ARN.format(name),
        handler=handler,
        timeout=10.0,
        code_key=code_key,
        layer_keys=("layer.zip",),
    )


@pytest.fixture
def pool(tmp_path: Path) -> Iterator[LambdaPool]:
    make_asset(tmp_path, "good", HANDLER)
    make_asset(tmp_path, "cross", "from orders.domain import model\n\ndef handler(event, context):\n    return 1\n")
    make_asset(tmp_path, "tooling", "import shopstack\n\ndef handler(event, context):\n    return 1\n")
    configs = {
        "Good": fn("Good", "svc.handler.ok", "good.zip"),
        "Load": fn("Load", "svc.handler.load", "good.zip"),
        "Cross": fn("Cross", "svc.handler.handler", "cross.zip"),
        "Tooling": fn("Tooling", "svc.handler.handler", "tooling.zip"),
        "Unpackaged": fn("Unpackaged", "svc.handler.handler", "nowhere.zip"),
    }
    local = LambdaPool(
        moto_url="http://127.0.0.1:9",
        region="us-east-1",
        account_id="123456789012",
        resolver=lambda name: configs[name],
        idle_seconds=60,
        log_stream=io.StringIO(),
    )
    local.set_assets(
        {
            "good.zip": tmp_path / "asset.good",
            "cross.zip": tmp_path / "asset.cross",
            "tooling.zip": tmp_path / "asset.tooling",
            "layer.zip": REPO_ROOT / "layers" / "shared",
        }
    )
    yield local
    local.stop()


def test_a_function_runs_from_its_asset_with_its_layer_and_third_party_packages(
    pool: LambdaPool, tmp_path: Path
) -> None:
    result = pool.invoke("Good", {})
    assert result["helper"] == 42
    assert Path(result["cwd"]) == (tmp_path / "asset.good").resolve()
    assert Path(result["task_root"]) == (tmp_path / "asset.good")


def test_a_function_that_imports_another_service_fails_its_invocation(pool: LambdaPool) -> None:
    with pytest.raises(LambdaInvocationError) as caught:
        pool.invoke("Cross", {})
    assert caught.value.error_type == "Runtime.ImportModuleError"
    assert caught.value.payload["errorMessage"] == ("Unable to import module 'svc.handler': No module named 'orders'")


def test_a_function_that_imports_the_tooling_fails_its_invocation(pool: LambdaPool) -> None:
    with pytest.raises(LambdaInvocationError) as caught:
        pool.invoke("Tooling", {})
    assert caught.value.error_type == "Runtime.ImportModuleError"
    assert "No module named 'shopstack'" in caught.value.payload["errorMessage"]


@pytest.mark.parametrize("module", ["shopstack.localcloud", "infra", "tests", "bench", "checkout", "functions"])
def test_no_project_module_outside_the_asset_is_importable_at_run_time(pool: LambdaPool, module: str) -> None:
    with pytest.raises(LambdaInvocationError) as caught:
        pool.invoke("Load", {"module": module})
    assert caught.value.error_type == "ModuleNotFoundError"


def test_a_function_whose_code_is_not_an_asset_does_not_start(pool: LambdaPool) -> None:
    with pytest.raises(LambdaInvocationError) as caught:
        pool.invoke("Unpackaged", {})
    assert caught.value.error_type == "Runtime.ImportModuleError"


def test_without_assets_the_pool_uses_its_code_paths() -> None:
    local = LambdaPool(
        moto_url="http://127.0.0.1:9",
        region="us-east-1",
        account_id="123456789012",
        resolver=lambda name: FunctionConfig(name=name, arn=ARN.format(name), handler="x.y"),
        code_paths=[Path("/somewhere")],
    )
    try:
        location = local.code_location(local.resolve("F"))
        assert location.paths == ("/somewhere",) and not location.confined
    finally:
        local.stop()


def test_asset_folders_are_read_from_the_assembly_manifests(tmp_path: Path) -> None:
    (tmp_path / "asset.abc").mkdir()
    manifest = {
        "files": {
            "abc": {
                "source": {"path": "asset.abc", "packaging": "zip"},
                "destinations": {"d": {"bucketName": "b", "objectKey": "abc.zip"}},
            },
            "layer": {
                "source": {"path": str(REPO_ROOT / "layers" / "shared"), "packaging": "zip"},
                "destinations": {"d": {"bucketName": "b", "objectKey": "layer.zip"}},
            },
            "tpl": {
                "source": {"path": "S.template.json", "packaging": "file"},
                "destinations": {"d": {"bucketName": "b", "objectKey": "tpl.json"}},
            },
        }
    }
    (tmp_path / "S.assets.json").write_text(json.dumps(manifest))
    assert asset_directories(tmp_path) == {
        "abc.zip": tmp_path / "asset.abc",
        "layer.zip": REPO_ROOT / "layers" / "shared",
    }


def test_project_names_cover_services_tooling_and_the_layer() -> None:
    names = project_names(REPO_ROOT)
    assert {"shopstack", "infra", "tests", "bench", "orders", "checkout", "inventory", "commerce"} <= names
    assert "boto3" not in names
