"""`shopstack doctor`: what the operator still has to do before (or after) a deploy works.

Each check is a pure function of `Facts` (fetched once, by `gather`) returning a `Finding`: what is
wrong and the command or console step that fixes it. Against AWS the facts come from the operator's
credentials (boto3's default chain, region from the environment); with `--endpoint URL` from the
local cloud behind that gateway. The exit status is 0 only when nothing remains to do.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CDK_JSON = ROOT / "cdk.json"
BOOTSTRAP_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
DEFAULT_BOOTSTRAP_VERSION = 6
"""What CDK v2's stacks require when no synthesized assembly says otherwise."""
DEFAULT_MAIL_FROM = "orders@shopstack.example"
CREATE = "create"
STRIPE_OUTPUT = "StripeSecretName"
SECRET_KEY_PREFIXES = ("sk_test_", "sk_live_", "rk_test_", "rk_live_")
WEBHOOK_SECRET_PREFIX = "whsec_"
PLACEHOLDER_MARK = "replace_me"


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    summary: str
    fix: str = ""


@dataclass
class Facts:
    """What the checks need to know, as read from the account (None: could not be read)."""

    stage: str
    region: str
    account: str
    local: bool
    mail_from: str
    api_gateway_account_role: str = CREATE
    mail_identity: str = CREATE
    required_bootstrap_version: int = DEFAULT_BOOTSTRAP_VERSION
    stripe_secret_name: str = ""
    stripe_secret: str | None = None
    stripe_secret_exists: bool = False
    sender_identities: dict[str, dict[str, Any]] = field(default_factory=dict)
    """sesv2 GetEmailIdentity of the sender address and of its domain, where they exist."""
    ses_production_access: bool | None = None
    api_access_logs: bool = True
    api_deployed: bool = False
    cloudwatch_role_arn: str | None = None
    bootstrap_version: str | None = None
    errors: dict[str, str] = field(default_factory=dict)
    """Check name -> why its facts could not be read."""


# --- the checks ----------------------------------------------------------------------------------


def stripe_problems(raw: str | None) -> list[str]:
    """What stops the secret's value from taking payments (the same rules checkout applies)."""
    if raw is None or not raw.strip():
        return ["the secret is empty"]
    try:
        value = json.loads(raw)
    except ValueError:
        return ["the secret is not a JSON object"]
    if not isinstance(value, dict):
        return ["the secret is not a JSON object"]
    problems = []
    for field_name, prefixes, kind in (
        ("secretKey", SECRET_KEY_PREFIXES, "a Stripe secret or restricted key (sk_live_, sk_test_, rk_...)"),
        ("webhookSecret", (WEBHOOK_SECRET_PREFIX,), "a webhook signing secret (whsec_...)"),
    ):
        item = value.get(field_name)
        if not isinstance(item, str) or not item.strip():
            problems.append(f"{field_name} is missing")
        elif PLACEHOLDER_MARK in item:
            problems.append(f"{field_name} is still the placeholder")
        elif not item.startswith(prefixes):
            problems.append(f"{field_name} is not {kind}")
    return problems


def check_stripe(facts: Facts) -> Finding:
    name = facts.stripe_secret_name or f"shopstack/{facts.stage}/stripe"
    put = (
        f"aws secretsmanager put-secret-value --secret-id {name} --secret-string "
        """'{"secretKey":"sk_live_...","webhookSecret":"whsec_..."}' """
        "(keys from dashboard.stripe.com: Developers > API keys, and the signing secret of the "
        "webhook endpoint <api>/webhooks/stripe)"
    )
    if "stripe" in facts.errors:
        return Finding("stripe", False, f"Stripe keys: could not read {name}: {facts.errors['stripe']}", put)
    if not facts.stripe_secret_exists:
        return Finding(
            "stripe",
            False,
            f"Stripe keys: secret {name} does not exist yet",
            f"deploy the stacks (cdk deploy --all -c stage={facts.stage}), then: {put}",
        )
    problems = stripe_problems(facts.stripe_secret)
    if problems:
        return Finding("stripe", False, f"Stripe keys missing in {name}: {'; '.join(problems)}", put)
    return Finding("stripe", True, f"Stripe keys in {name} look usable")


def sender_verified(facts: Facts) -> bool:
    return any(
        identity.get("VerifiedForSendingStatus") or identity.get("VerificationStatus") == "SUCCESS"
        for identity in facts.sender_identities.values()
    )


