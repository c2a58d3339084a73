"""Typed view of the app's context (cdk.json `context`, overridable with `cdk -c key=value`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Node

REPO_ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = REPO_ROOT / "cdk.json"

RUNTIME = lambda_.Runtime.PYTHON_3_14
"""The newest Python runtime aws-cdk-lib offers; every function and the shared layer use it."""

ARCHITECTURE = lambda_.Architecture.ARM_64
PIP_PLATFORM = "manylinux2014_aarch64"

DEFAULT_MAIL_FROM = "orders@shopstack.example"
DEFAULT_SHOP_NAME = "shopstack"
DEFAULT_RATE_LIMIT_PER_IP = 2000
DEFAULT_CHECKOUT_RATE_LIMIT_PER_IP = 100

STRIPE_WITHIN_API_TIMEOUT = {"STRIPE_TIMEOUT_SECONDS": "3", "STRIPE_NETWORK_RETRIES": "1"}
"""Stripe request budget of the functions behind API Gateway (10 s timeout): at worst about 7 s per
Stripe call, so a hanging Stripe answers 503 or 202 in time rather than a 502 (the SDK's default,
used by the tasks with 30 s, is 8 s and 2 retries)."""

CREATE = "create"
EXISTING = "existing"
OWNERSHIP = (CREATE, EXISTING)
"""Values of `apiGatewayAccountRole` and `mailIdentity`: this stage's stacks create the account-level
prerequisite, or the account already has it."""


@dataclass(frozen=True)
class AlarmThreshold:
    """One alarm's rule (cdk.json `alarms.<key>`): the metric over `period_seconds`, compared with
    `threshold` (the comparison itself is fixed in code), breaching `evaluation_periods` periods in a row."""

    threshold: float
    evaluation_periods: int
    period_seconds: int


ALARM_DEFAULTS: dict[str, AlarmThreshold] = {
    # any message in a dead-letter queue (Maximum of ApproximateNumberOfMessagesVisible > threshold)
    "deadLetterMessages": AlarmThreshold(threshold=0, evaluation_periods=1, period_seconds=60),
    # share of API requests answered 5xx (Average of 5XXError > threshold)
    "api5xxRate": AlarmThreshold(threshold=0.01, evaluation_periods=1, period_seconds=300),
    # p99 latency of POST /carts/{cartId}/checkout in milliseconds (> threshold)
    "checkoutLatencyP99Ms": AlarmThreshold(threshold=3000, evaluation_periods=3, period_seconds=300),
    # failed or timed-out executions of a workflow (Sum > threshold)
    "workflowFailures": AlarmThreshold(threshold=0, evaluation_periods=1, period_seconds=300),
    # order compensations that failed after their retries (Sum of CompensationsFailed > threshold)
    "compensationFailures": AlarmThreshold(threshold=0, evaluation_periods=1, period_seconds=300),
    # throttled Lambda invocations in the account and region (Sum of Throttles > threshold)
    "lambdaThrottles": AlarmThreshold(threshold=0, evaluation_periods=1, period_seconds=300),
    # declined payments (Sum of PaymentDeclines >= threshold)
    "paymentDeclines": AlarmThreshold(threshold=20, evaluation_periods=1, period_seconds=300),
}
"""Every alarm rule the app has, by its cdk.json key; cdk.json `alarms` overrides any field of any."""
ALARM_FIELDS = {"threshold": "threshold", "evaluationPeriods": "evaluation_periods", "periodSeconds": "period_seconds"}


def load_cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The `context` object of cdk.json (which `cdk.App()` outside the CLI does not read)."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return dict(data.get("context", {}))


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes"}
    return bool(value)


def _positive_int(key: str, value: Any) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError(f"context {key} must be a positive integer, got {value!r}")
    return number


DEFAULT_STRIPE_PUBLISHABLE_KEY = "pk_test_replace_me"
"""The placeholder the storefront's config.json carries until cdk.json `stripePublishableKey` is set."""


