"""Start and stop `shopstack up` as a user would, and talk to it over HTTP: used by the
integration tests and the benchmarks."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT_URI = "urn:shopstack:openapi"
UNCHECKED_PATHS = ("/openapi.json", "/docs", "/_localcloud")
"""Answers no operation of the document describes: the document and its Swagger UI themselves,
and the local cloud's own control endpoints."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _unchecked(path: str) -> bool:
    return urllib.parse.urlsplit(path).path.startswith(UNCHECKED_PATHS)


class ResponseContract:
    """The responses the served OpenAPI document declares, to hold every answer against: the
    operation a request reaches (its path matched to the document's path templates, and its
    method), the statuses it documents, their content types and body schemas (`$ref`s resolved
    in the document)."""

    def __init__(self, document: dict[str, Any]) -> None:
        from referencing import Registry
        from referencing.jsonschema import DRAFT202012

        self.document = document
        self._registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, DRAFT202012.create_resource(document))
        self._validators: dict[str, Any] = {}
        self._lock = threading.Lock()
        templates = sorted(document.get("paths", {}), key=lambda t: (t.count("{"), t))
        self._templates = [
            (re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(t)) + "$"), t) for t in templates
        ]

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        """(the path template, the operation) the request reaches, or None when the document has
        no such operation (the gateway answers an undeclared method or path itself)."""
        if _unchecked(path):
            return None
        path = urllib.parse.urlsplit(path).path
        for pattern, template in self._templates:
            if pattern.match(path):
                operation = self.document["paths"][template].get(method.lower())
                return (template, operation) if operation is not None else None
        return None

    def check(self, method: str, path: str, reply: Reply) -> None:
        """Raise AssertionError when `reply` is not an answer the document declares for the
        operation: a status it does not document, a JSON content type it does not list for that
        status, or a body its schema does not match. Non-JSON bodies (pages, images) are held to
        their status only."""
        found = self.operation(method, path)
        if found is None:
            return
        template, operation = found
        name = f"{method.upper()} {template}"
        responses = operation.get("responses", {})
        status_key = next(
            (k for k in (str(reply.status), f"{str(reply.status)[0]}XX", "default") if k in responses), None
        )
        if status_key is None:
            raise AssertionError(
                f"{name} answered {reply.status}, which its OpenAPI operation does not document "
                f"(it documents {', '.join(sorted(responses))}): {reply.text[:300]}"
            )
        content = responses[status_key].get("content") or {}
        if not content and not reply.text:
            return  # no body, as documented (a 204 carries a Content-Type header all the same)
        media_type = _media_type(reply.headers.get("content-type", ""))
        if not _is_json(media_type):
            return
        if media_type not in content:
            raise AssertionError(
                f"{name} answered {reply.status} with {media_type}, which its OpenAPI operation does not "
                f"document for {reply.status} (it documents {', '.join(sorted(content)) or 'no body'})"
            )
        try:
            body = json.loads(reply.text)
        except ValueError as exc:
            raise AssertionError(f"{name} answered {reply.status} {media_type} that is not JSON: {exc}") from exc
        if "schema" not in content[media_type]:
            return
        pointer = "/".join(
            part.replace("~", "~0").replace("/", "~1")
            for part in ("paths", template, method.lower(), "responses", status_key, "content", media_type, "schema")
        )
        from jsonschema.exceptions import best_match

        error = best_match(self._validator_for(pointer).iter_errors(body))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(the body)"
            raise AssertionError(
                f"{name} answered {reply.status} {media_type} with a body its OpenAPI response schema does "
                f"not allow, at {where}: {error.message}\nbody: {reply.text[:1000]}"
            )

    def _validator_for(self, pointer: str) -> Any:
        """The schema at `pointer` in the document, compiled once."""
        from jsonschema import Draft202012Validator

        with self._lock:
            if pointer not in self._validators:
                reference = {"$ref": DOCUMENT_URI + "#/" + urllib.parse.quote(pointer, safe="/~")}
                self._validators[pointer] = Draft202012Validator(reference, registry=self._registry)
            return self._validators[pointer]


