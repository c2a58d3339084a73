"""WAFv2 web ACLs of the deployed templates, applied by the local gateway: rate-based rules per client
address, and what the local cloud can check of AWS managed rule groups.

moto's CloudFormation does not model WAFv2 (the web ACL deploys as a no-op resource), so the rules are
read from the deployed templates: each `AWS::WAFv2::WebACL`'s rate-based rules (limit, evaluation
window, scope-down statement, block action with its custom response) and the
`AWS::WAFv2::WebACLAssociation` that puts it on a REST API's stage. Nothing here declares a limit.

WAF's semantics, approximated: each rule keeps, per client IP (the socket's remote address, as
API Gateway's `sourceIp`; a client-sent X-Forwarded-For counts for nothing), a sliding count of the
requests it saw that matched its scope-down statement in the last `EvaluationWindowSec`; a request
that brings the count over `Limit` is answered with the rule's custom response. Rules run in priority
order, and a blocked request stops there (lower rules do not count it), as in a web ACL. Blocked
requests count: a client that keeps hammering stays blocked until its rate falls, as on AWS. AWS
evaluates rates every few seconds and may let a client run over for up to a minute or so; locally the
limit is exact and immediate.

AWS managed rule groups: a web ACL rule with a `ManagedRuleGroupStatement` of a group in MANAGED_RULES
is evaluated with the rules of that group whose documented condition is exact (a missing User-Agent,
sizes over the documented limits, the PROPFIND method), with the group's rule action overrides (Count,
or Block with a custom response) and labels, which later rules may match (`LabelMatchStatement`). The
rules that match by signature or by Amazon's address lists (SQL injection, XSS, LFI/RFI, Log4j, bad-bot
lists beyond the documented examples, IP reputation) are not emulated: the local cloud lets through what
AWS might block there, and says so in docs/architecture.md. Any other group, vendor or action refuses to
start (UnsupportedRule), so that adding one forces a decision here.

For tests the limits can be lowered at run time without a redeploy (`PUT /_localcloud/ratelimits
{"perIp": 20, "checkoutPerIp": 5}`, DELETE restores the deployed ones; both start every count afresh).
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

RATELIMITS_PATH = "/_localcloud/ratelimits"
ALIASES = {"perIp": "RateLimitPerClientIp", "checkoutPerIp": "CheckoutRateLimitPerClientIp"}
"""Names the control endpoint accepts for the API stack's two rules (any rule's own name works too)."""
CONTENT_TYPES = {"APPLICATION_JSON": "application/json", "TEXT_PLAIN": "text/plain", "TEXT_HTML": "text/html"}
WINDOWS = (60, 120, 300, 600)
MAX_CLIENTS = 100_000

Headers = list[tuple[str, str]]
Reply = tuple[int, Any]


class UnsupportedRule(ValueError):
    """A web ACL rule the local cloud cannot evaluate: it refuses to start rather than skip it."""


@dataclass(frozen=True)
class WebRequest:
    """What a WAF statement may inspect (header names lowercased), and the labels rules added so far."""

    method: str
    uri_path: str
    query: str
    headers: Mapping[str, str]
    body_size: int = 0
    labels: frozenset[str] = frozenset()


Match = Callable[[WebRequest], bool]


@dataclass(frozen=True)
class BlockResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True)
class RateRule:
    name: str
    priority: int
    limit: int
    window_seconds: int
    scope: Match | None
    response: BlockResponse


@dataclass(frozen=True)
class InspectionRule:
    """A rule that looks at one request: a rule of an AWS managed group the local cloud emulates, or a
    custom rule of the web ACL. When it matches it adds its labels, then blocks (`response`), allows
    (`allow`) or only counts (neither) and evaluation goes on."""

    name: str
    priority: int
    match: Match
    labels: tuple[str, ...] = ()
    response: BlockResponse | None = None
    allow: bool = False


@dataclass(frozen=True)
class WebAcl:
    name: str
    rules: tuple[RateRule, ...]
    inspections: tuple[InspectionRule, ...] = ()

    def steps(self) -> list[RateRule | InspectionRule]:
        """Every rule in priority order (a managed group's rules in the group's order)."""
        return sorted([*self.rules, *self.inspections], key=lambda rule: rule.priority)


CORE = "awswaf:managed:aws:core-rule-set:"
KNOWN_BAD = "awswaf:managed:aws:known-bad-inputs:"


def _header(request: WebRequest, name: str) -> str:
    return next((value for key, value in request.headers.items() if key.lower() == name), "")


MANAGED_RULES: dict[str, tuple[tuple[str, str, Match], ...]] = {
    "AWSManagedRulesCommonRuleSet": (
        ("NoUserAgent_HEADER", CORE + "NoUserAgent_Header", lambda r: not _header(r, "user-agent").strip()),
        (
            "UserAgent_BadBots_HEADER",
            CORE + "BadBots_Header",
            lambda r: re.search(r"nessus|nmap", _header(r, "user-agent"), re.IGNORECASE) is not None,
        ),
        ("SizeRestrictions_QUERYSTRING", CORE + "SizeRestrictions_QueryString", lambda r: len(r.query) > 2048),
        (
            "SizeRestrictions_Cookie_HEADER",
            CORE + "SizeRestrictions_Cookie_Header",
            lambda r: len(_header(r, "cookie")) > 10240,
        ),
        ("SizeRestrictions_BODY", CORE + "SizeRestrictions_Body", lambda r: r.body_size > 8192),
        ("SizeRestrictions_URIPATH", CORE + "SizeRestrictions_URIPath", lambda r: len(r.uri_path) > 1024),
    ),
    "AWSManagedRulesKnownBadInputsRuleSet": (
        ("PROPFIND_METHOD", KNOWN_BAD + "PROPFIND_Method", lambda r: r.method.upper() == "PROPFIND"),
    ),
    "AWSManagedRulesAmazonIpReputationList": (),
}
"""Per AWS managed group, its rules the local cloud evaluates exactly as documented (name, label,
condition; default action Block). UserAgent_BadBots_HEADER knows only the documented examples."""
NOT_EMULATED = {
    "AWSManagedRulesCommonRuleSet": "EC2MetaDataSSRF_*, GenericLFI_*, GenericRFI_*, RestrictedExtensions_*, "
    "CrossSiteScripting_* (signatures)",
    "AWSManagedRulesKnownBadInputsRuleSet": "JavaDeserializationRCE_*, Log4JRCE_*, ExploitablePaths_URIPATH "
    "(signatures), Host_localhost_HEADER (the local cloud is reached on localhost)",
    "AWSManagedRulesAmazonIpReputationList": "every rule (Amazon's address lists; loopback is in none)",
}


# Compiling the templates


def compile_web_acls(
    stacks: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]], api_ids: Iterable[str]
) -> dict[str, WebAcl]:
    """The web ACL associated with each REST API, by API id, from every stack's (template resources,
    moto's parsed resources by logical id)."""
    known = set(api_ids)
    found: dict[str, WebAcl] = {}
    for resources, parsed in stacks:
        for spec in resources.values():
            if spec.get("Type") != "AWS::WAFv2::WebACLAssociation":
                continue
            props = spec.get("Properties") or {}
            acl_ref = props.get("WebACLArn")
            acl_id = acl_ref.get("Fn::GetAtt", [None])[0] if isinstance(acl_ref, dict) else None
            acl_spec = resources.get(acl_id) if isinstance(acl_id, str) else None
            if acl_spec is None or acl_spec.get("Type") != "AWS::WAFv2::WebACL":
                continue
            for api_id in _referenced_ids(props.get("ResourceArn"), parsed):
                if api_id in known:
                    found[api_id] = compile_web_acl(acl_spec.get("Properties") or {}, str(acl_id))
    return found


