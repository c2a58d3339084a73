"""The storefront as the deployed CloudFront distribution serves it: pages from the bucket's source
folder, the API under the distribution's API behaviour, the response headers policy on every answer.

Nothing here declares a path. `compile_site` reads the deployed templates (moto's CloudFormation):
the `AWS::CloudFront::Distribution` (default root object, each behaviour's path pattern, allowed
methods, origin and response headers policy), its `AWS::CloudFront::ResponseHeadersPolicy`, the
S3 origin's bucket policy and Origin Access Control (without both, CloudFront's reads of a private
bucket are refused: every page answers 403, as on AWS), and the `Custom::CDKBucketDeployment` into
that bucket, whose `shopstack:source` metadata names the pages' folder (repository-relative).

Locally the gateway also keeps serving the API at the root (existing clients and tests call it so);
a page that exists wins over it, as only a page can at that path on AWS.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
import mimetypes
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Headers = list[tuple[str, str]]

SOURCE_METADATA = "shopstack:source"
CONFIG_METADATA = "shopstack:config"
COGNITO_PATH = "/_localcloud/cognito-idp/"
STRIPE_PATH = "/_localcloud/stripe"
LOCAL_PUBLISHABLE_KEY = "pk_test_local"
COGNITO_TARGET_PREFIX = "AWSCognitoIdentityProviderService."
COGNITO_PUBLIC_OPERATIONS = frozenset(
    {
        # What Cognito's public endpoint answers without AWS credentials (a client id, or the user's
        # access token); the Admin* and pool-management operations need IAM-signed requests on AWS, and
        # moto checks no signature, so they are refused here rather than forwarded.
        "SignUp",
        "ConfirmSignUp",
        "ResendConfirmationCode",
        "InitiateAuth",
        "RespondToAuthChallenge",
        "GetUser",
        "UpdateUserAttributes",
        "DeleteUser",
        "ChangePassword",
        "ForgotPassword",
        "ConfirmForgotPassword",
        "GlobalSignOut",
        "RevokeToken",
        "GetUserAttributeVerificationCode",
        "VerifyUserAttribute",
        "AssociateSoftwareToken",
        "VerifySoftwareToken",
        "SetUserMFAPreference",
    }
)
CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".txt": "text/plain",
    ".webmanifest": "application/manifest+json",
}
S3_ACCESS_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>'
)
METHOD_NOT_ALLOWED = (
    b"<!DOCTYPE HTML PUBLIC><HTML><HEAD><TITLE>ERROR: The request could not be satisfied</TITLE></HEAD>"
    b"<BODY><H1>403 ERROR</H1><H2>The request could not be satisfied.</H2>"
    b"This distribution is not configured to allow the HTTP request method that was used for this request."
    b"</BODY></HTML>"
)
SECURITY_HEADERS = (
    ("ContentSecurityPolicy", "Content-Security-Policy", "ContentSecurityPolicy"),
    ("ContentTypeOptions", "X-Content-Type-Options", None),
    ("FrameOptions", "X-Frame-Options", "FrameOption"),
    ("ReferrerPolicy", "Referrer-Policy", "ReferrerPolicy"),
    ("StrictTransportSecurity", "Strict-Transport-Security", None),
    ("XSSProtection", "X-XSS-Protection", None),
)


@dataclass(frozen=True)
class HeaderRule:
    name: str
    value: str
    override: bool


@dataclass(frozen=True)
class Behaviour:
    path_pattern: str  # "*" for the default behaviour
    origin: str  # "s3", "api" or "other"
    origin_path: str
    allowed_methods: frozenset[str]
    headers: tuple[HeaderRule, ...]
    viewer_request: str | None = None  # the code of its CloudFront Function, if any

    def matches(self, path: str) -> bool:
        pattern = self.path_pattern if self.path_pattern.startswith(("/", "*")) else "/" + self.path_pattern
        return fnmatch.fnmatchcase(path, pattern)


@dataclass(frozen=True)
class Site:
    default_root_object: str | None
    behaviours: tuple[Behaviour, ...]  # the cache behaviours in order, then the default
    pages: Path | None  # None: nothing deployed into the bucket (or CloudFront may not read it)
    readable: bool  # the bucket policy lets this distribution's OAC read objects
    config_object: str | None
    cache_control: str | None
    problems: tuple[str, ...] = field(default=())

    def behaviour(self, path: str) -> Behaviour:
        return next(b for b in self.behaviours if b.matches(path))

    @property
    def api_patterns(self) -> list[str]:
        return [b.path_pattern for b in self.behaviours if b.origin == "api"]


# --- reading the templates -------------------------------------------------------------------------


def deployed_templates(account_id: str, region: str) -> list[dict[str, Any]]:
    """The template of every stack in moto's CloudFormation."""
    from moto.cloudformation.models import cloudformation_backends

    stacks = cloudformation_backends[account_id][region].stacks
    return [getattr(stack, "template_dict", None) or {} for stack in list(stacks.values())]


