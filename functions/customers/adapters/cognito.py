"""The Cognito user pool as the customers' user directory."""

from __future__ import annotations

from functools import cache
from typing import Any

from commerce.config import setting


@cache
def _client() -> Any:
    import boto3

    return boto3.client("cognito-idp")


class CognitoUsers:
    """The `UserDirectory` port: deletes a user; a user already gone is not an error."""

    def delete_user(self, username: str) -> None:
        client = _client()
        try:
            client.admin_delete_user(UserPoolId=setting("USER_POOL_ID"), Username=username)
        except client.exceptions.UserNotFoundException:
            return
