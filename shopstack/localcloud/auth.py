"""Cognito user pool authorizer, as API Gateway REST APIs run it, against the local user pools.

API Gateway checks the ID token's RS256 signature against the pool's JWKS, its issuer, expiry,
`token_use` and audience (an app client of the pool), and hands the claims to the integration
as strings under `requestContext.authorizer.claims`. Rendering follows what REST APIs send:
`exp` and `iat` as dates (`Tue Apr 04 18:39:39 UTC 2023`), other numbers and booleans as their
text, and a list claim such as `cognito:groups` as its items joined by commas (`admin,staff`),
so `claims["cognito:groups"].split(",")` gives the groups back.

Any token that does not verify, however it is malformed (claims of the wrong type, a header
without `kid`, bad base64, another algorithm), raises `Unauthorized`: API Gateway answers 401,
never a 5xx. The keys trusted are the stack's own (signing.py), never moto's published key.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Container, Mapping
from datetime import UTC, datetime
from typing import Any

import jwt
from jwt.algorithms import RSAAlgorithm

DATE_CLAIMS = frozenset({"exp", "iat"})
MAX_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z, the last second a date claim can render


class Unauthorized(Exception):
    """The request carries no acceptable ID token; API Gateway answers 401."""


def issuer_url(region: str, user_pool_id: str) -> str:
    return f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"


def user_pool_id_from_arn(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def public_keys(jwks: Mapping[str, Any]) -> dict[str, Any]:
    """Key id to RSA public key, for every RS256 key of a JWKS document."""
    keys: dict[str, Any] = {}
    for jwk in jwks.get("keys", []):
        if jwk.get("kty") == "RSA" and jwk.get("alg", "RS256") == "RS256":
            keys[jwk.get("kid", "")] = RSAAlgorithm.from_jwk(json.dumps(jwk))
    return keys


def token_from_header(value: str | None) -> str:
    parts = (value or "").split(None, 1)
    if parts and parts[0].lower() == "bearer":
        parts = parts[1:]
    if not parts or not parts[0].strip():
        raise Unauthorized("missing token")
    return parts[0].strip()


def verify_id_token(
    token: str,
    *,
    keys: Mapping[str, Any],
    pools: Mapping[str, Container[str]],
    now: float | None = None,
) -> dict[str, Any]:
    """Verified claims of an ID token; `pools` maps each accepted issuer to its app client ids."""
    key = _signing_key(token, keys)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "verify_aud": False},
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"bad token: {exc}") from None
    _check_claims(claims, pools, time.time() if now is None else now)
    return claims


def _signing_key(token: str, keys: Mapping[str, Any]) -> Any:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"malformed token: {exc}") from None
    if header.get("alg") != "RS256":
        raise Unauthorized("token not signed with RS256")
    kid = header.get("kid")
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise Unauthorized("unknown signing key")
    return key


def _check_claims(claims: Mapping[str, Any], pools: Mapping[str, Container[str]], now: float) -> None:
    """Cognito writes `iss`, `aud` and `token_use` as strings and `exp`, `iat` as numbers of
    seconds: a claim of another type is a token Cognito never issued, refused like any other."""
    issuer = claims.get("iss")
    clients = pools.get(issuer) if isinstance(issuer, str) else None
    if clients is None:
        raise Unauthorized("token from another issuer")
    exp: Any = claims.get("exp")
    if not _is_timestamp(exp):
        raise Unauthorized("token without a valid expiry")
    if exp <= now:
        raise Unauthorized("token expired")
    if "iat" in claims and not _is_timestamp(claims["iat"]):
        raise Unauthorized("token with an invalid issue time")
    if claims.get("token_use") != "id":
        raise Unauthorized("not an ID token")
    audience = claims.get("aud")
    if not isinstance(audience, str) or audience not in clients:
        raise Unauthorized("token for an unknown app client")


def _is_timestamp(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= MAX_TIMESTAMP
    )


def render_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims as API Gateway REST APIs pass them to a proxy integration: every value a string."""
    return {name: _render_claim(name, value) for name, value in claims.items()}


def _render_claim(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if name in DATE_CLAIMS and isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
    if isinstance(value, list | tuple):
        return ",".join(_render_claim("", item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