def _ref(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("Ref"), str):
        return str(value["Ref"])
    if isinstance(value, dict) and isinstance(value.get("Fn::GetAtt"), list):
        return str(value["Fn::GetAtt"][0])
    return None


def _mentions(value: Any, logical_id: str) -> bool:
    if isinstance(value, dict):
        return _ref(value) == logical_id or any(_mentions(v, logical_id) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, logical_id) for v in value)
    return False


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def compile_headers_policy(config: Mapping[str, Any]) -> tuple[HeaderRule, ...]:
    """A ResponseHeadersPolicyConfig's security and custom headers, as CloudFront adds them."""
    rules: list[HeaderRule] = []
    security = config.get("SecurityHeadersConfig") or {}
    for key, header, value_key in SECURITY_HEADERS:
        spec = security.get(key)
        if not spec:
            continue
        override = bool(spec.get("Override"))
        if key == "StrictTransportSecurity":
            parts = [f"max-age={int(spec['AccessControlMaxAgeSec'])}"]
            parts += ["includeSubDomains"] if spec.get("IncludeSubdomains") else []
            parts += ["preload"] if spec.get("Preload") else []
            value = "; ".join(parts)
        elif key == "ContentTypeOptions":
            value = "nosniff"
        elif key == "XSSProtection":
            value = (
                "1; mode=block"
                if spec.get("Protection") and spec.get("ModeBlock")
                else str(int(bool(spec.get("Protection"))))
            )
        else:
            value = str(spec[value_key or key])
        if not isinstance(value, str) or "{" in value:
            continue
        rules.append(HeaderRule(header, value, override))
    for item in (config.get("CustomHeadersConfig") or {}).get("Items") or []:
        rules.append(HeaderRule(str(item["Header"]), str(item["Value"]), bool(item.get("Override"))))
    return tuple(rules)


def _resolve_text(value: Any, region: str) -> Any:
    """The few intrinsic functions a CSP built with the stack's region uses."""
    if isinstance(value, dict) and "Fn::Join" in value:
        delimiter, items = value["Fn::Join"]
        parts = [_resolve_text(item, region) for item in items]
        return delimiter.join(parts) if all(isinstance(p, str) for p in parts) else value
    if isinstance(value, dict) and value.get("Ref") == "AWS::Region":
        return region
    if isinstance(value, dict) and value.get("Ref") == "AWS::URLSuffix":
        return "amazonaws.com"
    if isinstance(value, dict):
        return {k: _resolve_text(v, region) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_text(v, region) for v in value]
    return value


def compile_site(templates: Iterable[Mapping[str, Any]], *, repo_root: Path, region: str) -> Site | None:
    """The first distribution of the deployed templates, or None when no stack has one."""
    for template in templates:
        resources: Mapping[str, Any] = template.get("Resources") or {}
        for logical_id, spec in resources.items():
            if spec.get("Type") == "AWS::CloudFront::Distribution":
                return _compile_distribution(logical_id, spec, resources, repo_root=repo_root, region=region)
    return None


