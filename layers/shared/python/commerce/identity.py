"""Optional sign-in on routes without an API Gateway authorizer (carts, checkout): a Bearer ID
token, when sent, is verified here against the user pool's keys exactly as the authorizer
would; no token means a guest, a bad token is a 401 (never silently a guest), and so is the
token of an erased account (commerce.erasures)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import Any

from commerce.config import region, setting
from commerce.errors import Unauthorized
from commerce.http import Caller, caller_of, groups_of


def _issuer() -> str:
    return f"https://cognito-idp.{region()}.amazonaws.com/{setting('USER_POOL_ID')}"


def _jwks_url() -> str:
    """Cognito's published keys; with a custom AWS endpoint (the local cloud), the same path there."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        return f"{endpoint.rstrip('/')}/{setting('USER_POOL_ID')}/.well-known/jwks.json"
    return f"{_issuer()}/.well-known/jwks.json"


@cache
def _keys() -> Any:
    import jwt

    return jwt.PyJWKClient(_jwks_url(), cache_keys=True, lifespan=3600)


def _bearer(headers: Mapping[str, Any] | None) -> str | None:
    value = next((str(v) for k, v in (headers or {}).items() if k.lower() == "authorization"), None)
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else value.strip()


def verify_id_token(token: str) -> dict[str, Any]:
    import jwt

    try:
        key = _keys().get_signing_key_from_jwt(token).key
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=["RS256"], audience=setting("USER_POOL_CLIENT_ID"), issuer=_issuer()
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized("The ID token is not valid.", code="invalid_token") from exc
    if claims.get("token_use") != "id" or not claims.get("sub"):
        raise Unauthorized("An ID token is required.", code="invalid_token")
    return claims


def optional_caller(event: Mapping[str, Any], *, allow_erased: bool = False) -> Caller:
    """The caller, from the authorizer's claims or a Bearer ID token verified here; a signed-in
    caller whose account was erased is refused (401 `account_erased`) unless `allow_erased`
    (the route that finishes an erasure)."""
    caller = caller_of(event)
    if caller.sub is None:
        token = _bearer(event.get("headers"))
        if token is None:
            return caller
        claims = verify_id_token(token)
        caller = Caller(
            sub=str(claims["sub"]), email=claims.get("email"), groups=groups_of(claims.get("cognito:groups"))
        )
    if not allow_erased:
        from commerce.erasures import refuse_erased

        refuse_erased(str(caller.sub), event)
    return caller
