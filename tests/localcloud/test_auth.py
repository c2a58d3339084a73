"""Cognito authorizer checks, with tokens issued by moto's user pools (signed with the stack's key)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.backends import get_backend

from shopstack.localcloud import auth, hooks, signing

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
def signing_key() -> signing.SigningKey:
    key = signing.SigningKey.generate()
    hooks.use_signing_key(key)
    return key


@pytest.fixture(scope="module")
def keys(signing_key: signing.SigningKey) -> dict[str, Any]:
    return auth.public_keys(signing_key.jwks())


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


def test_a_moto_id_token_verifies(pools: dict[str, Any], keys: dict[str, Any], signing_key: signing.SigningKey) -> None:
    token = _moto_token(pools)
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "kid": signing_key.kid}
    claims = auth.verify_id_token(token, keys=keys, pools=_trusted(pools))
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


# --- malformed tokens: always Unauthorized, never another exception (issue 10, item 5) ------------


def raw_token(header: Any, claims: Any, private_key: Any) -> str:
    """A token signed RS256 over whatever header and claims are given (PyJWT refuses some)."""

    def part(value: Any) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=")

    signing_input = part(header) + b"." + part(claims)
    signature = jwt.algorithms.RSAAlgorithm(jwt.algorithms.RSAAlgorithm.SHA256).sign(signing_input, private_key)
    return (signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()


def _signed(signing_key: signing.SigningKey, claims: dict[str, Any]) -> str:
    return raw_token({"alg": "RS256", "kid": signing_key.kid}, claims, signing_key.private_key)


def _claims(pools: dict[str, Any], **changes: Any) -> dict[str, Any]:
    claims = jwt.decode(_moto_token(pools), options={"verify_signature": False})
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not _DROP}


_DROP = object()

MALFORMED_CLAIMS: dict[str, dict[str, Any]] = {
    "aud list": {"aud": ["x", "y"]},
    "aud list holding the client": {"aud": "<client>"},
    "aud number": {"aud": 42},
    "aud null": {"aud": None},
    "aud missing": {"aud": _DROP},
    "aud object": {"aud": {"client": "x"}},
    "iss list": {"iss": ["https://cognito-idp.example/x"]},
    "iss number": {"iss": 7},
    "iss null": {"iss": None},
    "exp string": {"exp": "9999999999"},
    "exp null": {"exp": None},
    "exp true": {"exp": True},
    "exp list": {"exp": [9999999999]},
    "exp past year 9999": {"exp": 10**30},
    "exp 1e300": {"exp": 1e300},
    "exp missing": {"exp": _DROP},
    "iat list": {"iat": [1]},
    "iat out of range": {"iat": -(10**20)},
    "token_use list": {"token_use": ["id"]},
    "token_use null": {"token_use": None},
}


@pytest.mark.parametrize("case", list(MALFORMED_CLAIMS))
def test_claims_of_the_wrong_type_are_unauthorized(
    pools: dict[str, Any], keys: dict[str, Any], signing_key: signing.SigningKey, case: str
) -> None:
    changes = dict(MALFORMED_CLAIMS[case])
    if changes.get("aud") == "<client>":
        changes["aud"] = [pools["made"]["shop"][1]]
    token = _signed(signing_key, _claims(pools, **changes))
    with pytest.raises(auth.Unauthorized):
        auth.verify_id_token(token, keys=keys, pools=_trusted(pools))


@pytest.mark.parametrize("kid", [None, ["x"], 7, {"k": 1}, ""])
def test_header_kid_of_the_wrong_type_is_unauthorized(
    pools: dict[str, Any], keys: dict[str, Any], signing_key: signing.SigningKey, kid: Any
) -> None:
    token = raw_token({"alg": "RS256", "kid": kid}, _claims(pools), signing_key.private_key)
    with pytest.raises(auth.Unauthorized):
        auth.verify_id_token(token, keys=keys, pools=_trusted(pools))


def test_moto_published_key_is_not_trusted(pools: dict[str, Any], keys: dict[str, Any]) -> None:
    from moto.utilities.utils import load_resource

    moto_jwk = load_resource("cognitoidp/resources/jwks-private.json")
    moto_key = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(moto_jwk))
    forged = jwt.encode(_claims(pools), moto_key, algorithm="RS256", headers={"kid": moto_jwk.get("kid", "dummy")})  # type: ignore[arg-type]
    with pytest.raises(auth.Unauthorized):
        auth.verify_id_token(forged, keys=keys, pools=_trusted(pools))
