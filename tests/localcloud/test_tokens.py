"""`shopstack token` against a moto server and a local gateway, both on loopback."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from moto.backends import get_backend
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from shopstack.cli import main
from shopstack.localcloud import auth, hooks, signing, tokens
from shopstack.localcloud.gateway import LocalGateway
from tests.localcloud.test_gateway import aws_client

REGION = "us-east-1"
ACCOUNT = "000000000043"


@pytest.fixture(scope="module")
def local_cloud() -> Iterator[dict[str, Any]]:
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    cognito = aws_client("cognito-idp", moto_url, ACCOUNT)
    pool_id = cognito.create_user_pool(PoolName=f"tokens-{port}")["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="web",
        ExplicitAuthFlows=["ADMIN_USER_PASSWORD_AUTH"],
        ReadAttributes=["email", "email_verified"],
    )["UserPoolClient"]["ClientId"]
    cognito.create_group(UserPoolId=pool_id, GroupName="admin")
    key = signing.SigningKey.generate()
    hooks.use_signing_key(key)
    gateway = LocalGateway(
        region=REGION, account_id=ACCOUNT, invoke=lambda arn, event: {}, moto_url=moto_url, signing_key=key
    )
    gateway.log_stream = io.StringIO()
    gateway.refresh()
    server = make_server("127.0.0.1", 0, gateway, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {
            "endpoint": f"http://127.0.0.1:{server.server_port}",
            "pool_id": pool_id,
            "client_id": client_id,
            "moto_url": moto_url,
            "signing_key": key,
        }
    finally:
        server.shutdown()
        thread.join()
        moto.stop()
        get_backend("cognito-idp")[ACCOUNT][REGION].reset()


def _verified(token: str, cloud: dict[str, Any]) -> dict[str, Any]:
    keys = auth.public_keys(cloud["signing_key"].jwks())
    issuers = {auth.issuer_url(REGION, cloud["pool_id"]): {cloud["client_id"]}}
    return auth.verify_id_token(token, keys=keys, pools=issuers)


def test_issues_an_id_token_for_a_new_then_existing_user(local_cloud: dict[str, Any]) -> None:
    first = tokens.issue_token(local_cloud["endpoint"], "ann@example.com")
    again = tokens.issue_token(local_cloud["endpoint"], "ann@example.com")
    for token in (first, again):
        claims = _verified(token, local_cloud)
        assert claims["cognito:username"] == "ann@example.com"
        assert claims["email"] == "ann@example.com"
        assert claims["email_verified"] == "true"
        assert "cognito:groups" not in claims


def test_admin_token_carries_the_admin_group(local_cloud: dict[str, Any]) -> None:
    token = tokens.issue_token(local_cloud["endpoint"], "boss@example.com", admin=True)
    assert _verified(token, local_cloud)["cognito:groups"] == ["admin"]


def test_cli_prints_the_token(local_cloud: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--email", "cli@example.com", "--endpoint", local_cloud["endpoint"]]) == 0
    printed = capsys.readouterr()
    token = printed.out.strip()
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert _verified(token, local_cloud)["email"] == "cli@example.com"
    assert tokens.LOCAL_PASSWORD in printed.err, "how the user signs in to the storefront or the console"


def test_unreachable_endpoint_is_a_clear_error() -> None:
    with pytest.raises(tokens.LocalCloudUnavailable):
        tokens.issue_token("http://127.0.0.1:9", "x@example.com")


def test_tokens_are_signed_with_the_stack_key_never_motos(local_cloud: dict[str, Any]) -> None:
    from moto.utilities.utils import load_resource

    token = tokens.issue_token(local_cloud["endpoint"], "kid@example.com", admin=True)
    key: signing.SigningKey = local_cloud["signing_key"]
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "kid": key.kid}
    moto_keys = auth.public_keys(load_resource("cognitoidp/resources/jwks-public.json"))
    issuers = {auth.issuer_url(REGION, local_cloud["pool_id"]): {local_cloud["client_id"]}}
    with pytest.raises(auth.Unauthorized):
        auth.verify_id_token(token, keys=moto_keys, pools=issuers)
    assert _verified(token, local_cloud)["cognito:groups"] == ["admin"]


def test_the_pool_publishes_the_stack_key_only(local_cloud: dict[str, Any]) -> None:
    """Functions verify optional sign-in against this document (commerce.identity)."""
    url = f"{local_cloud['moto_url']}/{local_cloud['pool_id']}/.well-known/jwks.json"
    published = jwt.PyJWKClient(url, cache_keys=False).get_jwk_set()
    assert [k.key_id for k in published.keys] == [local_cloud["signing_key"].kid]
    token = tokens.issue_token(local_cloud["endpoint"], "jwks@example.com")
    found = jwt.PyJWKClient(url, cache_keys=False).get_signing_key_from_jwt(token)
    claims = jwt.decode(token, found.key, algorithms=["RS256"], audience=local_cloud["client_id"])
    assert claims["email"] == "jwks@example.com"