@dataclass
class LocalCloud:
    process: subprocess.Popen[str]
    base_url: str
    moto_url: str
    stripe_url: str
    log: list[str] = field(default_factory=list)
    state_dir: Path | None = None
    check_responses: bool = True
    """Hold every answer of `request` against the served OpenAPI document (`contract()`)."""
    _contract: ResponseContract | None = field(default=None, init=False, repr=False)
    _contract_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def contract(self) -> ResponseContract:
        """The served OpenAPI document (`GET /openapi.json`, read once) as a `ResponseContract`."""
        with self._contract_lock:
            if self._contract is None:
                reply = self.request("GET", "/openapi.json")  # unchecked: the document itself
                if reply.status != 200:
                    raise RuntimeError(f"could not read the OpenAPI document: {reply.status} {reply.text[:300]}")
                self._contract = ResponseContract(reply.json)
            return self._contract

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Reply:
        """One HTTP request to the gateway. Unless `check_responses` is off, an answer the served
        OpenAPI document does not declare for the operation (status, content type, body) raises
        AssertionError naming the operation, the status and what does not match."""
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                reply = Reply(
                    response.status,
                    {k.lower(): v for k, v in response.headers.items()},
                    response.read().decode(),
                )
        except urllib.error.HTTPError as exc:
            reply = Reply(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read().decode())
        if self.check_responses and not _unchecked(path):
            self.contract().check(method, path, reply)
        return reply

    def aws(self, service: str) -> Any:
        """A boto3 client for one of the local cloud's AWS services."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.moto_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def outputs(self) -> dict[str, str]:
        """Every CloudFormation output of the deployed stacks, by output key."""
        found: dict[str, str] = {}
        for stack in self.aws("cloudformation").describe_stacks()["Stacks"]:
            for output in stack.get("Outputs", []):
                found[output["OutputKey"]] = output["OutputValue"]
        return found

    def set_ses_mode(self, mode: str) -> None:
        """SES as a new account has it ("sandbox") or with production access ("production")."""
        reply = self.request("PUT", "/_localcloud/ses", body={"mode": mode})
        if reply.status != 200:
            raise RuntimeError(f"could not set SES mode {mode!r}: {reply.status} {reply.text}")

    def ses_mode(self) -> str:
        return str(self.request("GET", "/_localcloud/ses").json["mode"])

    def _control(self, method: str, path: str, *, body: Any = None, what: str) -> Any:
        """A local cloud control endpoint's JSON answer; anything but 200 raises."""
        reply = self.request(method, path, body=body)
        if reply.status != 200:
            raise RuntimeError(f"could not {what}: {reply.status} {reply.text}")
        return reply.json

    def set_chaos(self, *, dynamodb: float = 0.0, stepfunctions: float = 0.0) -> dict[str, Any]:
        """Fail that share of DynamoDB writes, and of Step Functions starts, before they apply (0
        turns it off); returns the switch's state, faults injected so far included."""
        body = {"dynamodb": dynamodb, "stepfunctions": stepfunctions}
        state: dict[str, Any] = self._control("PUT", "/_localcloud/chaos", body=body, what="set chaos")
        return state

    def chaos(self) -> dict[str, Any]:
        """The fault rates and the faults injected so far, e.g. {"dynamodb": 0.05, "injected": {...}}."""
        state: dict[str, Any] = self.request("GET", "/_localcloud/chaos").json
        return state

    def set_rate_limits(self, **limits: int) -> dict[str, Any]:
        """Lower (or raise) the web ACL's per-client limits without a redeploy, e.g.
        `set_rate_limits(perIp=20, checkoutPerIp=5)`; every count starts afresh. Undo with
        `reset_rate_limits()` (the integration suite shares one cloud)."""
        state: dict[str, Any] = self._control("PUT", "/_localcloud/ratelimits", body=limits, what="set rate limits")
        return state

    def reset_rate_limits(self) -> dict[str, Any]:
        """The deployed per-client limits again, every count afresh."""
        state: dict[str, Any] = self._control("DELETE", "/_localcloud/ratelimits", what="reset rate limits")
        return state

    def rate_limits(self) -> dict[str, Any]:
        """{"perIp": n, "checkoutPerIp": n, "rules": [{"name", "limit", "deployedLimit", ...}]}."""
        state: dict[str, Any] = self.request("GET", "/_localcloud/ratelimits").json
        return state

    def schedules(self) -> list[dict[str, Any]]:
        """The enabled scheduled EventBridge rules: name, expression, targets, lastFiredAt,
        nextFireAt (None for cron rules, which only fire by hand) and lastResult."""
        rules: list[dict[str, Any]] = self._control("GET", "/_localcloud/schedules", what="list schedules")["schedules"]
        return rules

    def fire_schedule(self, rule_name: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Fire a scheduled rule now and wait for its targets: {"rule": ..., "results": [{"target",
        "function", "result" | "error"}]}. `payload` goes to every target instead of the rule's own
        input (the scheduled event or the target's Input)."""
        path = "/_localcloud/schedules/" + urllib.parse.quote(rule_name, safe="")
        fired: dict[str, Any] = self._control("POST", path, body=payload, what=f"fire schedule {rule_name!r}")
        return fired

    def metrics(self, namespace: str | None = None, name: str | None = None) -> list[dict[str, Any]]:
        """The metric series the local cloud collected: namespace, name, dimensions, unit, count,
        sum, minimum, maximum and the newest datapoints ({"time", "value"})."""
        query = urllib.parse.urlencode({k: v for k, v in {"namespace": namespace, "name": name}.items() if v})
        path = "/_localcloud/metrics" + (f"?{query}" if query else "")
        series: list[dict[str, Any]] = self._control("GET", path, what="read metrics")["metrics"]
        return series

    def logs(
        self,
        *,
        function: str | None = None,
        correlation_id: str | None = None,
        order_id: str | None = None,
        after: int = 0,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """The functions' log lines after seq `after`, oldest first: {"seq", "time", "function",
        "requestId", "correlationId", "json" (a JSON line) or "text"}."""
        wanted = {"function": function, "correlationId": correlation_id, "orderId": order_id}
        query = urllib.parse.urlencode({**{k: v for k, v in wanted.items() if v}, "after": after, "limit": limit})
        lines: list[dict[str, Any]] = self._control("GET", f"/_localcloud/logs?{query}", what="read logs")["logs"]
        return lines

    def alarms(self) -> list[dict[str, Any]]:
        """Each deployed alarm as the local cloud last evaluated it: name, state, reason, metric,
        dimensions, statistic, threshold, lastChange, ..."""
        found: list[dict[str, Any]] = self._control("GET", "/_localcloud/alarms", what="read alarms")["alarms"]
        return found

    def trace(self, order_id: str) -> dict[str, Any]:
        """One order's path: {"orderId", "correlationId", "status", "executions", "timeline": [{"time",
        "offsetMs", "kind" (log, event, state, email), "who", "what", "fields"}]}."""
        path = "/_localcloud/trace/" + urllib.parse.quote(order_id, safe="")
        traced: dict[str, Any] = self._control("GET", path, what=f"trace order {order_id!r}")
        return traced

    def executions(self, name_prefix: str = "") -> list[dict[str, Any]]:
        """Step Functions executions whose name starts with `name_prefix`, Express ones included,
        oldest first: {"stateMachine", "type", "name", "status", "input", "error", "cause", "states"}."""
        path = "/_localcloud/executions?" + urllib.parse.urlencode({"name": name_prefix})
        found: list[dict[str, Any]] = self._control("GET", path, what="read executions")["executions"]
        return found

    def children(self) -> set[int]:
        """Pids of every process started by the local cloud (its whole tree)."""
        tree = frontier = {self.process.pid}
        stats = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stats[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
        while frontier:
            frontier = {pid for pid, parent in stats.items() if parent in frontier} - tree
            tree |= frontier
        return tree

    def kill_group(self, timeout: float = 30) -> int:
        """SIGKILL the cloud's whole process group, as the kernel's OOM killer or a crash would end
        it (only for a cloud started with `own_process_group`)."""
        if self.process.poll() is None and os.getpgid(self.process.pid) != self.process.pid:
            raise RuntimeError("the local cloud shares this process group: start it with own_process_group=True")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.wait(timeout)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, as Ctrl-C would; a cloud that has not stopped after `timeout` is killed with its
        whole tree (so no test run leaves it behind) and the timeout is raised."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            for pid in self.children():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.process.wait(5)
            raise


def start(
    *,
    seed: str = "none",
    state_dir: Path,
    timeout: float = 240,
    ses: str = "sandbox",
    chaos: dict[str, float] | None = None,
    fresh: bool = True,
    own_process_group: bool = False,
) -> LocalCloud:
    """`fresh=False` restores the state saved in `state_dir`; `own_process_group` starts the cloud
    in a session of its own, so that `kill_group` reaches its whole tree and nothing else."""
    port, moto_port, stripe_port = free_port(), free_port(), free_port()
    env = {**os.environ, "SHOPSTACK_STATE_DIR": str(state_dir), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shopstack",
            "up",
            "--port",
            str(port),
            "--moto-port",
            str(moto_port),
            "--stripe-port",
            str(stripe_port),
            "--seed",
            seed,
            *(["--fresh"] if fresh else []),
            "--ses",
            ses,
            *[f"--chaos={service}={rate}" for service, rate in (chaos or {}).items()],
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=own_process_group,
    )
    cloud = LocalCloud(
        process,
        f"http://127.0.0.1:{port}",
        f"http://127.0.0.1:{moto_port}",
        f"http://127.0.0.1:{stripe_port}",
        state_dir=Path(state_dir),
    )
    ready = threading.Event()

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            cloud.log.append(line.rstrip())
            if line.startswith("ready: "):
                ready.set()

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.wait(0.2):
        if process.poll() is not None or time.monotonic() > deadline:
            cloud.stop()
            tail = "\n".join(cloud.log[-60:])
            raise RuntimeError(f"shopstack up did not become ready:\n{tail}")
    try:
        cloud.contract()  # read once, before any request is timed
    except BaseException:
        cloud.stop()
        raise
    return cloud
