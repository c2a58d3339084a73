"""Synth caching, the cloud assembly, bootstrap assets and DynamoDB state across runs."""

from __future__ import annotations

import json
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from shopstack.localcloud.deploy import asset_locations, input_hash, read_stacks, resolve_bucket, synth
from shopstack.localcloud.durable import decode_value, encode_value
from shopstack.localcloud.up import LocalCloud, wait_for_routes

from .conftest import ASSEMBLY

Aws = Callable[[str], Any]
FAKE_APP = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    out = Path(sys.argv[sys.argv.index("--outdir") + 1])
    assert "--local" in sys.argv
    out.mkdir(parents=True, exist_ok=True)
    count = Path("synth-count")
    count.write_text(str(int(count.read_text() or 0) + 1) if count.exists() else "1")
    (out / "manifest.json").write_text(json.dumps({"artifacts": {}}))
    """
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "__init__.py").write_text("")
    (tmp_path / "infra" / "app.py").write_text(FAKE_APP)
    (tmp_path / "cdk.json").write_text("{}")
    (tmp_path / "functions" / "svc").mkdir(parents=True)
    (tmp_path / "functions" / "svc" / "api.py").write_text("x = 1\n")
    (tmp_path / "layers" / "shared" / "python").mkdir(parents=True)
    (tmp_path / "README.md").write_text("not an input")
    return tmp_path


def test_synth_is_cached_by_a_hash_of_its_inputs(project: Path) -> None:
    first = synth(project, python=sys.executable)
    assert first.parent == project / ".shopstack" / "cdk.out"
    assert synth(project, python=sys.executable) == first
    assert (project / "synth-count").read_text() == "1"
    (project / "README.md").write_text("still not an input")
    assert synth(project, python=sys.executable) == first
    (project / "functions" / "svc" / "api.py").write_text("x = 2\n")
    second = synth(project, python=sys.executable)
    assert second != first and (second / "manifest.json").is_file()
    assert (project / "synth-count").read_text() == "2"


def test_the_hash_ignores_bytecode(project: Path) -> None:
    before = input_hash(project)
    cache = project / "functions" / "svc" / "__pycache__"
    cache.mkdir()
    (cache / "api.cpython-311.pyc").write_bytes(b"\0")
    assert input_hash(project) == before


def test_stacks_come_in_dependency_order() -> None:
    stacks = read_stacks(ASSEMBLY)
    assert [s.stack_name for s in stacks] == ["FixtureShared", "FixtureService", "FixtureOrders"]
    assert "FixtureShared" in stacks[1].dependencies


def test_assets_are_found_and_their_bucket_resolved() -> None:
    template = read_stacks(ASSEMBLY)[1].template()
    locations = list(asset_locations(template))
    assert locations and all(key.endswith(".zip") for _, key in locations)
    bucket = resolve_bucket(locations[0][0], "123456789012", "us-east-1")
    assert bucket == "cdk-hnb659fds-assets-123456789012-us-east-1"


def test_state_survives_a_dump_and_restore(cloud: LocalCloud, aws: Aws, records_table: str, tmp_path: Path) -> None:
    dynamodb = aws("dynamodb")
    item = {"pk": {"S": "kept"}, "blob": {"B": b"\x00\x01"}, "tags": {"SS": ["a", "b"]}, "n": {"N": "3"}}
    dynamodb.put_item(TableName=records_table, Item=item)
    state = tmp_path / "dynamodb.json"
    assert cloud.dump_tables(state) >= 1
    dynamodb.delete_item(TableName=records_table, Key={"pk": {"S": "kept"}})
    assert cloud.restore_tables(state) >= 1
    restored = dynamodb.get_item(TableName=records_table, Key={"pk": {"S": "kept"}})["Item"]
    assert restored["blob"]["B"] == b"\x00\x01"
    assert sorted(restored["tags"]["SS"]) == ["a", "b"]
    saved = json.loads(state.read_text())
    assert any(key.startswith("FixtureShared/Records") for key in saved)


def test_binary_values_round_trip_through_json() -> None:
    value = {"L": [{"B": b"\xff"}, {"BS": [b"a"]}, {"S": "x"}]}
    assert decode_value(json.loads(json.dumps(encode_value(value)))) == value


@pytest.fixture
def stub_gateway() -> Iterator[tuple[str, list[str]]]:
    calls: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"]
        calls.append(path)
        status = "503 Unavailable" if path == "/slow" and calls.count(path) < 3 else "401 Unauthorized"
        start_response(status, [("Content-Type", "text/plain")])
        return [b""]

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", calls
    server.shutdown()


def test_ready_waits_until_every_route_answers_below_500(stub_gateway: tuple[str, list[str]]) -> None:
    base_url, calls = stub_gateway
    wait_for_routes(base_url, ["/admin", "/slow"], timeout=10)
    assert calls.count("/slow") == 3 and calls.count("/admin") == 1
