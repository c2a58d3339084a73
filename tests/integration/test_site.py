"""The storefront through the session's local cloud, as the deployed distribution serves it: the pages
at `/` with the response headers policy, the API under `/v1`, `config.json` with the local pool's ids
and a Cognito endpoint on the gateway's own origin, and S3's answer for a page that does not exist."""

from __future__ import annotations

import json
import uuid

import pytest

from shopstack.harness import LocalCloud

pytestmark = pytest.mark.integration

COGNITO = "AWSCognitoIdentityProviderService."


def cognito(cloud: LocalCloud, endpoint: str, operation: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    path = endpoint.removeprefix(cloud.base_url)
    reply = cloud.request(
        "POST",
        path,
        raw=json.dumps(body).encode(),
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": COGNITO + operation},
    )
    return reply.status, (json.loads(reply.text) if reply.text else {})


def test_root_answers_the_storefront_with_the_security_headers(cloud: LocalCloud) -> None:
    reply = cloud.request("GET", "/")
    if reply.status == 403 and "AccessDenied" in reply.text:
        pytest.skip("web/dist/index.html is not built (make web): the bucket holds no index.html")
    assert reply.status == 200, reply.text[:200]
    assert reply.headers["content-type"] == "text/html"
    assert "<html" in reply.text.lower()
    csp = reply.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "https://js.stripe.com" in csp
    assert reply.headers["strict-transport-security"].startswith("max-age=63072000; includeSubDomains")
    assert reply.headers["x-frame-options"] == "DENY"
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_the_catalog_under_v1_and_at_the_root(cloud: LocalCloud) -> None:
    for path in ("/v1/products?limit=1", "/products?limit=1"):
        reply = cloud.request("GET", path)
        assert reply.status == 200, (path, reply.text)
        assert "items" in reply.json
    assert "strict-transport-security" in cloud.request("GET", "/v1/products?limit=1").headers


def test_an_unknown_page_is_s3s_403(cloud: LocalCloud) -> None:
    reply = cloud.request("GET", f"/no-such-page-{uuid.uuid4().hex[:6]}.html")
    assert reply.status == 403
    assert "<Code>AccessDenied</Code>" in reply.text
    assert reply.headers["x-frame-options"] == "DENY"
    # under /v1 the API answers its own 404 problem
    assert cloud.request("GET", "/v1/no-such-route").status == 404


def test_config_json_has_the_local_pool_and_its_cognito_path_signs_up_and_in(
    cloud: LocalCloud, outputs: dict[str, str]
) -> None:
    reply = cloud.request("GET", "/config.json")
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    config = reply.json
    assert config["apiBase"] == "/v1"
    assert config["userPoolId"] == outputs["UserPoolId"]
    assert config["userPoolClientId"] == outputs["UserPoolClientId"]
    assert config["cognitoEndpoint"].startswith(cloud.base_url + "/")
    assert config["payments"]["mode"] == "emulator"
    assert config["payments"]["publishableKey"] == "pk_test_local"
    emulator = config["payments"]["emulatorUrl"]
    assert emulator.startswith(cloud.base_url + "/")

    email = f"site-{uuid.uuid4().hex[:8]}@example.com"
    password = "Correct-Horse-Battery-9"
    client = config["userPoolClientId"]
    status, _ = cognito(
        cloud,
        config["cognitoEndpoint"],
        "SignUp",
        {
            "ClientId": client,
            "Username": email,
            "Password": password,
            "UserAttributes": [{"Name": "email", "Value": email}],
        },
    )
    assert status == 200
    status, body = cognito(
        cloud, config["cognitoEndpoint"], "AdminConfirmSignUp", {"UserPoolId": config["userPoolId"], "Username": email}
    )
    assert status == 400 and body["__type"] == "MissingAuthenticationTokenException"
    status, _ = cognito(
        cloud,
        config["cognitoEndpoint"],
        "ConfirmSignUp",
        {"ClientId": client, "Username": email, "ConfirmationCode": "123456"},
    )
    assert status == 200
    status, body = cognito(
        cloud,
        config["cognitoEndpoint"],
        "InitiateAuth",
        {
            "ClientId": client,
            "AuthFlow": "USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": email, "PASSWORD": password},
        },
    )
    assert status == 200, body
    token = body["AuthenticationResult"]["IdToken"]  # type: ignore[index]
    me = cloud.request("GET", "/v1/me", token=str(token))
    assert me.status == 200, me.text
    assert me.json["email"] == email
