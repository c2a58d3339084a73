"""Contract tests: the same test functions run against a unit-test fake and the real PynamoDB
adapter on moto, so a fake can never promise callers what DynamoDB would not do.

The pattern, one file per port (`test_<port>_contract.py`):

1. A `store` fixture parametrized with `["fake", "moto"]` (use `params=BACKENDS`). For "fake"
   it builds the fake of `tests/unit/*_fakes.py`; for "moto" it asks the `dynamo` fixture below
   for the tables the adapter binds (`dynamo.table("CARTS_TABLE", CartRecord, ...)`) and then
   builds the adapter. Where the fake and the adapter differ in shape (a fake ledger takes a
   dict where the adapter takes a PynamoDB item; the fake's `extra` is a `Write`, the adapter's
   a callable on the transaction), the fixture returns a small driver with one interface over
   both, so every test reads the same against both.
2. Test functions take `store` and assert what a caller relies on: the value of a read (None
   for a missing item), what a refused conditional write answers (False, None, or which
   exception), idempotency on repeat, pagination cursors, counters never below zero.
3. Seeding that the port has no method for (stock counters, an order in a given state) goes
   through the driver too: for moto, a PynamoDB `save` of the adapter's own model.

`dynamo` (function scope) gives each test empty tables in a fresh moto account:

- `mock_aws` is active, `AWS_ENDPOINT_URL` is removed (the unit tests' autouse `_no_cloud`
  points it at a closed port, and moto intercepts only AWS's own addresses), fake credentials,
  region us-east-1;
- the shared layer's cached clients (`commerce.dynamo`'s Connection, `commerce.records`' boto3
  resource: one per process) are dropped before and after, `commerce.dynamo`'s Connection is
  replaced by one built inside moto and shared by the contract tests of the process (building
  a botocore client costs far more than a table in moto), and every PynamoDB model's cached
  connection is dropped, so no client built outside moto (with the unit tests' endpoint) is used;
- `dynamo.table(setting, *models)` sets the environment variable `setting` to a table name,
  unbinds the models (`commerce.dynamo.bind` binds a model once, when `Meta.table_name` is
  None, and keeps it), and creates the table: key schema of the first model (the table's
  keys), the union of every model's global secondary indexes (name, keys, projection), as the
  CDK app declares them in infra/stacks/*.py (`OnDemandTable` + `add_index`/
  `add_keys_only_index`). Pass `indexes=` to add an index no given model declares, and `keys=`
  for an adapter that has no models (analytics writes with boto3). Everything is restored when
  the test ends.

Build the adapter only after `dynamo.table(...)`: adapters bind in their constructor or on
first use. Create every table the adapter binds (checkout's adapters bind the Carts, Orders
and Products tables): a model left bound to another name fails loudly (ResourceNotFound).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

BACKENDS = ["fake", "moto"]
"""The params of every contract's `store` fixture."""

REGION = "us-east-1"


def _all_models() -> list[Any]:
    from pynamodb.models import Model

    found: list[Any] = []
    pending = list(Model.__subclasses__())
    while pending:
        model = pending.pop()
        found.append(model)
        pending.extend(model.__subclasses__())
    return found


class Tables:
    """Creates the tables of one test in moto; see the module docstring."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        self.names: dict[str, str] = {}

    def table(
        self,
        setting: str,
        *models: Any,
        indexes: list[dict[str, Any]] | None = None,
        keys: tuple[str, ...] | None = None,
    ) -> str:
        """Create the table the environment variable `setting` names, for `models` (the first
        gives the table's key schema), and unbind the models so they bind to it. Returns its name.
        For an adapter without models (boto3 only), give `keys` (partition key, sort key; all
        string keys, as `OnDemandTable`) and the `indexes` (GlobalSecondaryIndexes entries)."""
        import boto3

        if setting in self.names:
            raise AssertionError(f"table {setting} created twice in one test")
        name = f"contract-{setting.lower().replace('_', '-')}"
        self._monkeypatch.setenv(setting, name)
        for model in models:
            self._monkeypatch.setattr(model.Meta, "table_name", None)
            self._monkeypatch.setattr(model.Meta, "region", None)
            self._monkeypatch.setattr(model, "_connection", None)

        if keys is not None:
            key_types = ("HASH", "RANGE")
            schema = {
                "key_schema": [{"AttributeName": k, "KeyType": t} for k, t in zip(keys, key_types, strict=False)],
                "attribute_definitions": [{"AttributeName": k, "AttributeType": "S"} for k in keys],
            }
        else:
            schema = models[0]._get_schema()
        definitions = {d["AttributeName"]: d["AttributeType"] for d in schema["attribute_definitions"]}
        gsis: dict[str, dict[str, Any]] = {}
        for model in models:
            model_schema = model._get_schema()
            for index in model_schema["global_secondary_indexes"]:
                for d in index["attribute_definitions"]:
                    definitions.setdefault(d["AttributeName"], d["AttributeType"])
                gsis.setdefault(
                    index["index_name"],
                    {
                        "IndexName": index["index_name"],
                        # HASH first, as DynamoDB requires
                        "KeySchema": sorted(index["key_schema"], key=lambda k: k["KeyType"] != "HASH"),
                        "Projection": index["projection"],
                    },
                )
        for index in indexes or []:
            for key in index["KeySchema"]:
                definitions.setdefault(key["AttributeName"], "S")
            gsis.setdefault(index["IndexName"], index)
        arguments: dict[str, Any] = {
            "TableName": name,
            "KeySchema": sorted(schema["key_schema"], key=lambda k: k["KeyType"] != "HASH"),
            "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in definitions.items()],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if gsis:
            arguments["GlobalSecondaryIndexes"] = list(gsis.values())
        _shared("client", lambda: boto3.client("dynamodb", region_name=REGION)).create_table(**arguments)
        self.names[setting] = name
        return name


_SHARED: dict[str, Any] = {}


def _shared(name: str, build: Any) -> Any:
    """One client per process for every contract test, built on first use inside moto (with no
    endpoint override): a botocore client costs 0.1-0.3 s to build, a table in moto 10 ms. A
    client built after moto's import answers from moto while a mock is active."""
    if name not in _SHARED:
        _SHARED[name] = build()
    return _SHARED[name]


def _connection(region_name: str) -> Any:
    """`commerce.dynamo._connection` during a contract test: the process's one shared Connection."""
    from pynamodb.connection import Connection

    return _shared(f"connection-{region_name}", lambda: Connection(region=region_name))


def _clear_cached_clients() -> None:
    """The shared layer's cached clients (one per process in Lambda): dropped so that the next
    one is built inside moto."""
    import importlib

    for module_name, function_name in (("commerce.dynamo", "_connection"), ("commerce.records", "_resource")):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        cached = getattr(module, function_name, None)
        if cached is not None and hasattr(cached, "cache_clear"):
            cached.cache_clear()


def _drop_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear_cached_clients()
    for model in _all_models():
        if "_connection" in vars(model) and vars(model)["_connection"] is not None:
            monkeypatch.setattr(model, "_connection", None)


@pytest.fixture
def dynamo(monkeypatch: pytest.MonkeyPatch) -> Iterator[Tables]:
    """Empty DynamoDB tables in moto for one test (see the module docstring)."""
    from moto import mock_aws

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():
        _drop_clients(monkeypatch)
        from commerce import dynamo as commerce_dynamo

        monkeypatch.setattr(commerce_dynamo, "_connection", _connection)
        try:
            yield Tables(monkeypatch)
        finally:
            _clear_cached_clients()
            for model in _all_models():
                if vars(model).get("_connection") is not None:
                    model._connection = None