@dataclass(frozen=True)
class Settings:
    """Deployment settings shared by every stack."""

    stage: str
    api_rate_limit: float
    api_burst_limit: int
    log_retention: logs.RetentionDays
    cors_allow_origins: list[str]
    retain_data: bool
    reservation_ttl_seconds: int
    return_window_days: int
    pricing_rules: str | None = None
    mail_from: str = DEFAULT_MAIL_FROM
    shop_name: str = DEFAULT_SHOP_NAME
    api_gateway_account_role: str = CREATE
    mail_identity: str = CREATE
    api_rate_limit_per_ip: int = DEFAULT_RATE_LIMIT_PER_IP
    checkout_rate_limit_per_ip: int = DEFAULT_CHECKOUT_RATE_LIMIT_PER_IP
    checkout_throttle_rate_limit: float = 50
    checkout_throttle_burst_limit: int = 100
    guest_hold_limits: str | None = None
    reconcile_interval_minutes: int = 1
    reconcile_stuck_after_seconds: int = 10
    deletion_protection: bool = False
    waf_count_rules: tuple[tuple[str, str], ...] = ()
    abandoned_cart_minutes: int = 60
    abandoned_cart_sweep_minutes: int = 5
    event_archive_days: int = 365
    staff_alert_emails: tuple[str, ...] = ()
    alarm_emails: tuple[str, ...] = ()
    alarms: Mapping[str, AlarmThreshold] = field(default_factory=lambda: dict(ALARM_DEFAULTS))
    stripe_publishable_key: str = DEFAULT_STRIPE_PUBLISHABLE_KEY
    web_acl_arn: str | None = None

    @property
    def catalog_currency(self) -> str:
        """The one currency of the catalog's prices: the pricing rules' (`usd` by default)."""
        return str(json.loads(self.pricing_rules).get("currency", "usd")) if self.pricing_rules else "usd"

    @property
    def removal_policy(self) -> RemovalPolicy:
        """What happens to stateful resources when their stack is deleted: RETAIN with `retainData`,
        and always with `deletionProtection` (CloudFormation cannot delete a protected table)."""
        return RemovalPolicy.RETAIN if self.retain_data or self.deletion_protection else RemovalPolicy.DESTROY

    @classmethod
    def from_node(cls, node: Node) -> Settings:
        """Read the settings from a construct's context."""

        def get(key: str, default: Any) -> Any:
            value = node.try_get_context(key)
            return default if value is None else value

        stage = str(get("stage", "dev"))
        origins = get("corsAllowOrigins", ["*"])
        if isinstance(origins, str):
            origins = [item for item in origins.split(",") if item]
        return cls(
            stage=stage,
            api_rate_limit=float(get("apiThrottlingRateLimit", 500)),
            api_burst_limit=int(get("apiThrottlingBurstLimit", 1000)),
            log_retention=logs.RetentionDays[str(get("logRetention", "ONE_MONTH"))],
            cors_allow_origins=[str(origin) for origin in origins],
            retain_data=_as_bool(get("retainData", stage == "prod")),
            reservation_ttl_seconds=_positive_int("reservationTtlSeconds", get("reservationTtlSeconds", 900)),
            return_window_days=_positive_int("returnWindowDays", get("returnWindowDays", 30)),
            pricing_rules=_pricing_rules(node.try_get_context("pricingRules")),
            mail_from=_mail_from(_for_stage("mailFrom", get("mailFrom", DEFAULT_MAIL_FROM), stage)),
            shop_name=str(get("shopName", DEFAULT_SHOP_NAME)),
            api_gateway_account_role=_ownership(
                "apiGatewayAccountRole",
                _for_stage("apiGatewayAccountRole", get("apiGatewayAccountRole", CREATE), stage),
            ),
            mail_identity=_ownership("mailIdentity", _for_stage("mailIdentity", get("mailIdentity", CREATE), stage)),
            api_rate_limit_per_ip=_rate_limit_per_ip(
                "apiRateLimitPerIp", get("apiRateLimitPerIp", DEFAULT_RATE_LIMIT_PER_IP)
            ),
            checkout_rate_limit_per_ip=_rate_limit_per_ip(
                "checkoutRateLimitPerIp", get("checkoutRateLimitPerIp", DEFAULT_CHECKOUT_RATE_LIMIT_PER_IP)
            ),
            checkout_throttle_rate_limit=float(
                _positive_int("checkoutThrottlingRateLimit", get("checkoutThrottlingRateLimit", 50))
            ),
            checkout_throttle_burst_limit=_positive_int(
                "checkoutThrottlingBurstLimit", get("checkoutThrottlingBurstLimit", 100)
            ),
            guest_hold_limits=_guest_hold_limits(node.try_get_context("guestHoldLimits")),
            reconcile_interval_minutes=_positive_int("reconcileIntervalMinutes", get("reconcileIntervalMinutes", 1)),
            reconcile_stuck_after_seconds=_positive_int(
                "reconcileStuckAfterSeconds", get("reconcileStuckAfterSeconds", 10)
            ),
            waf_count_rules=_waf_count_rules(get("wafCountRules", [])),
            deletion_protection=_as_bool(
                _for_stage("deletionProtection", get("deletionProtection", stage == "prod"), stage)
            ),
            abandoned_cart_minutes=_positive_int("abandonedCartMinutes", get("abandonedCartMinutes", 60)),
            abandoned_cart_sweep_minutes=_positive_int(
                "abandonedCartSweepMinutes", get("abandonedCartSweepMinutes", 5)
            ),
            event_archive_days=_positive_int("eventArchiveDays", get("eventArchiveDays", 365)),
            staff_alert_emails=tuple(str(address) for address in get("staffAlertEmails", [])),
            alarm_emails=tuple(str(address) for address in get("alarmEmails", [])),
            alarms=_alarms(get("alarms", {})),
            stripe_publishable_key=_publishable_key(
                _for_stage("stripePublishableKey", get("stripePublishableKey", DEFAULT_STRIPE_PUBLISHABLE_KEY), stage)
            ),
            web_acl_arn=_web_acl_arn(node.try_get_context("webAclArn"), stage),
        )

    def alarm(self, key: str) -> AlarmThreshold:
        """The threshold, period and evaluation periods of alarm `key` (cdk.json `alarms.<key>`)."""
        return self.alarms[key]