def _compile_distribution(
    distribution_id: str, spec: Mapping[str, Any], resources: Mapping[str, Any], *, repo_root: Path, region: str
) -> Site:
    config = (spec.get("Properties") or {}).get("DistributionConfig") or {}
    problems: list[str] = []
    origins: dict[str, tuple[str, str, str | None]] = {}  # id -> (kind, origin path, bucket logical id)
    bucket_id: str | None = None
    signed = False
    for origin in config.get("Origins") or []:
        domain = origin.get("DomainName")
        path = str(origin.get("OriginPath") or "")
        if "S3OriginConfig" in origin:
            bucket = _ref(domain)
            origins[origin["Id"]] = ("s3", path, bucket)
            bucket_id = bucket
            oac = resources.get(_ref(origin.get("OriginAccessControlId")) or "", {})
            oac_config = (oac.get("Properties") or {}).get("OriginAccessControlConfig") or {}
            signed = (
                oac.get("Type") == "AWS::CloudFront::OriginAccessControl"
                and oac_config.get("OriginAccessControlOriginType") == "s3"
                and oac_config.get("SigningBehavior") in ("always", "no-override")
            )
            if not signed:
                problems.append(f"origin {origin['Id']}: no Origin Access Control signs its requests to the bucket")
        elif ".execute-api." in json.dumps(domain):
            origins[origin["Id"]] = ("api", path, None)
        else:
            origins[origin["Id"]] = ("other", path, None)

    def behaviour(spec: Mapping[str, Any], pattern: str) -> Behaviour:
        kind, origin_path, _ = origins.get(spec.get("TargetOriginId", ""), ("other", "", None))
        policy = resources.get(_ref(spec.get("ResponseHeadersPolicyId")) or "", {})
        policy_config = _resolve_text((policy.get("Properties") or {}).get("ResponseHeadersPolicyConfig") or {}, region)
        return Behaviour(
            path_pattern=pattern,
            origin=kind,
            origin_path=origin_path,
            allowed_methods=frozenset(str(m) for m in spec.get("AllowedMethods") or ["GET", "HEAD"]),
            headers=compile_headers_policy(policy_config),
            viewer_request=_viewer_request_code(spec, resources),
        )

    behaviours = [behaviour(b, str(b["PathPattern"])) for b in config.get("CacheBehaviors") or []]
    behaviours.append(behaviour(config.get("DefaultCacheBehavior") or {}, "*"))

    readable = (
        bucket_id is not None and signed and _policy_lets_distribution_read(resources, bucket_id, distribution_id)
    )
    if bucket_id is not None and not readable:
        problems.append(f"bucket {bucket_id}: its policy does not let this distribution read objects (s3:GetObject)")
    pages, config_object, cache_control = None, None, None
    for deployment in resources.values():
        props = deployment.get("Properties") or {}
        if (
            deployment.get("Type") != "Custom::CDKBucketDeployment"
            or _ref(props.get("DestinationBucketName")) != bucket_id
        ):
            continue
        metadata = deployment.get("Metadata") or {}
        source = metadata.get(SOURCE_METADATA)
        if source:
            folder = (repo_root / str(source)).resolve()
            pages = folder if folder.is_dir() else None
        config_object = metadata.get(CONFIG_METADATA) or config_object
        cache_control = (props.get("SystemMetadata") or {}).get("cache-control")
    return Site(
        default_root_object=config.get("DefaultRootObject") or None,
        behaviours=tuple(behaviours),
        pages=pages,
        readable=readable,
        config_object=config_object,
        cache_control=cache_control,
        problems=tuple(problems),
    )


def _policy_lets_distribution_read(resources: Mapping[str, Any], bucket_id: str, distribution_id: str) -> bool:
    for spec in resources.values():
        props = spec.get("Properties") or {}
        if spec.get("Type") != "AWS::S3::BucketPolicy" or _ref(props.get("Bucket")) != bucket_id:
            continue
        for statement in (props.get("PolicyDocument") or {}).get("Statement") or []:
            principal = statement.get("Principal") or {}
            if (
                statement.get("Effect") == "Allow"
                and "cloudfront.amazonaws.com"
                in _as_list(principal.get("Service") if isinstance(principal, dict) else None)
                and any(a in ("s3:GetObject", "s3:GetObject*", "s3:*") for a in _as_list(statement.get("Action")))
                and _mentions(statement.get("Condition"), distribution_id)
            ):
                return True
    return False


# --- answering -----------------------------------------------------------------------------------


def content_type(key: str) -> str:
    suffix = Path(key).suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"


def with_policy(headers: Headers, rules: Iterable[HeaderRule]) -> Headers:
    """The origin's headers with the policy's: each replaces the origin's when it overrides, else is
    added only where the origin sent none."""
    out = list(headers)
    for rule in rules:
        present = any(name.lower() == rule.name.lower() for name, _ in out)
        if present and rule.override:
            out = [(n, v) for n, v in out if n.lower() != rule.name.lower()]
        if not present or rule.override:
            out.append((rule.name, rule.value))
    return out


def _viewer_request_code(spec: Mapping[str, Any], resources: Mapping[str, Any]) -> str | None:
    """The code of the CloudFront Function a behaviour runs on viewer requests."""
    for association in spec.get("FunctionAssociations") or []:
        if association.get("EventType") != "viewer-request":
            continue
        arn = association.get("FunctionARN")
        logical = arn.get("Fn::GetAtt", [None])[0] if isinstance(arn, Mapping) else None
        function = resources.get(str(logical), {})
        code = (function.get("Properties") or {}).get("FunctionCode")
        if function.get("Type") == "AWS::CloudFront::Function" and isinstance(code, str):
            return code
    return None


