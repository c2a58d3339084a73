"""SES through the local cloud: the CloudFormation identity, capture of mail sent with the ses and
sesv2 APIs, `GET /_localcloud/mail`, and `shopstack mail`; and generated secrets."""

from __future__ import annotations

import json
import string
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest

from shopstack.cli import main
from shopstack.localcloud.cfn_models import generated_password, generated_secret

Aws = Callable[[str], Any]


def send(aws: Aws, outputs: dict[str, str], **event: str) -> str:
    response = aws("lambda").invoke(FunctionName=outputs["MailerName"], Payload=json.dumps(event))
    payload = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, payload
    return str(payload["messageId"])


def listed(gateway_url: str, query: str = "") -> list[dict[str, Any]]:
    import urllib.request

    with urllib.request.urlopen(f"{gateway_url}/_localcloud/mail{query}", timeout=10) as response:
        assert response.headers["Content-Type"] == "application/json"
        messages: list[dict[str, Any]] = json.loads(response.read())
    return messages


def test_the_cloudformation_identity_is_a_verified_domain(aws: Aws) -> None:
    ses = aws("ses")
    assert "shop.example" in ses.list_identities(IdentityType="Domain")["Identities"]
    identity = aws("sesv2").get_email_identity(EmailIdentity="shop.example")
    assert identity["IdentityType"] == "DOMAIN"
    assert identity["VerifiedForSendingStatus"] is True
    assert any("Mail" in c["Name"] for c in ses.list_configuration_sets()["ConfigurationSets"])


def test_any_address_at_the_domain_may_send_and_others_may_not(aws: Aws) -> None:
    ses = aws("ses")
    message = {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}
    ses.send_email(Source="anyone@shop.example", Destination={"ToAddresses": ["x@example.com"]}, Message=message)
    with pytest.raises(ses.exceptions.MessageRejected):
        ses.send_email(
            Source="someone@elsewhere.example", Destination={"ToAddresses": ["x@example.com"]}, Message=message
        )


def test_mail_sent_by_a_function_through_ses_and_sesv2_is_listed_newest_last(
    aws: Aws, outputs: dict[str, str], gateway_url: str
) -> None:
    to = f"{uuid.uuid4().hex[:8]}@example.com"
    first = send(aws, outputs, api="ses", to=to, subject="Order confirmed", text="Thanks", html="<p>Thanks</p>")
    second = send(aws, outputs, api="sesv2", to=to, subject="Order shipped", text="On its way")

    messages = [m for m in listed(gateway_url) if to in m["to"]]
    assert [m["id"] for m in messages] == [first, second]
    confirmed, shipped = messages
    assert confirmed["from"] == "Fixture Shop <orders@shop.example>"
    assert (confirmed["subject"], confirmed["text"], confirmed["html"]) == (
        "Order confirmed",
        "Thanks",
        "<p>Thanks</p>",
    )
    assert (shipped["subject"], shipped["text"], shipped["html"]) == ("Order shipped", "On its way", None)
    assert confirmed["sentAt"] <= shipped["sentAt"]
    assert listed(gateway_url, f"?to={to}") == messages


def test_raw_messages_are_listed_with_their_parts(aws: Aws, gateway_url: str) -> None:
    to = f"{uuid.uuid4().hex[:8]}@example.com"
    raw = EmailMessage()
    raw["From"], raw["To"], raw["Subject"] = "orders@shop.example", to, "Invoice"
    raw.set_content("Your invoice")
    raw.add_alternative("<h1>Your invoice</h1>", subtype="html")
    aws("sesv2").send_email(
        FromEmailAddress="orders@shop.example",
        Destination={"ToAddresses": [to]},
        Content={"Raw": {"Data": raw.as_bytes()}},
    )
    [message] = listed(gateway_url, f"?to={to}")
    assert message["subject"] == "Invoice"
    assert message["text"].strip() == "Your invoice"
    assert message["html"].strip() == "<h1>Your invoice</h1>"
    assert message["sentAt"]


def test_the_cli_prints_a_line_per_message_or_everything_as_json(
    aws: Aws, outputs: dict[str, str], gateway_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    to = f"{uuid.uuid4().hex[:8]}@example.com"
    send(aws, outputs, api="sesv2", to=to, subject="Delivered", text="Enjoy", html="<b>Enjoy</b>")

    assert main(["mail", "--endpoint", gateway_url, "--to", to]) == 0
    [line] = capsys.readouterr().out.strip().splitlines()
    assert "Fixture Shop <orders@shop.example> -> " + to in line
    assert line.endswith("Delivered")

    assert main(["mail", "--endpoint", gateway_url, "--to", to, "--json"]) == 0
    [message] = json.loads(capsys.readouterr().out)
    assert (message["text"], message["html"]) == ("Enjoy", "<b>Enjoy</b>")

    assert main(["mail", "--endpoint", gateway_url, "--to", "nobody@example.com"]) == 0
    assert capsys.readouterr().out.strip() == "no mail captured"


def test_the_cli_says_so_when_no_local_cloud_answers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mail", "--endpoint", "http://127.0.0.1:9"]) == 1
    assert "no local cloud mail" in capsys.readouterr().err


# --- generated secrets ---------------------------------------------------------------------------


def test_a_generated_secret_deploys_inside_its_template(aws: Aws, outputs: dict[str, str]) -> None:
    value = json.loads(aws("secretsmanager").get_secret_value(SecretId=outputs["CarrierSecretName"])["SecretString"])
    assert value["carrier"] == "local"
    assert len(value["signingSecret"]) == 40
    assert set(value["signingSecret"]) <= set(string.ascii_letters + string.digits)


def test_generated_passwords_follow_the_settings() -> None:
    plain = generated_password({"ExcludePunctuation": True, "ExcludeUppercase": True, "PasswordLength": 50})
    assert len(plain) == 50 and set(plain) <= set(string.ascii_lowercase + string.digits)
    assert any(c.isdigit() for c in plain) and any(c.islower() for c in plain)
    assert len(generated_password({})) == 32
    assert not set(generated_password({"ExcludeCharacters": "abc", "PasswordLength": 200})) & set("abc")
    assert generated_secret({"PasswordLength": 8, "ExcludePunctuation": True}).isalnum()
    with pytest.raises(ValueError):
        generated_password(
            {"ExcludeLowercase": True, "ExcludeUppercase": True, "ExcludeNumbers": True, "ExcludePunctuation": True}
        )