def check_sender(facts: Facts) -> Finding:
    address = facts.mail_from
    domain = address.rsplit("@", 1)[-1]
    if "ses_identity" in facts.errors:
        return Finding("ses_identity", False, f"SES sender {address}: {facts.errors['ses_identity']}")
    if sender_verified(facts):
        return Finding("ses_identity", True, f"SES sender {address} is verified")
    fix = (
        f"verify it in SES ({facts.region}): open the verification mail AWS sent to {address} and follow "
        f"its link, or verify the whole domain {domain} by publishing its DKIM records "
        f"(aws sesv2 get-email-identity --email-identity {domain}). If {domain} is not a domain you "
        f"control, set context mailFrom to an address you own (cdk.json or -c mailFrom=...)"
    )
    if not facts.sender_identities:
        created = facts.mail_identity == CREATE
        where = "the deploy creates it" if created else "context mailIdentity=existing expects it to exist"
        fix = f"{where}: aws sesv2 create-email-identity --email-identity {address} (or deploy), then {fix}"
        return Finding("ses_identity", False, f"SES sender {address} is not an identity yet", fix)
    status = next(iter(facts.sender_identities.values())).get("VerificationStatus", "PENDING")
    return Finding("ses_identity", False, f"SES sender {address} is not verified ({status})", fix)


def check_ses_account(facts: Facts) -> Finding:
    if "ses_account" in facts.errors:
        return Finding("ses_account", False, f"SES account: could not read it: {facts.errors['ses_account']}")
    if facts.ses_production_access:
        return Finding("ses_account", True, "SES account has production access")
    return Finding(
        "ses_account",
        False,
        f"SES account in {facts.region} is in the sandbox: only verified recipients receive mail, 200 a day",
        "request production access: SES console > Account dashboard > Request production access, or "
        f"aws sesv2 put-account-details --region {facts.region} --production-access-enabled "
        "--mail-type TRANSACTIONAL --website-url https://<your shop> "
        '--use-case-description "Order confirmations and shipping notices to customers"',
    )


def check_api_logs_role(facts: Facts) -> Finding:
    if not facts.api_access_logs:
        return Finding("api_logs_role", True, "API Gateway access logs are off: no account role needed")
    if "api_logs_role" in facts.errors:
        return Finding("api_logs_role", False, f"API Gateway account: {facts.errors['api_logs_role']}")
    if facts.cloudwatch_role_arn:
        return Finding("api_logs_role", True, f"API Gateway account CloudWatch role set ({facts.cloudwatch_role_arn})")
    if facts.api_gateway_account_role == CREATE and not facts.api_deployed:
        return Finding("api_logs_role", True, "API Gateway account CloudWatch role: the deploy sets it")
    return Finding(
        "api_logs_role",
        False,
        f"API Gateway in {facts.region} has no CloudWatch Logs role: a stage with access logs cannot be created",
        f"deploy with context apiGatewayAccountRole=create (one stack per account and region owns it), or "
        f"aws apigateway update-account --region {facts.region} --patch-operations "
        "op=replace,path=/cloudwatchRoleArn,value=arn:aws:iam::<account>:role/<role trusting "
        "apigateway.amazonaws.com with AmazonAPIGatewayPushToCloudWatchLogs>",
    )


def check_bootstrap(facts: Facts) -> Finding:
    target = f"aws://{facts.account or '<account>'}/{facts.region}"
    fix = f"npx cdk bootstrap {target}"
    if "bootstrap" in facts.errors:
        return Finding("bootstrap", False, f"CDK bootstrap: {facts.errors['bootstrap']}", fix)
    if facts.bootstrap_version is None:
        return Finding("bootstrap", False, f"CDK bootstrap: {target} is not bootstrapped", fix)
    try:
        version = int(facts.bootstrap_version)
    except ValueError:
        return Finding("bootstrap", False, f"CDK bootstrap version {facts.bootstrap_version!r} is not a number", fix)
    if version < facts.required_bootstrap_version:
        return Finding(
            "bootstrap",
            False,
            f"CDK bootstrap version {version} is older than the {facts.required_bootstrap_version} the stacks need",
            fix,
        )
    return Finding("bootstrap", True, f"CDK bootstrap version {version} (needs {facts.required_bootstrap_version})")


