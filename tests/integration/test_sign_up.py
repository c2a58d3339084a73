"""Customers sign up and sign in with the Cognito user pool CDK defines (email as user name, the
pool's password policy), through the same Cognito API a storefront calls, here the local pool."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shopstack.harness import LocalCloud

pytestmark = pytest.mark.integration


def test_a_customer_signs_up_signs_in_and_gets_a_profile(cloud: LocalCloud, aws: Any, outputs: dict[str, str]) -> None:
    idp = aws("cognito-idp")
    client_id = outputs["UserPoolClientId"]
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    with pytest.raises(idp.exceptions.InvalidPasswordException):
        idp.sign_up(
            ClientId=client_id, Username=email, Password="short", UserAttributes=[{"Name": "email", "Value": email}]
        )
    idp.sign_up(
        ClientId=client_id,
        Username=email,
        Password="Correct-Horse-Battery-9",
        UserAttributes=[{"Name": "email", "Value": email}],
    )
    # The code Cognito emails the customer, confirmed here by the pool's admin API.
    idp.admin_confirm_sign_up(UserPoolId=outputs["UserPoolId"], Username=email)
    tokens = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": "Correct-Horse-Battery-9"},
    )["AuthenticationResult"]
    me = cloud.request("GET", "/me", token=tokens["IdToken"])
    assert me.status == 200, me.text
    assert me.json["email"] == email
    assert cloud.request("GET", "/admin/orders", token=tokens["IdToken"]).status == 403