VIEWER_REQUEST_RUNNER = """
const event = JSON.parse(process.argv[1]);
const out = handler(event);
process.stdout.write(JSON.stringify(out === undefined ? null : out));
"""


@functools.lru_cache(maxsize=512)
def viewer_request(code: str, method: str, uri: str) -> str:
    """The URI a CloudFront Function's viewer-request handler passes on, run by Node.js as
    CloudFront runs it (cached: the event holds only the method and the URI, so the answer is
    the same each time). A function that answers by itself is not supported here."""
    import shutil
    import subprocess

    node = shutil.which("node")
    if node is None:
        raise RuntimeError("the distribution runs a CloudFront Function; Node.js (node) is needed to run it locally")
    event = {
        "version": "1.0",
        "context": {"eventType": "viewer-request"},
        "viewer": {"ip": "127.0.0.1"},
        "request": {"method": method, "uri": uri, "querystring": {}, "headers": {}, "cookies": {}},
    }
    done = subprocess.run(
        [node, "-e", code + VIEWER_REQUEST_RUNNER, json.dumps(event)], capture_output=True, text=True, timeout=10
    )
    if done.returncode != 0:
        raise RuntimeError(f"the CloudFront Function failed: {done.stderr.strip()[-500:]}")
    out = json.loads(done.stdout or "null")
    if not isinstance(out, dict) or "uri" not in out:
        raise RuntimeError("the CloudFront Function answered by itself; only request rewrites run locally")
    return str(out["uri"])


def object_key(site: Site, path: str) -> str:
    key = path[1:] if path.startswith("/") else path
    if key == "" and site.default_root_object:
        return site.default_root_object
    return key


def page_file(site: Site, key: str) -> Path | None:
    """The file S3 would hold under `key`, or None (no such object; a key is never a folder)."""
    if site.pages is None or not key or key.endswith("/") or any(part in ("..", ".") for part in key.split("/")):
        return None
    file = (site.pages / key).resolve()
    if not file.is_file() or site.pages not in file.parents:
        return None
    return file


def serve_object(
    site: Site, behaviour: Behaviour, method: str, key: str, body: bytes | None, if_none_match: str | None
) -> tuple[int, Headers, bytes]:
    """An object as S3 answers CloudFront's signed GET, or S3's 403 (no object, or no read access:
    without s3:ListBucket S3 answers a missing key 403, not 404)."""
    if body is None or not site.readable:
        return 403, with_policy([("Content-Type", "application/xml")], behaviour.headers), S3_ACCESS_DENIED
    etag = '"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'
    headers: Headers = [("Content-Type", content_type(key)), ("ETag", etag)]
    if site.cache_control:
        headers.append(("Cache-Control", site.cache_control))
    if if_none_match is not None and etag in [tag.strip() for tag in if_none_match.split(",")]:
        return 304, with_policy(headers, behaviour.headers), b""
    return 200, with_policy(headers, behaviour.headers), b"" if method == "HEAD" else body


def method_not_allowed(behaviour: Behaviour) -> tuple[int, Headers, bytes]:
    return 403, with_policy([("Content-Type", "text/html")], behaviour.headers), METHOD_NOT_ALLOWED


def local_config(outputs: Mapping[str, str], *, region: str, origin: str, api_base: str) -> dict[str, Any]:
    """config.json as the Web stack writes it, for the local cloud: the local pool's ids, Cognito through
    the gateway, and payments through the Stripe emulator (also through the gateway)."""
    return {
        "apiBase": api_base,
        "region": region,
        "userPoolId": outputs.get("UserPoolId"),
        "userPoolClientId": outputs.get("UserPoolClientId"),
        "cognitoEndpoint": origin + COGNITO_PATH,
        "payments": {"mode": "emulator", "emulatorUrl": origin + STRIPE_PATH, "publishableKey": LOCAL_PUBLISHABLE_KEY},
    }


def cognito_problem(status: int, kind: str, message: str) -> tuple[int, Headers, bytes]:
    body = json.dumps({"__type": kind, "message": message}).encode()
    return status, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", kind)], body