def check_credentials(facts: Facts) -> Finding:
    if facts.local or facts.account:
        return Finding("credentials", True, f"credentials for {'the local cloud' if facts.local else facts.account}")
    return Finding(
        "credentials",
        False,
        "AWS credentials: none usable, so nothing else could be checked",
        "aws configure (or aws sso login / export AWS_PROFILE=...), and AWS_REGION for the region to deploy to",
    )


CHECKS: tuple[Callable[[Facts], Finding], ...] = (
    check_credentials,
    check_bootstrap,
    check_api_logs_role,
    check_stripe,
    check_sender,
    check_ses_account,
)


def diagnose(facts: Facts) -> list[Finding]:
    return [check(facts) for check in CHECKS]


def render(findings: Iterable[Finding], facts: Facts) -> str:
    findings = list(findings)
    where = "the local cloud" if facts.local else f"AWS account {facts.account or '?'} in {facts.region}"
    lines = [f"shopstack doctor: stage {facts.stage} on {where}"]
    for finding in findings:
        lines.append(f"  {'ok  ' if finding.ok else 'TODO'}  {finding.summary}")
        if not finding.ok and finding.fix:
            lines.append(f"        fix: {finding.fix}")
    todo = sum(not f.ok for f in findings)
    lines.append("all is ready" if todo == 0 else f"{todo} thing(s) left to do")
    return "\n".join(lines)


# --- context and the synthesized assembly --------------------------------------------------------


def context(path: Path = CDK_JSON) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    found: dict[str, Any] = document.get("context", {})
    return found


def for_stage(value: Any, stage: str, default: str) -> str:
    """A context value given once (a string) or per stage (`{"<stage>": ..., "default": ...}`)."""
    if isinstance(value, dict):
        return str(value.get(stage, value.get("default", default)))
    return str(value) if value is not None else default


def required_bootstrap_version(root: Path = ROOT) -> int:
    """The highest `requiresBootstrapStackVersion` of the newest synthesized assembly (cdk.out, or
    the local cloud's cache), else CDK's default."""
    manifests = [root / "cdk.out" / "manifest.json", *sorted((root / ".shopstack" / "cdk.out").glob("*/manifest.json"))]
    present = [m for m in manifests if m.is_file()]
    if not present:
        return DEFAULT_BOOTSTRAP_VERSION
    newest = max(present, key=lambda m: m.stat().st_mtime)
    try:
        artifacts = json.loads(newest.read_text()).get("artifacts", {})
    except (OSError, ValueError):
        return DEFAULT_BOOTSTRAP_VERSION
    versions = [
        int(a.get("properties", {}).get("requiresBootstrapStackVersion", 0))
        for a in artifacts.values()
        if isinstance(a, dict)
    ]
    return max([DEFAULT_BOOTSTRAP_VERSION, *versions])


# --- gathering the facts -------------------------------------------------------------------------

ClientFactory = Callable[[str], Any]


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _describe(exc: Exception) -> str:
    return f"{_error_code(exc) or type(exc).__name__}: {exc}"


def gather(client: ClientFactory, *, stage: str, region: str, account: str, local: bool, root: Path = ROOT) -> Facts:
    ctx = context(root / "cdk.json")
    facts = Facts(
        stage=stage,
        region=region,
        account=account,
        local=local,
        mail_from=for_stage(ctx.get("mailFrom"), stage, DEFAULT_MAIL_FROM),
        api_gateway_account_role=for_stage(ctx.get("apiGatewayAccountRole"), stage, CREATE),
        mail_identity=for_stage(ctx.get("mailIdentity"), stage, CREATE),
        required_bootstrap_version=required_bootstrap_version(root),
    )
    _gather_bootstrap(client, facts)
    _gather_api(client, facts)
    _gather_stripe(client, facts)
    _gather_ses(client, facts)
    return facts


def _gather_bootstrap(client: ClientFactory, facts: Facts) -> None:
    try:
        facts.bootstrap_version = str(client("ssm").get_parameter(Name=BOOTSTRAP_PARAMETER)["Parameter"]["Value"])
    except Exception as exc:
        if _error_code(exc) != "ParameterNotFound":
            facts.errors["bootstrap"] = _describe(exc)


def _gather_api(client: ClientFactory, facts: Facts) -> None:
    try:
        apigateway = client("apigateway")
        facts.cloudwatch_role_arn = apigateway.get_account().get("cloudwatchRoleArn") or None
        wanted = f"shopstack-{facts.stage}-"
        apis = [a for a in apigateway.get_rest_apis(limit=500).get("items", []) if a.get("name", "").startswith(wanted)]
        facts.api_deployed = bool(apis)
    except Exception as exc:
        facts.errors["api_logs_role"] = _describe(exc)


