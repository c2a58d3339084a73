"""The local API Gateway against a REST API and user pool created in moto's in-process backends."""

from __future__ import annotations

import base64
import hmac
import io
import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from moto.backends import get_backend
from moto.server import ThreadedMotoServer
from werkzeug.test import Client

from shopstack.localcloud import hooks, signing
from shopstack.localcloud.gateway import LocalGateway
from shopstack.localcloud.gateway.deployed import lambda_arn
from shopstack.localcloud.gateway.http_request import MAX_PAYLOAD_BYTES
from shopstack.localcloud.gateway.throttling import TokenBucket, compile_throttle
from tests.localcloud.test_auth import raw_token

REGION = "us-east-1"
ACCOUNT = "000000000042"
PASSWORD = "Local-Passw0rd!"
FN_INVENTORY = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:InventoryApi"
FN_FILES = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:Files"
CORS_HEADERS = "Content-Type,Authorization,Idempotency-Key,X-Cart-Token"

ROUTES: list[tuple[str, str, str, bool]] = [
    ("GET", "/health", FN_INVENTORY, False),
    ("GET", "/products", FN_INVENTORY, False),
    ("POST", "/products", FN_INVENTORY, False),
    ("GET", "/products/{sku}", FN_INVENTORY, False),
    ("GET", "/products/featured", FN_INVENTORY, False),
    ("PUT", "/carts/{cartId}/items/{sku}", FN_INVENTORY, False),
    ("GET", "/admin/inventory/{sku}", FN_INVENTORY, True),
    ("ANY", "/files/{proxy+}", FN_FILES, False),
    ("GET", "/burst", FN_INVENTORY, False),
]


