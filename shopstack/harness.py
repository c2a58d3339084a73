"""Start and stop `shopstack up` as a user would, and talk to it over HTTP: used by the
integration tests and the benchmarks."""

from __future__ import annotations

import contextlib
import json
import os
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


@dataclass
class LocalCloud:
    process: subprocess.Popen[str]
    base_url: str
    moto_url: str
    stripe_url: str
    log: list[str] = field(default_factory=list)
    state_dir: Path | None = None

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
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Reply(
                    response.status,
                    {k.lower(): v for k, v in response.headers.items()},
                    response.read().decode(),
                )
        except urllib.error.HTTPError as exc:
            return Reply(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read().decode())

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
    return cloud
