"""The warm worker pool on its own, with functions configured in the test (no moto)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shopstack.localcloud.lambda_pool import FunctionConfig, LambdaInvocationError, LambdaPool
from shopstack.waiting import NotMet, eventually

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"


def config(name: str, timeout: float = 2.0, **env: str) -> FunctionConfig:
    return FunctionConfig(
        name=name.title(),
        arn=ARN.format(name.title()),
        handler=f"handlers.{name}",
        timeout=timeout,
        memory_size=256,
        environment=dict(env),
    )


CONFIGS = {
    "echo": config("echo"),
    "boom": config("boom"),
    "slow": config("slow", timeout=1.0),
    "env": config("env", GREETING="hello"),
    "missing": FunctionConfig(name="Missing", arn=ARN.format("Missing"), handler="handlers_nope.handler"),
}


@pytest.fixture
def log() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def pool(log: io.StringIO) -> Iterator[LambdaPool]:
    local = LambdaPool(
        moto_url="http://127.0.0.1:9",
        region="us-east-1",
        account_id="123456789012",
        resolver=lambda name: CONFIGS[name.rsplit(":", 1)[-1].lower()],
        code_paths=[FIXTURES],
        idle_seconds=60,
        log_stream=log,
    )
    yield local
    local.stop()


def test_a_warm_worker_is_reused_and_keeps_module_state(pool: LambdaPool) -> None:
    first = pool.invoke("echo", {"n": 1})
    second = pool.invoke("echo", {"n": 2})
    assert first["pid"] == second["pid"]
    assert (first["calls"], second["calls"]) == (1, 2)
    assert second["event"] == {"n": 2}


def test_the_context_looks_like_lambdas(pool: LambdaPool) -> None:
    result = pool.invoke(ARN.format("Echo"), {})
    assert result["function_name"] == "Echo"
    assert result["arn"] == ARN.format("Echo")
    assert result["memory"] == 256
    assert 0 < result["remaining_ms"] <= 2000
    assert len(result["request_id"]) == 36


def test_a_handler_exception_returns_lambdas_error_payload(pool: LambdaPool) -> None:
    with pytest.raises(LambdaInvocationError) as caught:
        pool.invoke("boom", {"why": "bad input"})
    payload = caught.value.payload
    assert payload["errorType"] == "ValueError"
    assert payload["errorMessage"] == "boom: bad input"
    assert any("handlers.py" in frame for frame in payload["stackTrace"])
    text, errored, _ = pool.invoke_raw("boom", {})
    assert errored and '"errorType": "ValueError"' in text


def test_a_timeout_kills_the_worker_and_errors_like_lambda(pool: LambdaPool) -> None:
    before = pool.invoke("slow", {"seconds": 0})["pid"]
    with pytest.raises(LambdaInvocationError) as caught:  # cut off, not answered 5 s later
        pool.invoke("slow", {"seconds": 5})
    assert caught.value.error_type == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in caught.value.payload["errorMessage"]
    with pytest.raises(ProcessLookupError):
        os.kill(before, 0)
    assert pool.invoke("slow", {"seconds": 0})["pid"] != before


def test_an_import_error_fails_every_invocation(pool: LambdaPool) -> None:
    with pytest.raises(LambdaInvocationError) as caught:
        pool.invoke("missing", {})
    assert caught.value.error_type.startswith("Runtime.")


def test_the_worker_gets_the_function_environment(pool: LambdaPool) -> None:
    env = pool.invoke("env", {})
    assert env["GREETING"] == "hello"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "Env"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
    assert env["PYTHONPATH"].split(os.pathsep) == [str(FIXTURES)]


def test_overlapping_invocations_use_several_workers_up_to_the_cap(pool: LambdaPool) -> None:
    with ThreadPoolExecutor(max_workers=8) as executor:
        pids = set(executor.map(lambda _: pool.invoke("slow", {"seconds": 0.3})["pid"], range(8)))
    assert 1 < len(pids) <= 4


def test_worker_output_is_prefixed_with_the_function_name(pool: LambdaPool, log: io.StringIO) -> None:
    pool.invoke("echo", {"marker": "xyzzy"})
    eventually(lambda: "xyzzy" in log.getvalue(), timeout=2, interval=0.02)
    assert any(line.startswith("[Echo] echo called") and "xyzzy" in line for line in log.getvalue().splitlines())


def test_idle_workers_are_retired(log: io.StringIO) -> None:
    local = LambdaPool(
        moto_url="http://127.0.0.1:9",
        region="us-east-1",
        account_id="123456789012",
        resolver=lambda name: CONFIGS[name],
        code_paths=[FIXTURES],
        idle_seconds=0.3,
        log_stream=log,
    )
    try:
        pid = local.invoke("echo", {})["pid"]
        with contextlib.suppress(NotMet):
            eventually(lambda: not local.worker_pids(), timeout=5)
        assert local.worker_pids() == []
        assert local.invoke("echo", {})["pid"] != pid
    finally:
        local.stop()


def test_invocations_in_a_row_all_run_on_the_one_warm_worker(pool: LambdaPool) -> None:
    """The warm worker answers every call (no new process, no new import: its module state
    counts them); what a warm call costs is measured in bench/local_cloud.py."""
    first = pool.invoke("echo", {})
    answers = [pool.invoke("echo", {"n": n}) for n in range(200)]
    assert {a["pid"] for a in answers} == {first["pid"]}
    assert [a["calls"] for a in answers] == list(range(first["calls"] + 1, first["calls"] + 201))
    assert pool.worker_pids() == [first["pid"]]


def test_workers_die_with_a_killed_parent() -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        from shopstack.localcloud.lambda_pool import FunctionConfig, LambdaPool
        config = FunctionConfig(name="Env", arn="arn", handler="handlers.env")
        pool = LambdaPool(moto_url="http://127.0.0.1:9", region="us-east-1", account_id="1",
                          resolver=lambda name: config, code_paths=[{str(FIXTURES)!r}])
        print("pid", pool.worker_pids()[0] if pool.invoke("Env", {{}}) else 0, flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=FIXTURES.parents[2]
    )
    assert parent.stdout is not None
    worker = int(next(line for line in parent.stdout if line.startswith("pid ")).split()[1])
    parent.kill()
    parent.wait()

    def gone() -> bool:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return True
        return False

    eventually(gone, timeout=5, interval=0.05, what="the worker ending with its SIGKILLed parent")
