"""Cognito authorizer checks, with tokens issued by moto's user pools."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.backends import get_backend

from shopstack.localcloud import auth

REGION = "eu-west-1"
ACCOUNT = "000000000044"
PASSWORD = "Local-Passw0rd!"


@pytest.fixture(scope="module")
def pools() -> Iterator[dict[str, Any]]:
    backend = get_backend("cognito-idp")[ACCOUNT][REGION]
    made = {}
    for name in ("shop", "other"):
        pool = backend.create_user_pool(name, {})
        client = backend.create_user_pool_client(pool.id, generate_secret=False, extended_config={"ClientName": "web"})
        backend.admin_create_user(pool.id, "ann", "SUPPRESS", "Temp-Passw0rd!", [])
        made[name] = (pool.id, client.id)
    yield {"made": made, "backend": backend}
    backend.reset()


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    return auth.public_keys(auth.load_moto_jwks())


def _trusted(pools: dict[str, Any]) -> dict[str, Any]:
    pool_id, client_id = pools["made"]["shop"]
    return {auth.issuer_url(REGION, pool_id): {client_id}}


def _moto_token(pools: dict[str, Any], name: str = "shop", token_use: str = "id", expires_in: int = 3600) -> str:
    pool_id, client_id = pools["made"][name]
    pool = pools["backend"].user_pools[pool_id]
    token, _ = pool.create_jwt(
        client_id, "ann", token_use, expires_in=expires_in, extra_data={"cognito:groups": ["admin", "staff"]}
    )
    return str(token)


def test_a_moto_id_token_verifies(pools: dict[str, Any], keys: dict[str, Any]) -> None:
    claims = auth.verify_id_token(_moto_token(pools), keys=keys, pools=_trusted(pools))
    assert claims["token_use"] == "id"
    assert claims["cognito:username"] == "ann"
    assert claims["cognito:groups"] == ["admin", "staff"]


def test_issuer_matches_what_moto_writes(pools: dict[str, Any]) -> None:
    claims = jwt.decode(_moto_token(pools), options={"verify_signature": False})
    assert claims["iss"] == auth.issuer_url(REGION, pools["made"]["shop"][0])


def test_forged_signature_is_refused(pools: dict[str, Any], keys: dict[str, Any]) -> None:
    claims = jwt.decode(_moto_token(pools), options={"verify_signature": False})
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": "dummy"})
    with pytest.raises(auth.Unauthorized):
        auth.verify_id_token(forged, keys=keys, pools=_trusted(pools))


def test_unsigned_token_is_refused(pools: dict[str, Any], keys: dict[str, Any]) -> None:
    claims = jwt.decode(_moto_token(pools), options={"verify_signature": False})
    unsigned = jwt.encode(claims, "", algorithm="none", headers={"kid": "dummy"})
    with pytest.raises(auth.Unauthorized, match="RS256"):
        auth.verify_id_token(unsigned, keys=keys, pools=_trusted(pools))


def test_expired_token_is_refused(pools: dict[str, Any], keys: dict[str, Any]) -> None:
    with pytest.raises(auth.Unauthorized, match="expired"):
        auth.verify_id_token(_moto_token(pools, expires_in=-5), keys=keys, pools=_trusted(pools))
    token = _moto_token(pools)
    with pytest.raises(auth.Unauthorized, match="expired"):
        auth.verify_id_token(token, keys=keys, pools=_trusted(pools), now=time.time() + 7200)


def test_token_of_another_pool_is_refused(pools: dict[str, Any], keys: dict[str, Any]) -> None:
    with pytest.raises(auth.Unauthorized, match="issuer"):
        auth.verify_id_token(_moto_token(pools, "other"), keys=keys, pools=_trusted(pools))


def test_token_for_an_unknown_client_is_refused(pools: dict[str, Any], keys: dict[str, Any]) -> None:
    issuer = auth.issuer_url(REGION, pools["made"]["shop"][0])
    with pytest.raises(auth.Unauthorized, match="client"):
        auth.verify_id_token(_moto_token(pools), keys=keys, pools={issuer: {"someone-else"}})


def test_access_token_is_refused(pools: dict[str, Any], keys: dict[str, Any]) -> None:
    with pytest.raises(auth.Unauthorized):
        auth.verify_id_token(_moto_token(pools, token_use="access"), keys=keys, pools=_trusted(pools))


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30"])
def test_malformed_token_is_refused(pools: dict[str, Any], keys: dict[str, Any], token: str) -> None:
    with pytest.raises(auth.Unauthorized):
        auth.verify_id_token(token, keys=keys, pools=_trusted(pools))


@pytest.mark.parametrize("header", [None, "", "   ", "Bearer", "Bearer   "])
def test_missing_token_is_refused(header: str | None) -> None:
    with pytest.raises(auth.Unauthorized):
        auth.token_from_header(header)


def test_bearer_prefix_is_optional() -> None:
    assert auth.token_from_header("Bearer abc") == "abc"
    assert auth.token_from_header("bearer abc") == "abc"
    assert auth.token_from_header("abc") == "abc"


def test_claims_are_rendered_as_api_gateway_does() -> None:
    rendered = auth.render_claims(
        {
            "sub": "u-1",
            "cognito:groups": ["admin", "staff"],
            "email_verified": True,
            "auth_time": 1680629979,
            "exp": 1680633579,
            "iat": 1680629979,
        }
    )
    assert rendered == {
        "sub": "u-1",
        "cognito:groups": "admin,staff",
        "email_verified": "true",
        "auth_time": "1680629979",
        "exp": "Tue Apr 04 18:39:39 UTC 2023",
        "iat": "Tue Apr 04 17:39:39 UTC 2023",
    }
    assert rendered["cognito:groups"].split(",") == ["admin", "staff"]


def test_pool_id_from_arn() -> None:
    arn = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_abc"
    assert auth.user_pool_id_from_arn(arn) == "eu-west-1_abc"
