"""SES as a new AWS account has it: the sandbox, unless the local cloud runs in production mode.

In the sandbox only verified identities may send and receive (every sender and every recipient
must be a verified address or sit at a verified domain), at most 200 messages a day, and an
identity CloudFormation creates for an address or domain nobody can verify stays pending.
Production mode stands for an account with production access whose sender identity was
verified: CloudFormation's identities count as verified and any recipient may receive.

Identities created through the API (VerifyEmailIdentity, CreateEmailIdentity) verify at once, as
if their owner had clicked the link, so tests can allow a recipient in the sandbox.
`shopstack up --ses sandbox|production` picks the mode; `PUT /_localcloud/ses` changes it.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Iterable
from email.utils import getaddresses, parseaddr
from typing import Any

SANDBOX = "sandbox"
PRODUCTION = "production"
MODES = (SANDBOX, PRODUCTION)
SANDBOX_QUOTA = {"Max24HourSend": 200.0, "MaxSendRate": 1.0}
PRODUCTION_QUOTA = {"Max24HourSend": 50000.0, "MaxSendRate": 14.0}
DAY_SECONDS = 86400.0
PENDING = "PENDING"
SUCCESS = "SUCCESS"

_state: dict[str, Any] = {"mode": SANDBOX}
_sent: collections.deque[float] = collections.deque()
_lock = threading.Lock()


def mode() -> str:
    return str(_state["mode"])


def set_mode(new_mode: str) -> None:
    """Switch the sandbox on or off, and bring CloudFormation's identities in line."""
    if new_mode not in MODES:
        raise ValueError(f"SES mode must be one of {', '.join(MODES)}, got {new_mode!r}")
    _state["mode"] = new_mode
    for backend in _ses_backends():
        for identity in backend.email_identities.values():
            if getattr(identity, "local_from_cloudformation", False):
                settle(identity)


def settle(identity: Any) -> None:
    """A CloudFormation identity's status in the current mode: pending in the sandbox (nobody can
    verify an address at shopstack.example), verified with production access."""
    verified = mode() == PRODUCTION
    identity.verified_for_sending_status = verified
    identity.verification_status = SUCCESS if verified else PENDING


def _ses_backends() -> Iterable[Any]:
    from moto.ses.models import ses_backends

    for account in list(ses_backends.values()):
        yield from list(account.values())


# --- the checks SES makes before it accepts a message --------------------------------------------


def is_verified(backend: Any, address: str) -> bool:
    """An address is verified when it, or its domain, is a verified identity."""
    address = parseaddr(address)[1] or address
    domain = address.rsplit("@", 1)[-1].lower()
    for name in (address, domain):
        identity = backend.email_identities.get(name)
        if identity is not None and identity.verification_status == SUCCESS:
            return True
    return False


def failed_identities(backend: Any, source: str | None, recipients: Iterable[str]) -> list[str]:
    """The identities SES would name in its rejection, sender first."""
    failed: list[str] = []
    if source and not is_verified(backend, source):
        failed.append(parseaddr(source)[1] or source)
    if mode() == SANDBOX:
        for recipient in recipients:
            address = parseaddr(recipient)[1] or recipient
            if address and address not in failed and not is_verified(backend, address):
                failed.append(address)
    return failed


def rejection_message(failed: list[str], region: str) -> str:
    return (
        "Email address is not verified. The following identities failed the check in region "
        f"{region.upper()}: {', '.join(failed)}"
    )


def check_send(backend: Any, source: str | None, recipients: Iterable[str]) -> None:
    """Raise SES's MessageRejected for an unverified sender (or, in the sandbox, recipient), and
    its daily-quota error past 200 messages a day in the sandbox."""
    from moto.ses.exceptions import MessageRejectedError

    recipients = [r for r in recipients if r]
    failed = failed_identities(backend, source, recipients)
    if failed:
        raise MessageRejectedError(rejection_message(failed, backend.region_name))
    with _lock:
        now = time.time()
        while _sent and now - _sent[0] > DAY_SECONDS:
            _sent.popleft()
        if mode() == SANDBOX and len(_sent) + len(recipients) > SANDBOX_QUOTA["Max24HourSend"]:
            from moto.core.exceptions import ServiceException

            raise ServiceException("Throttling", "Daily message quota exceeded.")
        _sent.extend([now] * max(1, len(recipients)))


def destination_addresses(destinations: Any) -> list[str]:
    """Recipients of SendEmail's Destination (a dict of lists) or SendRawEmail's (a list)."""
    if isinstance(destinations, dict):
        return [a for key in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destinations.get(key) or []]
    return [str(a) for a in destinations or []]


def raw_recipients(raw_data: str) -> list[str]:
    import email

    message = email.message_from_string(raw_data)
    values = [str(message[h]) for h in ("To", "Cc", "Bcc") if message[h]]
    return [address for _, address in getaddresses(values) if address]


def raw_sender(source: str | None, raw_data: str) -> str | None:
    if source:
        return source
    import email

    return parseaddr(str(email.message_from_string(raw_data).get("From", "")))[1] or None


# --- sesv2 GetAccount ----------------------------------------------------------------------------


def account(backend: Any) -> dict[str, Any]:
    """sesv2 GetAccount as a fresh account (sandbox) or one with production access reports it."""
    with _lock:
        now = time.time()
        sent = sum(1 for t in _sent if now - t <= DAY_SECONDS)
    production = mode() == PRODUCTION
    quota = PRODUCTION_QUOTA if production else SANDBOX_QUOTA
    return {
        "DedicatedIpAutoWarmupEnabled": False,
        "EnforcementStatus": "HEALTHY",
        "ProductionAccessEnabled": production,
        "SendQuota": {**quota, "SentLast24Hours": float(sent)},
        "SendingEnabled": True,
        "SuppressionAttributes": {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]},
    }
