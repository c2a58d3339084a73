"""`commerce.identity`: the optional sign-in of the carts and checkout routes verifies a Cognito ID
token as the API Gateway authorizer would. Tokens here are signed with RSA keys generated for
the test and published through a JWKS client whose fetch answers the test's key set (the seam:
`identity._keys`, the process's one PyJWKClient)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from commerce import identity
from commerce.errors import Unauthorized

POOL = "us-east-1_TESTPOOL"
CLIENT = "client-abc"
ISSUER = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}"


def _private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def keys() -> dict[str, rsa.RSAPrivateKey]:
    """The pool's current and previous signing keys, and a key nobody published."""
    return {"k1": _private_key(), "k0": _private_key(), "attacker": _private_key()}


class StaticJwksClient(jwt.PyJWKClient):
    """PyJWT's JWKS client (kid lookup, signing-key filtering) over a key set in memory."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        super().__init__("https://jwks.invalid/.well-known/jwks.json", cache_keys=False)
        self.jwks = jwks
        self.fetches = 0

    def fetch_data(self) -> Any:
        self.fetches += 1
        return self.jwks


def _jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    public: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**public, "kid": kid, "alg": "RS256", "use": "sig"}


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch, keys: dict[str, rsa.RSAPrivateKey]) -> StaticJwksClient:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("USER_POOL_ID", POOL)
    monkeypatch.setenv("USER_POOL_CLIENT_ID", CLIENT)
    client = StaticJwksClient({"keys": [_jwk(keys["k1"], "k1"), _jwk(keys["k0"], "k0")]})
    monkeypatch.setattr(identity, "_keys", lambda: client)
    return client


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    body: dict[str, Any] = {
        "sub": "sub-ada",
        "email": "ada@example.com",
        "aud": CLIENT,
        "iss": ISSUER,
        "token_use": "id",
        "iat": now,
        "auth_time": now,
        "exp": now + 3600,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def signed(key: rsa.RSAPrivateKey, body: dict[str, Any], kid: str = "k1", algorithm: str = "RS256") -> str:
    return jwt.encode(body, key, algorithm=algorithm, headers={"kid": kid})


def event(authorization: str | None = None, **headers: str) -> dict[str, Any]:
    if authorization is not None:
        headers["Authorization"] = authorization
    return {"headers": headers, "requestContext": {}}


def refused(authorization: str) -> Unauthorized:
    with pytest.raises(Unauthorized) as caught:
        identity.optional_caller(event(authorization))
    assert caught.value.status == 401
    return caught.value


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- accepted ----------------------------------------------------------------------------------


def test_a_valid_id_token_signs_the_caller_in(published: StaticJwksClient, keys: dict[str, Any]) -> None:
    caller = identity.optional_caller(event(f"Bearer {signed(keys['k1'], claims())}"))
    assert (caller.sub, caller.email, caller.groups, caller.is_admin) == ("sub-ada", "ada@example.com", (), False)


def test_a_token_signed_with_the_previous_key_still_published_is_accepted(
    published: StaticJwksClient, keys: dict[str, Any]
) -> None:
    caller = identity.optional_caller(event(f"Bearer {signed(keys['k0'], claims(), kid='k0')}"))
    assert caller.sub == "sub-ada"


def test_the_scheme_is_case_insensitive_and_a_bare_token_is_accepted_as_the_authorizer_does(
    published: StaticJwksClient, keys: dict[str, Any]
) -> None:
    token = signed(keys["k1"], claims())
    assert identity.optional_caller(event(f"bearer {token}")).sub == "sub-ada"
    assert identity.optional_caller({"headers": {"authorization": token}}).sub == "sub-ada"


def test_the_admin_group_claim_makes_an_admin(published: StaticJwksClient, keys: dict[str, Any]) -> None:
    admin = identity.optional_caller(event(f"Bearer {signed(keys['k1'], claims(**{'cognito:groups': ['admin']}))}"))
    assert admin.is_admin and admin.groups == ("admin",)
    staff = identity.optional_caller(event(f"Bearer {signed(keys['k1'], claims(**{'cognito:groups': ['staff']}))}"))
    assert not staff.is_admin


def test_no_token_is_a_guest_and_fetches_no_keys(published: StaticJwksClient) -> None:
    caller = identity.optional_caller(event())
    assert (caller.sub, caller.groups) == (None, ())
    assert identity.optional_caller({"headers": None}).sub is None
    assert published.fetches == 0


def test_the_authorizers_claims_are_taken_as_they_are(published: StaticJwksClient) -> None:
    claimed = {"requestContext": {"authorizer": {"claims": {"sub": "sub-bob", "cognito:groups": "[admin]"}}}}
    caller = identity.optional_caller({**claimed, "headers": {"Authorization": "Bearer not-even-a-jwt"}})
    assert (caller.sub, caller.is_admin) == ("sub-bob", True)
    assert published.fetches == 0


# --- refused -----------------------------------------------------------------------------------


def test_an_expired_token_is_refused(published: StaticJwksClient, keys: dict[str, Any]) -> None:
    past = int(time.time()) - 7200
    error = refused(f"Bearer {signed(keys['k1'], claims(iat=past, auth_time=past, exp=past + 3600))}")
    assert error.problem_code == "invalid_token"


def test_a_token_for_another_app_client_is_refused(published: StaticJwksClient, keys: dict[str, Any]) -> None:
    assert refused(f"Bearer {signed(keys['k1'], claims(aud='another-client'))}").problem_code == "invalid_token"
    assert refused(f"Bearer {signed(keys['k1'], claims(aud=None))}").problem_code == "invalid_token"


def test_a_token_of_another_user_pool_is_refused(published: StaticJwksClient, keys: dict[str, Any]) -> None:
    other = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OTHER"
    assert refused(f"Bearer {signed(keys['k1'], claims(iss=other))}").problem_code == "invalid_token"


def test_an_unsigned_token_is_refused(published: StaticJwksClient) -> None:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": "k1"}).encode())
    body = _b64(json.dumps(claims()).encode())
    assert refused(f"Bearer {header}.{body}.").problem_code == "invalid_token"


def test_a_token_hmac_signed_with_the_public_key_is_refused(published: StaticJwksClient, keys: dict[str, Any]) -> None:
    """Algorithm confusion: the published RSA key used as an HS256 secret."""
    pem = (
        keys["k1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    body = _b64(json.dumps(claims()).encode())
    signature = _b64(hmac.new(pem, f"{header}.{body}".encode(), hashlib.sha256).digest())
    assert refused(f"Bearer {header}.{body}.{signature}").problem_code == "invalid_token"


def test_a_token_of_an_unknown_key_is_refused(published: StaticJwksClient, keys: dict[str, Any]) -> None:
    assert refused(f"Bearer {signed(keys['attacker'], claims(), kid='evil')}").problem_code == "invalid_token"
    # a published kid does not make another key's signature good
    assert refused(f"Bearer {signed(keys['attacker'], claims(), kid='k1')}").problem_code == "invalid_token"


def test_a_token_changed_after_signing_is_refused(published: StaticJwksClient, keys: dict[str, Any]) -> None:
    header, _, signature = signed(keys["k1"], claims()).split(".")
    forged = _b64(json.dumps(claims(sub="sub-admin", **{"cognito:groups": ["admin"]})).encode())
    assert refused(f"Bearer {header}.{forged}.{signature}").problem_code == "invalid_token"


def test_an_access_token_is_not_an_id_token(published: StaticJwksClient, keys: dict[str, Any]) -> None:
    error = refused(f"Bearer {signed(keys['k1'], claims(token_use='access'))}")
    assert (error.problem_code, error.detail) == ("invalid_token", "An ID token is required.")
    assert refused(f"Bearer {signed(keys['k1'], claims(token_use=None))}").problem_code == "invalid_token"
    assert refused(f"Bearer {signed(keys['k1'], claims(sub=None))}").problem_code == "invalid_token"


@pytest.mark.parametrize("authorization", ["Bearer not-a-jwt", "Bearer", "Basic YWRhOnNlY3JldA==", "Bearer a.b.c"])
def test_a_bad_token_is_never_silently_a_guest(published: StaticJwksClient, authorization: str) -> None:
    assert refused(authorization).problem_code == "invalid_token"


def test_the_token_of_an_erased_account_is_refused(
    published: StaticJwksClient, keys: dict[str, Any], erasures: Any
) -> None:
    erasures.record("sub-ada", "2026-01-01T00:00:00.000Z")
    token = signed(keys["k1"], claims())
    assert refused(f"Bearer {token}").problem_code == "account_erased"
    # the route that finishes an erasure still knows who calls
    assert identity.optional_caller(event(f"Bearer {token}"), allow_erased=True).sub == "sub-ada"


# --- where the keys come from ------------------------------------------------------------------


def test_the_keys_are_the_user_pools_published_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("USER_POOL_ID", "eu-west-1_POOL")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    unwrapped: Any = identity._keys.__wrapped__
    assert unwrapped().uri == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_POOL/.well-known/jwks.json"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566/")
    assert unwrapped().uri == "http://127.0.0.1:4566/eu-west-1_POOL/.well-known/jwks.json"