def forward_cognito(
    moto_url: str, region: str, method: str, target: str | None, body: bytes
) -> tuple[int, Headers, bytes]:
    """A browser's Cognito Identity Provider JSON call (POST, X-Amz-Target) to the local user pool.
    Only the operations Cognito answers without AWS credentials pass."""
    if method != "POST":
        return cognito_problem(405, "MethodNotAllowedException", "Cognito's JSON API takes POST only.")
    operation = (target or "").removeprefix(COGNITO_TARGET_PREFIX)
    if not target or not target.startswith(COGNITO_TARGET_PREFIX) or operation not in COGNITO_PUBLIC_OPERATIONS:
        return cognito_problem(
            400, "MissingAuthenticationTokenException", f"{operation or 'This operation'} needs AWS credentials."
        )
    request = urllib.request.Request(
        moto_url.rstrip("/") + "/",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": target,
            # moto picks the service from the credential scope; it checks no signature
            "Authorization": (
                f"AWS4-HMAC-SHA256 Credential=local/20250101/{region}/cognito-idp/aws4_request, "
                "SignedHeaders=host;x-amz-target, Signature=0"
            ),
        },
    )
    return _relay(request, keep=("content-type", "x-amzn-errortype", "x-amzn-requestid"))


def forward(url: str, method: str, body: bytes | None, headers: Mapping[str, str]) -> tuple[int, Headers, bytes]:
    """An HTTP request relayed as it came (the local Stripe emulator under the gateway's origin)."""
    kept = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length", "connection")}
    request = urllib.request.Request(url, data=body if body else None, method=method, headers=kept)
    return _relay(request, keep=None)


def _relay(request: urllib.request.Request, keep: tuple[str, ...] | None) -> tuple[int, Headers, bytes]:
    dropped = ("content-length", "connection", "transfer-encoding", "keep-alive", "server", "date")

    def picked(items: Iterable[tuple[str, str]]) -> Headers:
        return [(k, v) for k, v in items if k.lower() not in dropped and (keep is None or k.lower() in keep)]

    try:
        with _OPENER.open(request, timeout=30) as response:
            return response.status, picked(response.headers.items()), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, picked(exc.headers.items()), exc.read()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects go back to the browser (the emulator's 3-D Secure pages), never followed here."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def stack_outputs(account_id: str, region: str) -> dict[str, str]:
    from moto.cloudformation.models import cloudformation_backends

    found: dict[str, str] = {}
    for stack in list(cloudformation_backends[account_id][region].stacks.values()):
        output_map = getattr(stack, "output_map", None)
        for output in list(output_map.values()) if output_map is not None else []:
            if output is not None:
                found[str(output.key)] = str(output.value)
    return found


class LocalSite:
    """The gateway's front: the distribution's behaviours over the pages, the API and the local
    Cognito and Stripe relays. `answer` returns None for a request the API (at the root) should take."""

    def __init__(self, *, account_id: str, region: str, moto_url: str, repo_root: Path) -> None:
        self.account_id = account_id
        self.region = region
        self.moto_url = moto_url
        self.repo_root = repo_root
        self.stripe_url: str | None = None
        self.site: Site | None = None
        self.outputs: dict[str, str] = {}

    def refresh(self) -> None:
        self.site = compile_site(
            deployed_templates(self.account_id, self.region), repo_root=self.repo_root, region=self.region
        )
        self.outputs = stack_outputs(self.account_id, self.region)

    def relays(self, path: str) -> bool:
        return path.rstrip("/") == COGNITO_PATH.rstrip("/") or path == STRIPE_PATH or path.startswith(STRIPE_PATH + "/")

    def relay(
        self, method: str, path: str, environ: Mapping[str, Any], body: bytes
    ) -> tuple[int, Headers, bytes] | None:
        """The local Cognito and Stripe relays (same origin as the pages, so the CSP holds)."""
        if path == COGNITO_PATH or path == COGNITO_PATH.rstrip("/"):
            return forward_cognito(self.moto_url, self.region, method, environ.get("HTTP_X_AMZ_TARGET"), body)
        if self.stripe_url and (path == STRIPE_PATH or path.startswith(STRIPE_PATH + "/")):
            query = environ.get("QUERY_STRING") or ""
            url = self.stripe_url.rstrip("/") + (path[len(STRIPE_PATH) :] or "/") + (f"?{query}" if query else "")
            return forward(url, method, body, _headers(environ))
        return None

    def origin_of(self, environ: Mapping[str, Any]) -> str:
        host = (
            environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '127.0.0.1')}:{environ.get('SERVER_PORT', '80')}"
        )
        return f"http://{host}"

    def config_body(self, environ: Mapping[str, Any]) -> bytes:
        site = self.site
        api = next((p for p in site.api_patterns), "/v1/*") if site else "/v1/*"
        api_base = api.rstrip("*").rstrip("/")
        document = local_config(self.outputs, region=self.region, origin=self.origin_of(environ), api_base=api_base)
        return json.dumps(document, indent=2).encode()


def _headers(environ: Mapping[str, Any]) -> dict[str, str]:
    headers = {k[5:].replace("_", "-").title(): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = str(environ["CONTENT_TYPE"])
    return headers