def _for_stage(key: str, value: Any, stage: str) -> str:
    """A context value given once (a string) or per stage (`{"<stage>": ..., "default": ...}`)."""
    if not isinstance(value, dict):
        return str(value)
    chosen = value.get(stage, value.get("default"))
    if chosen is None:
        raise ValueError(f"context {key} has no entry for stage {stage!r} and no 'default'")
    return str(chosen)


def _ownership(key: str, value: Any) -> str:
    text = str(value).strip().lower()
    if text not in OWNERSHIP:
        raise ValueError(f"context {key} must be one of {', '.join(OWNERSHIP)}, got {value!r}")
    return text


def _rate_limit_per_ip(key: str, value: Any) -> int:
    """Contexts `apiRateLimitPerIp` (every request) and `checkoutRateLimitPerIp` (POST
    /carts/{cartId}/checkout): requests one client IP may make in 5 minutes before the web ACL blocks
    it (WAF accepts 10 to 2,000,000,000)."""
    number = int(value)
    if not 10 <= number <= 2_000_000_000:
        raise ValueError(f"context {key} must be between 10 and 2000000000, got {value!r}")
    return number


WAF_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesCommonRuleSet",
)


def _waf_count_rules(value: Any) -> tuple[tuple[str, str], ...]:
    """Context `wafCountRules`: `["<managed rule group>/<rule>", ...]`, rules of the web ACL's AWS managed
    groups set to COUNT (they label and are measured but block nothing), for a rule that blocks real
    traffic until the contract or the client is fixed. Empty by default."""
    if isinstance(value, str):
        value = [item for item in value.split(",") if item]
    rules = []
    for item in value:
        group, _, rule = str(item).partition("/")
        if group not in WAF_GROUPS or not rule:
            raise ValueError(f"context wafCountRules takes '<group>/<rule>' of {', '.join(WAF_GROUPS)}, got {item!r}")
        rules.append((group, rule))
    return tuple(rules)