def stripe_secret_candidates(stage: str, outputs: Iterable[tuple[str, str, str]]) -> list[str]:
    """Where the stage's Stripe secret may be: its conventional name first, then any stack output
    StripeSecretName of a stack of this stage. `outputs` are (stack, key, value)."""
    conventional = f"shopstack/{stage}/stripe"
    found = [conventional]
    for stack, key, value in outputs:
        if key == STRIPE_OUTPUT and value not in found and (f"/{stage}/" in value or f"-{stage}-" in stack):
            found.append(value)
    return found


def _stack_outputs(client: ClientFactory) -> list[tuple[str, str, str]]:
    outputs: list[tuple[str, str, str]] = []
    for page in client("cloudformation").get_paginator("describe_stacks").paginate():
        for stack in page["Stacks"]:
            outputs.extend((stack["StackName"], o["OutputKey"], o["OutputValue"]) for o in stack.get("Outputs", []))
    return outputs


def _gather_stripe(client: ClientFactory, facts: Facts) -> None:
    secrets = client("secretsmanager")
    candidates = [f"shopstack/{facts.stage}/stripe"]
    try:
        candidates = stripe_secret_candidates(facts.stage, _stack_outputs(client))
    except Exception as exc:  # outputs are a fallback only
        facts.errors.setdefault("stripe_outputs", _describe(exc))
    facts.stripe_secret_name = candidates[0]
    for name in candidates:
        try:
            value = secrets.get_secret_value(SecretId=name)
        except Exception as exc:
            if _error_code(exc) == "ResourceNotFoundException":
                continue
            facts.errors["stripe"] = _describe(exc)
            return
        facts.stripe_secret_name = name
        facts.stripe_secret_exists = True
        facts.stripe_secret = value.get("SecretString")
        return


def _gather_ses(client: ClientFactory, facts: Facts) -> None:
    sesv2 = client("sesv2")
    address = facts.mail_from
    for identity in (address, address.rsplit("@", 1)[-1].lower()):
        try:
            facts.sender_identities[identity] = sesv2.get_email_identity(EmailIdentity=identity)
        except Exception as exc:
            if _error_code(exc) not in ("NotFoundException", "NotFound", "ResourceNotFoundException"):
                facts.errors["ses_identity"] = _describe(exc)
    try:
        facts.ses_production_access = bool(sesv2.get_account().get("ProductionAccessEnabled"))
    except Exception as exc:
        facts.errors["ses_account"] = _describe(exc)


# --- the command ---------------------------------------------------------------------------------


def aws_clients(endpoint: str | None) -> tuple[ClientFactory, str, str, bool]:
    """A client factory, region, account id and whether it is the local cloud."""
    import boto3

    if endpoint:
        from shopstack.localcloud.tokens import LOCAL_CREDENTIALS, local_cloud_info

        info = local_cloud_info(endpoint)
        session = boto3.session.Session(region_name=info["region"], **LOCAL_CREDENTIALS)
        moto_url = info["motoUrl"]
        return (
            (lambda service: session.client(service, endpoint_url=moto_url)),
            info["region"],
            str(info.get("accountId") or ""),
            True,
        )
    from botocore.config import Config

    config = Config(connect_timeout=5, read_timeout=20, retries={"max_attempts": 3, "mode": "standard"})
    session = boto3.session.Session()
    region = session.region_name or "us-east-1"
    try:
        account = str(session.client("sts", config=config).get_caller_identity()["Account"])
    except Exception as exc:
        print(f"shopstack doctor: no AWS credentials usable ({_describe(exc)})", file=sys.stderr)
        account = ""
    return (lambda service: session.client(service, region_name=region, config=config)), region, account, False


def run(*, stage: str | None, endpoint: str | None) -> int:
    from shopstack.localcloud.tokens import LocalCloudUnavailable

    stage = stage or str(context().get("stage", "dev"))
    try:
        client, region, account, local = aws_clients(endpoint)
    except LocalCloudUnavailable as exc:
        print(f"shopstack doctor: {exc}", file=sys.stderr)
        return 2
    facts = gather(client, stage=stage, region=region, account=account, local=local)
    findings = diagnose(facts)
    print(render(findings, facts))
    return 0 if all(f.ok for f in findings) else 1