def _referenced_ids(value: Any, parsed: Mapping[str, Any]) -> list[str]:
    """Physical ids of the resources a value refers to (`Ref`s anywhere inside it)."""
    ids: list[str] = []
    if isinstance(value, dict):
        if set(value) == {"Ref"} and isinstance(value["Ref"], str):
            target = parsed.get(value["Ref"])
            physical = getattr(target, "physical_resource_id", None) or getattr(target, "id", None)
            if isinstance(target, str):
                physical = target
            if isinstance(physical, str):
                ids.append(physical)
        else:
            for item in value.values():
                ids.extend(_referenced_ids(item, parsed))
    elif isinstance(value, list):
        for item in value:
            ids.extend(_referenced_ids(item, parsed))
    return ids


def compile_web_acl(props: Mapping[str, Any], logical_id: str = "WebAcl") -> WebAcl:
    """A web ACL's rate-based rules. A rule the local cloud cannot evaluate raises UnsupportedRule."""
    name = str(props.get("Name") or logical_id)
    bodies = props.get("CustomResponseBodies") or {}
    rules = []
    inspections: list[InspectionRule] = []
    for rule in props.get("Rules") or []:
        statement = rule.get("Statement") or {}
        rate = statement.get("RateBasedStatement")
        if rate is None:
            inspections.extend(_inspections(rule, bodies, name))
            continue
        rule_name = str(rule["Name"])
        if str(rate.get("AggregateKeyType", "IP")) != "IP":
            raise UnsupportedRule(f"web ACL {name} rule {rule_name}: AggregateKeyType {rate['AggregateKeyType']}")
        limit = _integer(rate.get("Limit"), f"web ACL {name} rule {rule_name} Limit")
        window = _integer(rate.get("EvaluationWindowSec", 300), f"web ACL {name} rule {rule_name} EvaluationWindowSec")
        if limit < 10 or window not in WINDOWS:
            raise UnsupportedRule(f"web ACL {name} rule {rule_name}: WAF refuses Limit {limit}, window {window} s")
        scope_down = rate.get("ScopeDownStatement")
        rules.append(
            RateRule(
                name=rule_name,
                priority=int(rule.get("Priority", 0)),
                limit=limit,
                window_seconds=window,
                scope=compile_statement(scope_down) if scope_down else None,
                response=_block_response(rule.get("Action") or {}, bodies, rule_name),
            )
        )
    return WebAcl(
        name=name,
        rules=tuple(sorted(rules, key=lambda r: r.priority)),
        inspections=tuple(sorted(inspections, key=lambda r: r.priority)),
    )


