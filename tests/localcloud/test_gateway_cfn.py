"""The gateway over a REST API deployed by moto's CloudFormation, which drops parts of the template.

Plain moto keeps neither a MOCK integration's responses nor AWS::ApiGateway::GatewayResponse
resources; the gateway reads those from the stack's template.
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from moto.backends import get_backend
from moto.server import ThreadedMotoServer
from werkzeug.test import Client

from shopstack.localcloud.gateway import LocalGateway
from tests.localcloud.test_gateway import aws_client

REGION = "us-east-1"
ACCOUNT = "000000000045"
FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:InventoryApi"
ALLOW_HEADERS = "'Authorization,Idempotency-Key'"
PROBLEM = (
    '{"type":"about:blank","title":"Not Found","status":404,'
    '"detail":$context.error.messageString,"code":"$context.error.responseType"}'
)


def _method(verb: str, integration: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::ApiGateway::Method",
        "Properties": {
            "RestApiId": {"Ref": "Api"},
            "ResourceId": {"Ref": "Products"},
            "HttpMethod": verb,
            "AuthorizationType": "NONE",
            "Integration": integration,
        },
    }


TEMPLATE = {
    "Resources": {
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "shopstack-v1"}},
        "Products": {
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {
                "RestApiId": {"Ref": "Api"},
                "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                "PathPart": "products",
            },
        },
        "ProductsGet": _method(
            "GET",
            {
                "Type": "AWS_PROXY",
                "IntegrationHttpMethod": "POST",
                "Uri": {
                    "Fn::Join": [
                        "",
                        [
                            "arn:",
                            {"Ref": "AWS::Partition"},
                            f":apigateway:{REGION}:lambda:path/2015-03-31/functions/{FN}/invocations",
                        ],
                    ]
                },
            },
        ),
        "ProductsOptions": _method(
            "OPTIONS",
            {
                "Type": "MOCK",
                "IntegrationHttpMethod": "OPTIONS",
                "Uri": "",
                "RequestTemplates": {"application/json": "{ statusCode: 200 }"},
                "IntegrationResponses": [
                    {
                        "StatusCode": "204",
                        "ResponseParameters": {
                            "method.response.header.Access-Control-Allow-Headers": ALLOW_HEADERS,
                            "method.response.header.Access-Control-Allow-Origin": "'*'",
                            "method.response.header.Access-Control-Allow-Methods": "'OPTIONS,GET'",
                        },
                    }
                ],
            },
        ),
        "UnknownRoute": {
            "Type": "AWS::ApiGateway::GatewayResponse",
            "Properties": {
                "RestApiId": {"Ref": "Api"},
                "ResponseType": "MISSING_AUTHENTICATION_TOKEN",
                "StatusCode": "404",
                "ResponseParameters": {"gatewayresponse.header.Content-Type": "'application/problem+json'"},
                "ResponseTemplates": {"application/json": PROBLEM},
            },
        },
        "Deployment": {
            "Type": "AWS::ApiGateway::Deployment",
            "DependsOn": ["ProductsGet", "ProductsOptions"],
            "Properties": {"RestApiId": {"Ref": "Api"}, "StageName": "v1"},
        },
    }
}


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            aws_client("cloudformation", moto_url, ACCOUNT).create_stack(
                StackName="ShopstackApi", TemplateBody=json.dumps(TEMPLATE)
            )
        gateway = LocalGateway(
            region=REGION,
            account_id=ACCOUNT,
            invoke=lambda arn, event: {
                "statusCode": 200,
                "body": json.dumps({"arn": arn, "path": event["path"]}),
            },
            moto_url=moto_url,
        )
        gateway.log_stream = io.StringIO()
        gateway.refresh()
        yield Client(gateway)
    finally:
        moto.stop()
        for service in ("cloudformation", "apigateway"):
            get_backend(service)[ACCOUNT][REGION].reset()


def test_lambda_route_from_the_template(client: Client) -> None:
    response = client.get("/products")
    assert response.status_code == 200
    assert response.json == {"arn": FN, "path": "/products"}


def test_preflight_headers_come_from_the_template(client: Client) -> None:
    response = client.options("/products", headers={"Origin": "http://localhost:3000"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Headers"] == "Authorization,Idempotency-Key"
    assert response.data == b""


def test_gateway_response_from_the_template(client: Client) -> None:
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "Missing Authentication Token",
        "code": "MISSING_AUTHENTICATION_TOKEN",
    }