def _mail_from(value: str) -> str:
    """Context `mailFrom`: the sender address of order emails, verified as an SES email identity.

    An SES identity is one per address in an account and region, so two stages in one account need
    different addresses (a per-stage object) or all but one stage set `mailIdentity` to `existing`."""
    local, _, domain = value.strip().rpartition("@")
    if not local or "." not in domain or any(c.isspace() for c in value.strip()):
        raise ValueError(f"context mailFrom must be an email address, got {value!r}")
    return value.strip()


GUEST_HOLD_KEYS = ("maxUnits", "perEmail", "perClient", "windowSeconds", "unpaidHoldSeconds")


def _guest_hold_limits(value: Any) -> str | None:
    """Context `guestHoldLimits`: what a guest may hold unpaid (checkout's HoldLimits), as JSON
    for CheckoutApi; each value a positive integer. Unset, checkout uses its defaults."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - set(GUEST_HOLD_KEYS):
        raise ValueError(f"context guestHoldLimits takes only {', '.join(GUEST_HOLD_KEYS)}, got {value!r}")
    return json.dumps({key: _positive_int(f"guestHoldLimits.{key}", v) for key, v in value.items()}, sort_keys=True)


def _pricing_rules(value: Any) -> str | None:
    """Context `pricingRules`: shipping and tax per destination country, handed to checkout as
    JSON `{"currency", "default": {"shipping", "freeShippingOver", "taxBasisPoints"}, "countries":
    {"US": {...}}}`. Unset, checkout uses its built-in defaults."""
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("default"), dict):
        raise ValueError("context pricingRules must be an object with a 'default' rule")
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _alarms(value: Any) -> dict[str, AlarmThreshold]:
    """Context `alarms`: `{"<key>": {"threshold", "evaluationPeriods", "periodSeconds"}}` (a JSON string
    from `cdk -c` too), each field overriding ALARM_DEFAULTS; unknown keys and fields are refused. A
    period is a multiple of 60 seconds (standard resolution: the metrics here are emitted per minute)."""
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, dict) or set(value) - set(ALARM_DEFAULTS):
        raise ValueError(f"context alarms takes only {', '.join(ALARM_DEFAULTS)}, got {value!r}")
    alarms = dict(ALARM_DEFAULTS)
    for key, given in value.items():
        if not isinstance(given, dict) or set(given) - set(ALARM_FIELDS):
            raise ValueError(f"context alarms.{key} takes only {', '.join(ALARM_FIELDS)}, got {given!r}")
        fields = {ALARM_FIELDS[name]: number for name, number in given.items()}
        rule = AlarmThreshold(**{**alarms[key].__dict__, **fields})
        threshold = float(rule.threshold)
        if threshold < 0:
            raise ValueError(f"context alarms.{key}.threshold must not be negative, got {rule.threshold!r}")
        evaluation_periods = _positive_int(f"alarms.{key}.evaluationPeriods", rule.evaluation_periods)
        period_seconds = _positive_int(f"alarms.{key}.periodSeconds", rule.period_seconds)
        if period_seconds % 60:
            raise ValueError(f"context alarms.{key}.periodSeconds must be a multiple of 60, got {period_seconds!r}")
        alarms[key] = AlarmThreshold(
            threshold=threshold, evaluation_periods=evaluation_periods, period_seconds=period_seconds
        )
    return alarms


def _publishable_key(value: str) -> str:
    """A Stripe publishable key (`pk_test_...`/`pk_live_...`): public by design, it goes to browsers."""
    if not value.startswith(("pk_test_", "pk_live_")):
        raise ValueError(
            f"cdk.json stripePublishableKey must be a Stripe publishable key (pk_...), not {value[:8]!r}..."
        )
    return value


def _web_acl_arn(value: Any, stage: str) -> str | None:
    """cdk.json `webAclArn` (one ARN or one per stage): a CLOUDFRONT-scope web ACL made in us-east-1."""
    if value is None:
        return None
    arn = str(value.get(stage, value.get("default")) or "") if isinstance(value, dict) else str(value)
    if not arn:
        return None
    if not arn.startswith("arn:") or ":wafv2:us-east-1:" not in arn or ":global/webacl/" not in arn:
        raise ValueError(f"cdk.json webAclArn must be a CLOUDFRONT-scope WAFv2 web ACL ARN (us-east-1), not {arn!r}")
    return arn