def _inspections(rule: Mapping[str, Any], bodies: Mapping[str, Any], acl: str) -> list[InspectionRule]:
    """A custom rule (any statement compile_statement reads), or the emulated rules of a managed group."""
    rule_name, priority = str(rule.get("Name")), int(rule.get("Priority", 0))
    statement = rule.get("Statement") or {}
    managed = statement.get("ManagedRuleGroupStatement")
    if managed is None:
        labels = tuple(str(label["Name"]) for label in rule.get("RuleLabels") or [])
        response, allow = _action(rule.get("Action") or {}, bodies, rule_name)
        return [InspectionRule(rule_name, priority, compile_statement(statement), labels, response, allow)]
    group = str(managed.get("Name"))
    if managed.get("VendorName") != "AWS" or group not in MANAGED_RULES:
        raise UnsupportedRule(f"web ACL {acl} rule {rule_name}: managed rule group {group} is not emulated")
    scope_down = managed.get("ScopeDownStatement")
    scope = compile_statement(scope_down) if scope_down else None
    counted = "Count" in (rule.get("OverrideAction") or {})
    overrides = {str(o["Name"]): o.get("ActionToUse") or {} for o in managed.get("RuleActionOverrides") or []}
    overrides.update({str(e["Name"]): {"Count": {}} for e in managed.get("ExcludedRules") or []})
    found = []
    for name, label, condition in MANAGED_RULES[group]:
        response, allow = _action(overrides.get(name, {"Block": {}}), bodies, name)
        if counted:
            response, allow = None, False
        match = condition if scope is None else (lambda r, c=condition, s=scope: s(r) and c(r))
        found.append(InspectionRule(f"{rule_name}:{name}", priority, match, (label,), response, allow))
    return found


