"""Email the functions send through Amazon SES, captured by moto and listed by the local cloud.

moto's SES backend keeps every message it accepts (`sent_messages`); the `ses_capture_bodies` hook
adds both bodies and the time sent. `GET /_localcloud/mail` lists them, newest last, and
`shopstack mail` prints that list.
"""

from __future__ import annotations

import email
import email.policy
import json
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from typing import Any

MAIL_PATH = "/_localcloud/mail"
SUMMARY_SUBJECT_WIDTH = 60


class MailUnavailable(RuntimeError):
    """The endpoint does not list captured mail."""


def stamp(sent_messages: list[Any], message_id: str, *, text: str | None = None, html: str | None = None) -> None:
    """Attach both bodies and the sending time to the message moto just recorded."""
    for message in reversed(sent_messages):
        if getattr(message, "id", None) == message_id:
            message.local_text = text
            message.local_html = html
            message.local_sent_at = _now()
            return


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ses_backend(account_id: str, region: str) -> Any:
    from moto.ses.models import ses_backends

    return ses_backends[account_id][region]


def captured(account_id: str, region: str, to: str | None = None) -> list[dict[str, Any]]:
    """Every message moto's SES accepted, oldest first; with `to`, only those addressed to it."""
    messages = [describe(m) for m in list(ses_backend(account_id, region).sent_messages)]
    if to:
        messages = [m for m in messages if addressed_to(m, to)]
    return messages


def addressed_to(message: dict[str, Any], address: str) -> bool:
    wanted = parseaddr(address)[1].lower()
    recipients = [*message["to"], *message.get("cc", []), *message.get("bcc", [])]
    return any(parseaddr(r)[1].lower() == wanted for r in recipients)


def describe(message: Any) -> dict[str, Any]:
    if hasattr(message, "raw_data"):
        return _describe_raw(message)
    destinations = message.destinations if isinstance(message.destinations, dict) else {}
    text, html = _bodies(message)
    return {
        "id": message.id,
        "from": message.source,
        "to": list(destinations.get("ToAddresses", [])),
        "cc": list(destinations.get("CcAddresses", [])),
        "bcc": list(destinations.get("BccAddresses", [])),
        "subject": getattr(message, "subject", None) or getattr(message, "template", ""),
        "text": text,
        "html": html,
        "sentAt": getattr(message, "local_sent_at", None),
    }


def _bodies(message: Any) -> tuple[str | None, str | None]:
    if hasattr(message, "local_sent_at"):
        return message.local_text, message.local_html
    body = getattr(message, "body", None) or getattr(message, "template_data", None)
    if isinstance(body, str) and body.lstrip().startswith("<"):
        return None, body
    return body, None


def _describe_raw(message: Any) -> dict[str, Any]:
    parsed = email.message_from_string(message.raw_data, policy=email.policy.default)
    text, html = _mime_bodies(parsed)
    headers = {name: [a for _, a in getaddresses([str(parsed.get(name, ""))]) if a] for name in ("To", "Cc", "Bcc")}
    return {
        "id": message.id,
        "from": message.source or str(parsed.get("From", "")),
        "to": headers["To"] or [d for d in message.destinations],
        "cc": headers["Cc"],
        "bcc": headers["Bcc"],
        "subject": str(parsed.get("Subject", "")),
        "text": text,
        "html": html,
        "sentAt": getattr(message, "local_sent_at", None),
    }


def _mime_bodies(parsed: Any) -> tuple[str | None, str | None]:
    if not isinstance(parsed, EmailMessage):
        return None, None
    text = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    return (
        text.get_content() if text is not None else None,
        html.get_content() if html is not None else None,
    )


# --- `shopstack mail` ----------------------------------------------------------------------------


def fetch(endpoint: str, to: str | None = None) -> list[dict[str, Any]]:
    """The captured mail a local gateway lists."""
    query = f"?{urllib.parse.urlencode({'to': to})}" if to else ""
    url = endpoint.rstrip("/") + MAIL_PATH + query
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            messages: list[dict[str, Any]] = json.loads(response.read())
    except (OSError, ValueError) as exc:
        raise MailUnavailable(f"no local cloud mail at {endpoint}: {exc}") from exc
    return messages


def summary_line(message: dict[str, Any]) -> str:
    sent = (message.get("sentAt") or "-")[:19].replace("T", " ")
    to = ", ".join(message.get("to") or []) or "-"
    subject = message.get("subject") or "(no subject)"
    if len(subject) > SUMMARY_SUBJECT_WIDTH:
        subject = subject[: SUMMARY_SUBJECT_WIDTH - 1] + "…"
    return f"{sent}  {message.get('from', '-')} -> {to}  {subject}"


def render(messages: list[dict[str, Any]], *, as_json: bool) -> str:
    if as_json:
        return json.dumps(messages, indent=2)
    if not messages:
        return "no mail captured"
    return "\n".join(summary_line(m) for m in messages)