class FakeLambda:
    """Records every event and answers with the next canned response (or raises)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.response: Any = {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "body": "{}",
        }
        self.error: Exception | None = None

    def __call__(self, function_arn: str, event: dict[str, Any]) -> Any:
        self.calls.append((function_arn, event))
        if self.error is not None:
            raise self.error
        return self.response

    @property
    def event(self) -> dict[str, Any]:
        return self.calls[-1][1]


def _create_pool(cognito: Any, name: str) -> tuple[str, str]:
    pool = cognito.create_user_pool(PoolName=name)["UserPool"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool["Id"], ClientName="web", ExplicitAuthFlows=["ADMIN_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]
    cognito.create_group(UserPoolId=pool["Id"], GroupName="admin")
    return pool["Id"], client["ClientId"]


def _id_token(cognito: Any, pool_id: str, client_id: str, email: str, groups: tuple[str, ...] = ()) -> str:
    cognito.admin_create_user(UserPoolId=pool_id, Username=email, MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=PASSWORD, Permanent=True)
    for group in groups:
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=group)
    result = cognito.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
    )
    return str(result["AuthenticationResult"]["IdToken"])


def _resource(apigw: Any, api_id: str, ids: dict[str, str], path: str) -> str:
    parent = "/"
    for part in path.strip("/").split("/"):
        current = parent.rstrip("/") + "/" + part
        if current not in ids:
            ids[current] = apigw.create_resource(restApiId=api_id, parentId=ids[parent], pathPart=part)["id"]
        parent = current
    return ids[parent]


def _build_api(apigw: Any, pool_arn: str) -> str:
    api_id = apigw.create_rest_api(name="shopstack-v1", binaryMediaTypes=["image/png"])["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    ids = {"/": root}
    authorizer = apigw.create_authorizer(
        restApiId=api_id,
        name="cognito",
        type="COGNITO_USER_POOLS",
        providerARNs=[pool_arn],
        identitySource="method.request.header.Authorization",
    )["id"]
    for verb, path, fn, secured in ROUTES:
        resource_id = _resource(apigw, api_id, ids, path)
        extra = {"authorizationType": "COGNITO_USER_POOLS", "authorizerId": authorizer} if secured else {}
        apigw.put_method(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=verb,
            **{"authorizationType": "NONE", **extra},
        )
        apigw.put_integration(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=verb,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{fn}/invocations",
        )
    _add_preflight(apigw, api_id, ids["/products"])
    apigw.create_deployment(restApiId=api_id, stageName="v1")
    apigw.update_stage(
        restApiId=api_id,
        stageName="v1",
        patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "1000"},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "1000"},
            {"op": "replace", "path": "/~1burst/GET/throttling/rateLimit", "value": "1"},
            {"op": "replace", "path": "/~1burst/GET/throttling/burstLimit", "value": "3"},
        ],
    )
    return str(api_id)


def _add_preflight(apigw: Any, api_id: str, resource_id: str) -> None:
    apigw.put_method(restApiId=api_id, resourceId=resource_id, httpMethod="OPTIONS", authorizationType="NONE")
    apigw.put_integration(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="OPTIONS",
        type="MOCK",
        requestTemplates={"application/json": "{ statusCode: 200 }"},
    )
    apigw.put_integration_response(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="OPTIONS",
        statusCode="204",
        responseParameters={
            "method.response.header.Access-Control-Allow-Headers": f"'{CORS_HEADERS}'",
            "method.response.header.Access-Control-Allow-Origin": "'https://shop.example'",
            "method.response.header.Vary": "'Origin'",
            "method.response.header.Access-Control-Allow-Methods": "'OPTIONS,GET,POST'",
        },
        responseTemplates={
            "application/json": '#set($origin = $input.params().header.get("Origin"))\n'
            '#if($origin == "https://shop.example" || $origin == "http://localhost:5173")\n'
            "  #set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)\n#end"
        },
    )


def aws_client(service: str, moto_url: str, account_id: str = ACCOUNT) -> Any:
    """A client of the moto server in an account of its own, apart from any other local cloud."""
    client = boto3.client(
        service,
        endpoint_url=moto_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    def pin_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account_id

    client.meta.events.register("before-sign.*.*", pin_account)
    return client


@pytest.fixture(scope="module")
def deployed() -> Iterator[dict[str, Any]]:
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    cognito, apigw = aws_client("cognito-idp", moto_url), aws_client("apigateway", moto_url)
    pool_id, client_id = _create_pool(cognito, "shopstack-users")
    other_pool, other_client = _create_pool(cognito, "elsewhere")
    pool_arn = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Arn"]
    api_id = _build_api(apigw, pool_arn)
    fake = FakeLambda()
    key = signing.SigningKey.generate()
    hooks.use_signing_key(key)
    gateway = LocalGateway(region=REGION, account_id=ACCOUNT, invoke=fake, moto_url=moto_url, signing_key=key)
    gateway.log_stream = io.StringIO()
    gateway.refresh()
    try:
        yield {
            "gateway": gateway,
            "lambda": fake,
            "moto_url": moto_url,
            "signing_key": key,
            "api_id": api_id,
            "pool_id": pool_id,
            "client_id": client_id,
            "customer": _id_token(cognito, pool_id, client_id, "ann@example.com"),
            "admin": _id_token(cognito, pool_id, client_id, "bob@example.com", groups=("admin",)),
            "foreign": _id_token(cognito, other_pool, other_client, "eve@example.com"),
        }
    finally:
        moto.stop()
        for service in ("apigateway", "cognito-idp"):
            get_backend(service)[ACCOUNT][REGION].reset()


@pytest.fixture
def fake(deployed: dict[str, Any]) -> FakeLambda:
    lam: FakeLambda = deployed["lambda"]
    lam.calls.clear()
    lam.error = None
    lam.response = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}
    return lam


@pytest.fixture
def client(deployed: dict[str, Any], fake: FakeLambda) -> Client:
    return Client(deployed["gateway"])


def test_proxy_event_shape(client: Client, fake: FakeLambda, deployed: dict[str, Any]) -> None:
    response = client.put(
        "/carts/c-1/items/SKU-1?x=1&tag=a&tag=b",
        data=json.dumps({"quantity": 2}),
        headers={"Content-Type": "application/json", "X-Cart-Token": "tok", "User-Agent": "pytest"},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert response.status_code == 200
    arn, event = fake.calls[-1]
    assert arn == FN_INVENTORY
    assert event["resource"] == "/carts/{cartId}/items/{sku}"
    assert event["path"] == "/carts/c-1/items/SKU-1"
    assert event["httpMethod"] == "PUT"
    assert event["pathParameters"] == {"cartId": "c-1", "sku": "SKU-1"}
    assert event["queryStringParameters"] == {"x": "1", "tag": "b"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1"], "tag": ["a", "b"]}
    assert event["headers"]["X-Cart-Token"] == "tok"
    assert event["headers"]["Content-Type"] == "application/json"
    assert event["multiValueHeaders"]["X-Cart-Token"] == ["tok"]
    assert event["body"] == '{"quantity": 2}'
    assert event["isBase64Encoded"] is False
    assert event["stageVariables"] is None
    context = event["requestContext"]
    assert context["stage"] == "v1"
    assert context["resourcePath"] == "/carts/{cartId}/items/{sku}"
    assert context["httpMethod"] == "PUT"
    assert context["path"] == "/v1/carts/c-1/items/SKU-1"
    assert context["identity"]["sourceIp"] == "10.1.2.3"
    assert context["identity"]["userAgent"] == "pytest"
    assert context["apiId"] == deployed["api_id"]
    assert context["accountId"] == ACCOUNT
    assert isinstance(context["requestTimeEpoch"], int)
    assert context["requestId"] == response.headers["x-amzn-RequestId"]
    assert "authorizer" not in context


def test_get_without_query_or_body_sends_nulls(client: Client, fake: FakeLambda) -> None:
    client.get("/products")
    event = fake.event
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False


def test_binary_body_is_base64(client: Client, fake: FakeLambda) -> None:
    payload = bytes(range(256))
    client.put("/files/images/a.png", data=payload, headers={"Content-Type": "image/png"})
    assert fake.event["isBase64Encoded"] is True
    assert base64.b64decode(fake.event["body"]) == payload
    client.post("/files/upload", data=payload, headers={"Content-Type": "application/octet-stream"})
    assert fake.event["isBase64Encoded"] is True


def test_greedy_proxy_and_any_method(client: Client, fake: FakeLambda) -> None:
    client.delete("/files/a/b/c.txt")
    arn, event = fake.calls[-1]
    assert arn == FN_FILES
    assert event["resource"] == "/files/{proxy+}"
    assert event["pathParameters"] == {"proxy": "a/b/c.txt"}
    assert event["httpMethod"] == "DELETE"


def test_literal_segment_wins_over_parameter(client: Client, fake: FakeLambda) -> None:
    client.get("/products/featured")
    assert fake.event["resource"] == "/products/featured"
    assert fake.event["pathParameters"] is None
    client.get("/products/SKU-9")
    assert fake.event["resource"] == "/products/{sku}"
    assert fake.event["pathParameters"] == {"sku": "SKU-9"}


def test_stage_prefix_is_served_too(client: Client, fake: FakeLambda) -> None:
    assert client.get("/v1/products/SKU-9").status_code == 200
    assert fake.event["path"] == "/products/SKU-9"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("GET", "/products/a/b"),
        ("DELETE", "/products"),
        ("GET", "/admin"),
        ("GET", "/files"),
    ],
)
def test_unknown_route_is_missing_authentication_token(
    client: Client, fake: FakeLambda, method: str, path: str
) -> None:
    response = client.open(path, method=method)
    assert response.status_code == 403
    assert response.json == {"message": "Missing Authentication Token"}
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert fake.calls == []


def test_proxy_response_is_mapped(client: Client, fake: FakeLambda) -> None:
    fake.response = {
        "statusCode": 201,
        "headers": {"Content-Type": "application/problem+json", "X-One": "1"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": '{"title": "x"}',
        "isBase64Encoded": False,
    }
    response = client.post("/products", data="{}")
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["X-One"] == "1"
    assert response.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert response.json == {"title": "x"}


def test_base64_proxy_response_is_decoded(client: Client, fake: FakeLambda) -> None:
    fake.response = {
        "statusCode": "200",
        "headers": {"Content-Type": "image/png"},
        "body": base64.b64encode(b"\x89PNG\x00").decode(),
        "isBase64Encoded": True,
    }
    response = client.get("/files/logo.png")
    assert response.data == b"\x89PNG\x00"
    assert response.headers["Content-Type"] == "image/png"


def test_missing_content_type_defaults_to_json(client: Client, fake: FakeLambda) -> None:
    fake.response = {"statusCode": 204}
    response = client.get("/health")
    assert response.status_code == 204
    assert response.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "oops",
        {"body": "{}"},
        {"statusCode": "abc"},
        {"statusCode": 200, "body": {"a": 1}},
        {"statusCode": 200, "headers": ["x"]},
        {"statusCode": 200, "body": "%%", "isBase64Encoded": True},
    ],
)
def test_malformed_proxy_response_is_502(client: Client, fake: FakeLambda, payload: Any) -> None:
    fake.response = payload
    response = client.get("/health")
    assert response.status_code == 502
    assert response.json == {"message": "Internal server error"}


def test_invoke_error_is_502(client: Client, fake: FakeLambda) -> None:
    fake.error = RuntimeError("Task timed out after 10.00 seconds")
    response = client.get("/products")
    assert response.status_code == 502
    assert response.json == {"message": "Internal server error"}


def test_payload_over_10_mb_is_413(client: Client, fake: FakeLambda) -> None:
    response = client.post("/products", data=b"x" * (MAX_PAYLOAD_BYTES + 1))
    assert response.status_code == 413
    assert response.json == {"message": "Request Too Long"}
    assert fake.calls == []


def test_cognito_route_passes_claims(client: Client, fake: FakeLambda, deployed: dict[str, Any]) -> None:
    response = client.get("/admin/inventory/SKU-1", headers={"Authorization": f"Bearer {deployed['admin']}"})
    assert response.status_code == 200
    claims = fake.event["requestContext"]["authorizer"]["claims"]
    assert claims["cognito:groups"] == "admin"
    assert claims["token_use"] == "id"
    assert claims["aud"] == deployed["client_id"]
    assert claims["iss"].endswith(deployed["pool_id"])
    assert all(isinstance(value, str) for value in claims.values())
    assert claims["exp"].endswith(" UTC " + claims["exp"][-4:])


def test_cognito_route_takes_a_bare_token(client: Client, fake: FakeLambda, deployed: dict[str, Any]) -> None:
    response = client.get("/admin/inventory/SKU-1", headers={"Authorization": deployed["customer"]})
    assert response.status_code == 200
    assert "cognito:groups" not in fake.event["requestContext"]["authorizer"]["claims"]


@pytest.mark.parametrize("which", ["missing", "garbage", "foreign", "tampered"])
def test_cognito_route_refuses_bad_tokens(
    client: Client, fake: FakeLambda, deployed: dict[str, Any], which: str
) -> None:
    header = {
        "missing": None,
        "garbage": "Bearer not-a-jwt",
        "foreign": f"Bearer {deployed['foreign']}",
        "tampered": "Bearer " + deployed["customer"][:-4] + ("AAAA" if deployed["customer"][-4:] != "AAAA" else "BBBB"),
    }[which]
    response = client.get("/admin/inventory/SKU-1", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.json == {"message": "Unauthorized"}
    assert fake.calls == []


def _moto_published_key() -> tuple[Any, str]:
    from moto.utilities.utils import load_resource

    jwk = load_resource("cognitoidp/resources/jwks-private.json")
    return jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(jwk)), str(jwk.get("kid", "dummy"))


def _bad_tokens(deployed: dict[str, Any]) -> dict[str, str]:
    """Every kind of token the authorizer must refuse with a 401 (issue 10, items 5 and 12)."""
    key: signing.SigningKey = deployed["signing_key"]
    claims = jwt.decode(deployed["admin"], options={"verify_signature": False})
    trusted = {"alg": "RS256", "kid": key.kid}

    def signed(header: Any = None, **changes: Any) -> str:
        return raw_token(trusted if header is None else header, {**claims, **changes}, key.private_key)

    def b64(value: Any) -> str:
        data = value if isinstance(value, bytes) else json.dumps(value).encode()
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    moto_key, moto_kid = _moto_published_key()
    public_pem = key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    payload = b64(claims)
    hs256 = b64({"alg": "HS256", "kid": key.kid}) + "." + payload  # the public key as an HMAC secret
    return {
        "aud list": signed(aud=["x", "y"]),
        "aud list holding the client": signed(aud=[deployed["client_id"]]),
        "aud number": signed(aud=42),
        "aud null": signed(aud=None),
        "iss list": signed(iss=[claims["iss"]]),
        "iss number": signed(iss=1),
        "exp string": signed(exp=str(claims["exp"])),
        "exp null": signed(exp=None),
        "exp beyond year 9999": signed(exp=10**30),
        "iat list": signed(iat=[claims["iat"]]),
        "token_use list": signed(token_use=["id"]),
        "claims a list": raw_token(trusted, [claims], key.private_key),
        "header a list": raw_token([trusted], claims, key.private_key),
        "kid missing": signed({"alg": "RS256"}),
        "kid list": signed({"alg": "RS256", "kid": [key.kid]}),
        "kid number": signed({"alg": "RS256", "kid": 1}),
        "bad base64 header": "!!!." + payload + ".c2ln",
        "bad base64 claims": b64(trusted) + ".%%%." + "c2ln",
        "bad base64 signature": signed()[:-4] + "$$$$",
        "header not json": b64(b"{not json") + "." + payload + ".c2ln",
        "wrong alg HS256 with the public key": hs256
        + "."
        + b64(hmac.new(public_pem, hs256.encode(), "sha256").digest()),
        "alg none": b64({"alg": "none", "kid": key.kid}) + "." + payload + ".",
        "alg none without signature part": b64({"alg": "none"}) + "." + payload,
        "huge header": signed({"alg": "RS256", "kid": key.kid + "x" * 200_000}),
        "signed with moto's published key": raw_token({"alg": "RS256", "kid": moto_kid}, claims, moto_key),
        "moto's key under the stack's kid": raw_token(trusted, claims, moto_key),
    }


BAD_TOKENS = [
    "aud list",
    "aud list holding the client",
    "aud number",
    "aud null",
    "iss list",
    "iss number",
    "exp string",
    "exp null",
    "exp beyond year 9999",
    "iat list",
    "token_use list",
    "claims a list",
    "header a list",
    "kid missing",
    "kid list",
    "kid number",
    "bad base64 header",
    "bad base64 claims",
    "bad base64 signature",
    "header not json",
    "wrong alg HS256 with the public key",
    "alg none",
    "alg none without signature part",
    "huge header",
    "signed with moto's published key",
    "moto's key under the stack's kid",
]


@pytest.mark.parametrize("case", BAD_TOKENS)
def test_every_malformed_token_is_401_as_api_gateway_answers(
    client: Client, fake: FakeLambda, deployed: dict[str, Any], case: str
) -> None:
    token = _bad_tokens(deployed)[case]
    response = client.get("/admin/inventory/SKU-1", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.json == {"message": "Unauthorized"}
    assert response.headers["x-amzn-ErrorType"] == "UnauthorizedException"
    assert fake.calls == []


def test_bad_token_table_is_complete(deployed: dict[str, Any]) -> None:
    assert sorted(_bad_tokens(deployed)) == sorted(BAD_TOKENS)


def test_staff_token_forged_with_motos_published_key_is_refused_while_issued_ones_pass(
    client: Client, fake: FakeLambda, deployed: dict[str, Any]
) -> None:
    claims = jwt.decode(deployed["admin"], options={"verify_signature": False})
    assert claims["cognito:groups"] == ["admin"]
    moto_key, moto_kid = _moto_published_key()
    forged = jwt.encode(claims, moto_key, algorithm="RS256", headers={"kid": moto_kid})
    refused = client.get("/admin/inventory/SKU-1", headers={"Authorization": f"Bearer {forged}"})
    assert refused.status_code == 401
    assert fake.calls == []
    issued = client.get("/admin/inventory/SKU-1", headers={"Authorization": f"Bearer {deployed['admin']}"})
    assert issued.status_code == 200
    assert fake.event["requestContext"]["authorizer"]["claims"]["cognito:groups"] == "admin"


def test_preflight_is_answered_from_the_mock_integration(client: Client, fake: FakeLambda) -> None:
    response = client.options("/products", headers={"Origin": "http://localhost:5173"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert response.headers["Access-Control-Allow-Headers"] == CORS_HEADERS
    assert response.headers["Access-Control-Allow-Methods"] == "OPTIONS,GET,POST"
    assert fake.calls == []
    other = client.options("/products", headers={"Origin": "https://evil.example"})
    assert other.headers["Access-Control-Allow-Origin"] == "https://shop.example"


def test_function_cors_headers_pass_through(client: Client, fake: FakeLambda) -> None:
    fake.response = {"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "*"}, "body": "[]"}
    assert client.get("/products").headers["Access-Control-Allow-Origin"] == "*"


def test_method_throttle_answers_429_with_retry_after(deployed: dict[str, Any], fake: FakeLambda) -> None:
    client = Client(deployed["gateway"])
    statuses = [client.get("/burst").status_code for _ in range(6)]
    assert statuses[:3] == [200, 200, 200]
    assert 429 in statuses[3:]
    response = client.get("/burst")
    assert response.status_code == 429
    assert response.json == {"message": "Too Many Requests"}
    assert int(response.headers["Retry-After"]) >= 1
    assert client.get("/products").status_code == 200


def test_token_bucket_is_thread_safe() -> None:
    bucket = TokenBucket(rate=0.001, burst=50)
    passed: list[bool] = []

    def hammer() -> None:
        for _ in range(20):
            passed.append(bucket.take() == 0.0)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert passed.count(True) == 50


def test_stage_throttle_from_method_settings() -> None:
    throttle = compile_throttle({"*/*": {"throttlingRateLimit": 2.0, "throttlingBurstLimit": 2}})
    assert [throttle.take("/a", "GET") == 0 for _ in range(3)] == [True, True, False]
    assert compile_throttle({}).take("/a", "GET") == 0


def test_localcloud_document(client: Client, deployed: dict[str, Any]) -> None:
    response = client.get("/_localcloud")
    assert response.status_code == 200
    assert response.json == {
        "motoUrl": deployed["moto_url"],
        "accountId": ACCOUNT,
        "region": REGION,
        "userPoolId": deployed["pool_id"],
        "userPoolClientId": deployed["client_id"],
    }


def test_probe_paths_cover_every_route(deployed: dict[str, Any]) -> None:
    paths = deployed["gateway"].probe_paths()
    assert "/products/PROBE" in paths
    assert "/carts/PROBE/items/PROBE" in paths
    assert "/files/PROBE" in paths
    assert "/admin" not in paths
    assert len(paths) == len({path for _, path, _, _ in ROUTES})


def test_access_log_line(client: Client, fake: FakeLambda, deployed: dict[str, Any]) -> None:
    stream = deployed["gateway"].log_stream
    stream.seek(0)
    stream.truncate()
    client.get("/products?limit=2")
    line = stream.getvalue().strip()
    assert '"GET /products HTTP/1.1" 200 2 ' in line
    assert line.endswith("ms")


def test_lambda_arn_from_integration_uri() -> None:
    uri = (
        "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/"
        "arn:aws:lambda:eu-west-1:123456789012:function:Fn:live/invocations"
    )
    assert lambda_arn(uri) == "arn:aws:lambda:eu-west-1:123456789012:function:Fn:live"
    assert lambda_arn("http://example.com") is None
