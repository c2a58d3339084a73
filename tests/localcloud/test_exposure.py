"""The local cloud's unauthenticated endpoints stay on loopback (issue 10, item 12): moto always,
the gateway unless `shopstack up --host` says otherwise, and then a loud warning."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from shopstack.cli import main
from shopstack.localcloud import up
from shopstack.localcloud.server import MotoServer


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "192.168.1.20", "10.0.0.5", "shop.example"])
def test_a_host_beyond_loopback_is_warned_about(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    up.warn_if_exposed(host)
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("WARNING:")
    assert "no authentication on its control endpoints" in err
    assert "AWS emulator" in err
    assert "do not expose" in err


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_is_not_warned_about(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    up.warn_if_exposed(host)
    assert capsys.readouterr() == ("", "")


def test_shopstack_up_with_a_public_host_warns_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SHOPSTACK_STATE_DIR", str(tmp_path))
    hosts: list[str] = []

    def serve(*, cloud: up.LocalCloud, host: str, **_: object) -> None:
        assert cloud.server.host == "127.0.0.1", "moto must stay on loopback whatever --host says"
        hosts.append(host)
        raise KeyboardInterrupt

    monkeypatch.setattr(up, "serve", serve)
    assert main(["up", "--host", "0.0.0.0", "--port", "0"]) == 0
    assert hosts == ["0.0.0.0"]
    err = capsys.readouterr().err
    warning = [line for line in err.splitlines() if line.startswith("WARNING:")]
    assert len(warning) == 1 and "0.0.0.0" in warning[0] and "no authentication" in warning[0]
    assert main(["up", "--port", "0"]) == 0
    assert "WARNING" not in capsys.readouterr().err


def test_moto_server_binds_loopback_only() -> None:
    server = MotoServer().start()
    try:
        assert server.host == "127.0.0.1"
        assert server._server is not None
        assert server._server.socket.getsockname()[0] == "127.0.0.1"
        assert server.url.startswith("http://127.0.0.1:")
        with socket.create_connection(("127.0.0.1", server.port), timeout=5):
            pass
    finally:
        server.stop()


def test_local_cloud_puts_moto_on_loopback() -> None:
    cloud = up.LocalCloud(moto_port=0)
    assert cloud.server.host == "127.0.0.1"
