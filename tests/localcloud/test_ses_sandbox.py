"""The SES sandbox (hook ses_sandbox): unverified senders and recipients fail as SES fails them,
CloudFormation's identities stay pending, sesv2 GetAccount reports it; production mode lifts it.
The runtime switch `PUT /_localcloud/ses` is tested through a local gateway."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from botocore.exceptions import ClientError

from shopstack.localcloud import ses_sandbox

Aws = Callable[[str], Any]
MESSAGE = {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}
CONTENT = {"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}}


@pytest.fixture
def sandbox() -> Iterator[None]:
    ses_sandbox.set_mode("sandbox")
    try:
        yield
    finally:
        ses_sandbox.set_mode("production")


@pytest.fixture(scope="module")
def endpoint(gateway_url: str) -> Iterator[str]:
    try:
        yield gateway_url
    finally:
        ses_sandbox.set_mode("production")


def _rejected(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    error: dict[str, Any] = caught.value.response["Error"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error


def test_sesv2_rejects_an_unverified_recipient_in_the_sandbox_with_ses_error(aws: Aws, sandbox: None) -> None:
    sesv2 = aws("sesv2")
    aws("ses").verify_email_identity(EmailAddress="allowed@example.com")
    to = f"{uuid.uuid4().hex[:8]}@example.org"
    error = _rejected(
        lambda: sesv2.send_email(
            FromEmailAddress="allowed@example.com", Destination={"ToAddresses": [to]}, Content=CONTENT
        )
    )
    assert error["Code"] == "MessageRejected"
    assert error["Message"] == (
        f"Email address is not verified. The following identities failed the check in region US-EAST-1: {to}"
    )


def test_the_cloudformation_identity_is_pending_in_the_sandbox_so_its_sender_fails(aws: Aws, sandbox: None) -> None:
    identity = aws("sesv2").get_email_identity(EmailIdentity="shop.example")
    assert identity["VerifiedForSendingStatus"] is False
    assert identity["VerificationStatus"] == "PENDING"
    aws("ses").verify_email_identity(EmailAddress="verified-recipient@example.com")
    error = _rejected(
        lambda: aws("ses").send_email(
            Source="orders@shop.example",
            Destination={"ToAddresses": ["verified-recipient@example.com"]},
            Message=MESSAGE,
        )
    )
    assert error["Code"] == "MessageRejected"
    assert error["Message"].endswith("in region US-EAST-1: orders@shop.example")


def test_raw_mail_checks_the_recipients_in_its_headers(aws: Aws, sandbox: None) -> None:
    aws("ses").verify_email_identity(EmailAddress="raw-sender@example.com")
    raw = EmailMessage()
    raw["From"], raw["To"], raw["Subject"] = "raw-sender@example.com", "stranger@example.net", "Invoice"
    raw.set_content("Your invoice")
    error = _rejected(lambda: aws("ses").send_raw_email(RawMessage={"Data": raw.as_bytes()}))
    assert error["Message"].endswith(": stranger@example.net")


def test_verified_sender_and_recipient_may_send_in_the_sandbox(aws: Aws, sandbox: None) -> None:
    ses = aws("ses")
    ses.verify_email_identity(EmailAddress="me@example.com")
    ses.verify_email_identity(EmailAddress="you@example.com")
    sent = ses.send_email(Source="me@example.com", Destination={"ToAddresses": ["you@example.com"]}, Message=MESSAGE)
    assert sent["MessageId"]


def test_get_account_reports_the_sandbox_and_its_quota(aws: Aws, sandbox: None) -> None:
    account = aws("sesv2").get_account()
    assert account["ProductionAccessEnabled"] is False
    assert account["SendQuota"]["Max24HourSend"] == 200.0
    assert account["SendingEnabled"] is True


def test_production_mode_verifies_cloudformation_identities_and_allows_any_recipient(aws: Aws) -> None:
    ses_sandbox.set_mode("production")
    assert aws("sesv2").get_account()["ProductionAccessEnabled"] is True
    assert aws("sesv2").get_email_identity(EmailIdentity="shop.example")["VerifiedForSendingStatus"] is True
    aws("sesv2").send_email(
        FromEmailAddress="orders@shop.example", Destination={"ToAddresses": ["anyone@example.org"]}, Content=CONTENT
    )
    error = _rejected(
        lambda: aws("ses").send_email(
            Source="nobody@unverified.example", Destination={"ToAddresses": ["a@example.org"]}, Message=MESSAGE
        )
    )
    assert error["Message"].endswith("in region US-EAST-1: nobody@unverified.example")


def _call(endpoint: str, method: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{endpoint}/_localcloud/ses", data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_runtime_switch_changes_the_mode(aws: Aws, endpoint: str) -> None:
    assert _call(endpoint, "PUT", {"mode": "sandbox"}) == (200, {"mode": "sandbox"})
    assert _call(endpoint, "GET") == (200, {"mode": "sandbox"})
    assert aws("sesv2").get_account()["ProductionAccessEnabled"] is False
    assert _call(endpoint, "PUT", {"mode": "production"}) == (200, {"mode": "production"})
    assert aws("sesv2").get_account()["ProductionAccessEnabled"] is True
    status, document = _call(endpoint, "PUT", {"mode": "lenient"})
    assert status == 400 and "sandbox, production" in document["message"]