def _action(action: Mapping[str, Any], bodies: Mapping[str, Any], rule: str) -> tuple[BlockResponse | None, bool]:
    """(block response or None, allow) of a rule action: Block, Count or Allow."""
    if "Block" in action:
        return _block_response(action, bodies, rule), False
    if "Count" in action:
        return None, False
    if "Allow" in action:
        return None, True
    raise UnsupportedRule(f"rule {rule}: action {sorted(action)} is not emulated by the local cloud")


def _integer(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise UnsupportedRule(f"{what} must be a literal number in the template, got {value!r}")
    return int(value)


def _block_response(action: Mapping[str, Any], bodies: Mapping[str, Any], rule: str) -> BlockResponse:
    if "Block" not in action:
        raise UnsupportedRule(f"rule {rule}: only the Block action is emulated, got {sorted(action)}")
    custom = (action["Block"] or {}).get("CustomResponse")
    if not custom:
        return BlockResponse(status=403, headers=(("Content-Type", "text/plain"),), body=b"Forbidden")
    headers = [(str(h["Name"]), str(h["Value"])) for h in custom.get("ResponseHeaders") or []]
    if any(name.lower() == "content-type" for name, _ in headers):
        raise UnsupportedRule(f"rule {rule}: WAF refuses a Content-Type custom response header")
    body = b""
    key = custom.get("CustomResponseBodyKey")
    if key:
        spec = bodies.get(key)
        if spec is None:
            raise UnsupportedRule(f"rule {rule}: no custom response body {key!r} in the web ACL")
        headers.insert(0, ("Content-Type", CONTENT_TYPES[str(spec["ContentType"])]))
        body = str(spec["Content"]).encode("utf-8")
    return BlockResponse(status=int(custom["ResponseCode"]), headers=tuple(headers), body=body)


def compile_statement(statement: Mapping[str, Any]) -> Match:
    """A WAF match statement as a predicate: ByteMatch, RegexMatch, And, Or, Not."""
    if "AndStatement" in statement:
        parts = [compile_statement(s) for s in statement["AndStatement"]["Statements"]]
        return lambda request: all(part(request) for part in parts)
    if "OrStatement" in statement:
        parts = [compile_statement(s) for s in statement["OrStatement"]["Statements"]]
        return lambda request: any(part(request) for part in parts)
    if "NotStatement" in statement:
        inner = compile_statement(statement["NotStatement"]["Statement"])
        return lambda request: not inner(request)
    if "LabelMatchStatement" in statement:
        spec = statement["LabelMatchStatement"]
        key = str(spec["Key"])
        if spec.get("Scope") == "NAMESPACE":
            prefix = key if key.endswith(":") else key + ":"
            return lambda request: any(label.startswith(prefix) for label in request.labels)
        return lambda request: key in request.labels
    if "ByteMatchStatement" in statement:
        spec = statement["ByteMatchStatement"]
        field = _field(spec["FieldToMatch"])
        transform = _transformations(spec.get("TextTransformations") or [])
        search = str(spec["SearchString"])
        test = _positional(str(spec["PositionalConstraint"]), search)
        return lambda request: test(transform(field(request)))
    if "RegexMatchStatement" in statement:
        spec = statement["RegexMatchStatement"]
        field = _field(spec["FieldToMatch"])
        transform = _transformations(spec.get("TextTransformations") or [])
        pattern = re.compile(str(spec["RegexString"]))
        return lambda request: pattern.search(transform(field(request))) is not None
    raise UnsupportedRule(f"WAF statement {sorted(statement)} is not emulated by the local cloud")


def _field(spec: Mapping[str, Any]) -> Callable[[WebRequest], str]:
    if "UriPath" in spec:
        return lambda request: request.uri_path
    if "Method" in spec:
        return lambda request: request.method
    if "QueryString" in spec:
        return lambda request: request.query
    if "SingleHeader" in spec:
        wanted = str(spec["SingleHeader"]["Name"]).lower()
        return lambda request: next((v for k, v in request.headers.items() if k.lower() == wanted), "")
    raise UnsupportedRule(f"WAF FieldToMatch {sorted(spec)} is not emulated by the local cloud")


TRANSFORMATIONS: dict[str, Callable[[str], str]] = {
    "NONE": lambda text: text,
    "LOWERCASE": str.lower,
    "URL_DECODE": urllib.parse.unquote,
    "URL_DECODE_UNI": urllib.parse.unquote,
    "COMPRESS_WHITE_SPACE": lambda text: re.sub(r"\s+", " ", text),
}


def _transformations(specs: Iterable[Mapping[str, Any]]) -> Callable[[str], str]:
    steps = []
    for spec in sorted(specs, key=lambda s: int(s.get("Priority", 0))):
        kind = str(spec.get("Type"))
        if kind not in TRANSFORMATIONS:
            raise UnsupportedRule(f"WAF text transformation {kind} is not emulated by the local cloud")
        steps.append(TRANSFORMATIONS[kind])

    def apply(text: str) -> str:
        for step in steps:
            text = step(text)
        return text

    return apply


def _positional(constraint: str, search: str) -> Callable[[str], bool]:
    if constraint == "EXACTLY":
        return lambda text: text == search
    if constraint == "STARTS_WITH":
        return lambda text: text.startswith(search)
    if constraint == "ENDS_WITH":
        return lambda text: text.endswith(search)
    if constraint == "CONTAINS":
        return lambda text: search in text
    if constraint == "CONTAINS_WORD":
        word = re.compile(r"(?<![A-Za-z0-9_])" + re.escape(search) + r"(?![A-Za-z0-9_])")
        return lambda text: word.search(text) is not None
    raise UnsupportedRule(f"WAF PositionalConstraint {constraint} is not emulated by the local cloud")


# Counting


class RateLimiter:
    """Sliding-window counts per (rule, client IP), and the limits a test set in place of the deployed."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._acls: dict[str, WebAcl] = {}
        self._overrides: dict[str, int] = {}
        self._seen: dict[tuple[str, str], deque[float]] = {}

    def load(self, acls: Mapping[str, WebAcl]) -> None:
        """The web ACLs by REST API id (on every gateway refresh; counts and overrides stay)."""
        with self._lock:
            self._acls = dict(acls)

    def check(self, api_id: str | None, client_ip: str, request: WebRequest) -> BlockResponse | None:
        """None when the web ACL on `api_id` lets the request through, else the response it blocks with."""
        acl = self._acls.get(api_id or "")
        if acl is None:
            return None
        now = self._clock()
        with self._lock:
            for rule in acl.steps():
                if isinstance(rule, InspectionRule):
                    if not rule.match(request):
                        continue
                    if rule.labels:
                        request = dataclasses.replace(request, labels=request.labels | frozenset(rule.labels))
                    if rule.allow:
                        return None
                    if rule.response is not None:
                        return rule.response
                    continue
                if rule.scope is not None and not rule.scope(request):
                    continue
                limit = self._overrides.get(rule.name, rule.limit)
                if self._count(rule, client_ip, now, limit):
                    return rule.response
        return None

    def _count(self, rule: RateRule, client_ip: str, now: float, limit: int) -> bool:
        """Count one request; True when the client is now over the limit in the rule's window. Only
        the latest limit+1 times are kept: the client is over when all of them are in the window."""
        key = (rule.name, client_ip)
        seen = self._seen.get(key)
        if seen is None or seen.maxlen != limit + 1:
            if len(self._seen) >= MAX_CLIENTS:
                self._forget(now)
            seen = self._seen[key] = deque(seen or (), maxlen=limit + 1)
        seen.append(now)
        return len(seen) > limit and seen[0] > now - rule.window_seconds

    def _forget(self, now: float) -> None:
        longest = max((r.window_seconds for acl in self._acls.values() for r in acl.rules), default=600)
        for key in [k for k, times in self._seen.items() if not times or times[-1] <= now - longest]:
            del self._seen[key]

    # the control endpoint

    def handle(self, method: str, body: bytes) -> Reply:
        """GET, PUT {"perIp": n, "checkoutPerIp": n, "<rule name>": n} or DELETE (the deployed limits)."""
        if method == "PUT":
            try:
                document = json.loads(body or b"{}")
                if not isinstance(document, dict):
                    raise ValueError("expected a JSON object of limits")
                self.set_limits({str(key): value for key, value in document.items()})
            except (ValueError, TypeError) as exc:
                return 400, {"message": str(exc)}
        elif method == "DELETE":
            self.reset()
        elif method != "GET":
            return 405, {"message": f"{method} not allowed on {RATELIMITS_PATH}; use GET, PUT or DELETE"}
        return 200, self.describe()

    def set_limits(self, limits: Mapping[str, Any]) -> None:
        names = {rule.name for acl in self._acls.values() for rule in acl.rules}
        chosen: dict[str, int] = {}
        for key, value in limits.items():
            name = ALIASES.get(key, key)
            if name not in names:
                raise ValueError(f"no rate-based rule {key!r}; known: {', '.join(sorted([*ALIASES, *names]))}")
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"limit {key} must be a positive integer, got {value!r}")
            chosen[name] = value
        with self._lock:
            self._overrides.update(chosen)
            self._seen.clear()

    def reset(self) -> None:
        with self._lock:
            self._overrides.clear()
            self._seen.clear()

    def describe(self) -> dict[str, Any]:
        rules = []
        with self._lock:
            for api_id, acl in self._acls.items():
                for rule in acl.rules:
                    rules.append(
                        {
                            "api": api_id,
                            "webAcl": acl.name,
                            "name": rule.name,
                            "limit": self._overrides.get(rule.name, rule.limit),
                            "deployedLimit": rule.limit,
                            "windowSeconds": rule.window_seconds,
                            "scopeDown": rule.scope is not None,
                        }
                    )
            inspections = [
                {
                    "api": api_id,
                    "name": rule.name,
                    "priority": rule.priority,
                    "action": "allow" if rule.allow else "count" if rule.response is None else "block",
                }
                for api_id, acl in self._acls.items()
                for rule in acl.inspections
            ]
        by_name = {rule["name"]: rule["limit"] for rule in rules}
        aliases = {alias: by_name[name] for alias, name in ALIASES.items() if name in by_name}
        return {**aliases, "rules": rules, "inspections": inspections}


def web_request(environ: dict[str, Any], method: str) -> WebRequest:
    """The request as WAF inspects it: the URI path as sent (not decoded), the query string, headers."""
    raw = str(environ.get("REQUEST_URI") or environ.get("RAW_URI") or "")
    if raw.startswith("/"):
        path = raw.split("?", 1)[0]
    elif raw:
        path = urllib.parse.urlsplit(raw).path or "/"
    else:
        path = urllib.parse.quote(str(environ.get("PATH_INFO") or "/").encode("latin-1"), safe="/%;:@&=+$,!~*'()")
    headers = {key[5:].replace("_", "-").lower(): str(value) for key, value in environ.items() if key[:5] == "HTTP_"}
    return WebRequest(
        method=method,
        uri_path=path,
        query=str(environ.get("QUERY_STRING") or ""),
        headers=headers,
        body_size=_body_size(environ),
    )


BUFFER_LIMIT = 10 * 1024 * 1024 + 1
"""A body sent without Content-Length (chunked) is read up to here (one byte over API Gateway's 10 MB)."""


def _body_size(environ: dict[str, Any]) -> int:
    """The body's size: its Content-Length, or for a chunked body the bytes read now (put back as a
    buffered wsgi.input with a Content-Length, so that the gateway reads it as any other)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    chunked = "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()
    stream = environ.get("wsgi.input")
    if length or stream is None or not (chunked or environ.get("wsgi.input_terminated")):
        return length
    data = bytes(stream.read(BUFFER_LIMIT))
    environ["wsgi.input"] = io.BytesIO(data)
    environ["CONTENT_LENGTH"] = str(len(data))
    return len(data)
