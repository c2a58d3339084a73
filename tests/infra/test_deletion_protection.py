"""Tables of data in prod: DynamoDB deletion protection on every table, and RETAIN on stack deletion
(cdk.json `deletionProtection`, per stage; on for prod). Other stages can be torn down whole."""

from __future__ import annotations

from typing import Any

import pytest

from infra.app import STACK_IDS, build_app
from infra.settings import Settings, load_cdk_json_context
from tests.infra.conftest import Synthesized

TABLE = "AWS::DynamoDB::Table"
EXPECTED_TABLES = 8
"""Idempotency, Erasures, Products, Orders, Analytics, Carts, Customers, Webhooks."""


def _tables(templates: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        f"{stack}.{key}": resource
        for stack, template in templates.items()
        for key, resource in template["Resources"].items()
        if resource["Type"] == TABLE
    }


@pytest.fixture(scope="module")
def prod_tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    outdir = tmp_path_factory.mktemp("cdk.out.prod")
    assembly = build_app(outdir=str(outdir), local=True, context={"stage": "prod"}).synth()
    return _tables({stack: assembly.get_stack_artifact(stack).template for stack in STACK_IDS})


def test_cdk_json_protects_prod_only() -> None:
    setting = load_cdk_json_context()["deletionProtection"]
    assert setting == {"default": False, "prod": True}


def test_every_prod_table_is_deletion_protected_and_retained(prod_tables: dict[str, dict[str, Any]]) -> None:
    assert len(prod_tables) == EXPECTED_TABLES
    for name, table in prod_tables.items():
        assert table["Properties"].get("DeletionProtectionEnabled") is True, name
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain", name


def test_dev_tables_are_neither_protected_nor_retained(synthesized: Synthesized) -> None:
    assert load_cdk_json_context()["stage"] == "dev"
    tables = _tables(synthesized.raw)
    assert len(tables) == EXPECTED_TABLES
    for name, table in tables.items():
        assert "DeletionProtectionEnabled" not in table["Properties"], name
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Delete", name


def _settings(**context: Any) -> Settings:
    app = build_app(local=True, context=context)
    return Settings.from_node(app.node)


def test_deletion_protection_forces_retain_even_without_retain_data() -> None:
    settings = _settings(stage="staging", deletionProtection=True, retainData=False)
    assert settings.deletion_protection is True
    assert settings.removal_policy.name == "RETAIN"


def test_prod_defaults_to_protected_when_cdk_json_says_nothing() -> None:
    """A context without the key (an old cdk.json) still protects prod, and only prod."""
    app = build_app(local=True, context={"stage": "prod", "deletionProtection": None})
    assert Settings.from_node(app.node).deletion_protection is True
    app = build_app(local=True, context={"stage": "dev", "deletionProtection": None})
    assert Settings.from_node(app.node).deletion_protection is False


def test_a_stage_can_opt_out_explicitly() -> None:
    assert _settings(stage="prod", deletionProtection={"default": True, "prod": False}).deletion_protection is False
