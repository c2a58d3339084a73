"""ID tokens for local users, signed by the local Cognito user pool the local gateway trusts."""

from __future__ import annotations

import contextlib
import json
import urllib.request
from typing import Any

LOCAL_PASSWORD = "Local-Passw0rd!"
ADMIN_GROUP = "admin"
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class LocalCloudUnavailable(RuntimeError):
    """The endpoint does not answer as a local gateway does."""


def issue_token(endpoint: str, email: str, *, admin: bool = False) -> str:
    """An ID token for `email`, creating the user on first use; `admin` adds it to group admin."""
    info = local_cloud_info(endpoint)
    pool_id, client_id = info.get("userPoolId"), info.get("userPoolClientId")
    if not pool_id or not client_id:
        raise LocalCloudUnavailable(f"{endpoint} has no user pool with an app client")
    client = _cognito(info["motoUrl"], info["region"], info.get("accountId"))
    ensure_user(client, pool_id, email)
    if admin:
        _add_to_group(client, pool_id, email, ADMIN_GROUP)
    result = client.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": LOCAL_PASSWORD},
    )
    token: str = result["AuthenticationResult"]["IdToken"]
    return token


def local_cloud_info(endpoint: str) -> dict[str, Any]:
    url = endpoint.rstrip("/") + "/_localcloud"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            info: dict[str, Any] = json.loads(response.read())
    except (OSError, ValueError) as exc:
        raise LocalCloudUnavailable(f"no local cloud at {endpoint}: {exc}") from exc
    return info


def ensure_user(client: Any, pool_id: str, email: str) -> None:
    with contextlib.suppress(client.exceptions.UsernameExistsException):
        client.admin_create_user(
            UserPoolId=pool_id,
            Username=email,
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
            ],
            MessageAction="SUPPRESS",
        )
    client.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=LOCAL_PASSWORD, Permanent=True)


def _add_to_group(client: Any, pool_id: str, email: str, group: str) -> None:
    try:
        client.get_group(UserPoolId=pool_id, GroupName=group)
    except client.exceptions.ResourceNotFoundException:
        client.create_group(UserPoolId=pool_id, GroupName=group)
    client.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=group)


def _cognito(moto_url: str, region: str, account_id: str | None) -> Any:
    import boto3

    client = boto3.session.Session().client(
        "cognito-idp", endpoint_url=moto_url, region_name=region, **LOCAL_CREDENTIALS
    )
    if account_id:

        def pin_account(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account_id

        client.meta.events.register("before-sign.*.*", pin_account)
    return client
