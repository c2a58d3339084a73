"""The stack's token signing key (issue 10, item 12): made once per state directory, kept there
for the next start, never moto's published key."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import jwt
import pytest

from shopstack.localcloud import auth, signing, up


def test_first_start_makes_a_key_the_next_start_reuses(tmp_path: Path) -> None:
    first = signing.load_or_create(tmp_path / "state")
    path = tmp_path / "state" / signing.KEY_FILE
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = signing.load_or_create(tmp_path / "state")
    assert again.kid == first.kid
    token = first.sign({"sub": "u-1"})
    assert jwt.decode(token, options={"verify_signature": False}) == {"sub": "u-1"}
    assert jwt.decode(token, again.private_key.public_key(), algorithms=["RS256"]) == {"sub": "u-1"}


def test_each_stack_has_its_own_key(tmp_path: Path) -> None:
    one, other = signing.load_or_create(tmp_path / "a"), signing.load_or_create(tmp_path / "b")
    assert one.kid != other.kid
    with pytest.raises(auth.Unauthorized):
        auth.verify_id_token(
            one.sign({"iss": "i", "aud": "c", "token_use": "id", "exp": 4102444800}),
            keys=auth.public_keys(other.jwks()),
            pools={"i": {"c"}},
        )


def test_the_key_is_not_motos(tmp_path: Path) -> None:
    from moto.utilities.utils import load_resource

    moto_public = load_resource("cognitoidp/resources/jwks-public.json")["keys"][0]
    key = signing.load_or_create(tmp_path)
    assert key.public_jwk()["n"] != moto_public["n"]
    assert key.jwks() == {"keys": [key.public_jwk()]}
    assert json.loads(json.dumps(key.jwks()))["keys"][0]["kid"] == key.kid


def test_up_keeps_the_key_in_the_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`shopstack up` signs with the key of its state dir: a restart keeps tokens valid."""
    monkeypatch.setenv("SHOPSTACK_STATE_DIR", str(tmp_path))
    seen: list[str] = []

    def serve(*, cloud: up.LocalCloud, **_: object) -> None:
        seen.append(cloud.signing_key.kid)
        raise KeyboardInterrupt

    monkeypatch.setattr(up, "serve", serve)
    for _ in range(2):
        assert up.run(host="127.0.0.1", port=0, moto_port=0, seed="none", fresh=True) == 0
    assert seen == [signing.load_or_create(tmp_path).kid] * 2
