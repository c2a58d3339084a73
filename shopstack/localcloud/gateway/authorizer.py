"""The Cognito user pool authorizer: compiled from the RestApi's COGNITO_USER_POOLS authorizers
(identity header, the pools whose tokens it accepts), and run against the local user pools'
signing keys (shopstack.localcloud.auth)."""

from __future__ import annotations

import sys
import time
from collections.abc import Container, Iterable, Mapping
from typing import Any

from shopstack.localcloud import auth
from shopstack.localcloud.gateway.model import CognitoAuthorizer

DEFAULT_IDENTITY_HEADER = "Authorization"

AUTHORIZER_CACHE_SIZE = 4096


def compile_authorizers(rest_api: Any, pools: Mapping[str, Any], region: str) -> dict[str, CognitoAuthorizer]:
    compiled = {}
    for authorizer in list(rest_api.authorizers.values()):
        if authorizer.type != "COGNITO_USER_POOLS":
            continue
        pool_ids = [auth.user_pool_id_from_arn(arn) for arn in authorizer.provider_arns or []]
        compiled[authorizer.id] = CognitoAuthorizer(
            name=authorizer.name or authorizer.id,
            header_key=_identity_header_key(authorizer.identity_source),
            pools=_issuers(pools, pool_ids, region),
        )
    return compiled


def fallback_authorizer(
    authorizers: Mapping[str, CognitoAuthorizer], pools: Mapping[str, Any], region: str
) -> CognitoAuthorizer:
    """For a COGNITO_USER_POOLS method whose authorizer id was not kept: the API's, else every pool."""
    if len(authorizers) == 1:
        return next(iter(authorizers.values()))
    merged: dict[str, Container[str]] = {}
    for authorizer in authorizers.values():
        merged.update(authorizer.pools)
    return CognitoAuthorizer(
        name="cognito",
        header_key=_identity_header_key(None),
        pools=merged or _issuers(pools, list(pools), region),
    )


def _issuers(pools: Mapping[str, Any], pool_ids: Iterable[str], region: str) -> dict[str, Container[str]]:
    return {
        auth.issuer_url(pools[pool_id].region or region, pool_id): pools[pool_id].clients
        for pool_id in pool_ids
        if pool_id in pools
    }


def _identity_header_key(identity_source: str | None) -> str:
    prefix = "method.request.header."
    source = (identity_source or "").split(",")[0].strip()
    name = source[len(prefix) :] if source.startswith(prefix) else DEFAULT_IDENTITY_HEADER
    return "HTTP_" + name.upper().replace("-", "_")


def authorize(
    authorizer: CognitoAuthorizer,
    environ: Mapping[str, Any],
    keys: dict[str, Any],
    cache: dict[str, tuple[dict[str, str], float]],
) -> dict[str, str] | None:
    """The claims of the request's verified ID token, as the authorizer renders them; None when
    there is no token or it does not verify (API Gateway: 401). Verified claims are kept in `cache`
    until the token expires."""
    header = environ.get(authorizer.header_key)
    cache_key = f"{authorizer.name}\n{header}"
    cached = cache.get(cache_key) if header else None
    if cached is not None and cached[1] > time.time():
        return cached[0]
    try:
        token = auth.token_from_header(header)
        claims = auth.verify_id_token(token, keys=keys, pools=authorizer.pools)
        rendered = auth.render_claims(claims)
    except auth.Unauthorized:
        return None
    except Exception as exc:  # API Gateway answers 401 for any token that does not verify, never 5xx
        print(f"gateway: authorizer {authorizer.name}: unverifiable token: {exc!r}", file=sys.stderr)
        return None
    if len(cache) >= AUTHORIZER_CACHE_SIZE:
        cache.clear()
    cache[cache_key] = (rendered, float(claims["exp"]))
    return rendered
