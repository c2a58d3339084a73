"""Workers forked from the zygote see what a fresh interpreter would have given them: only their
function's environment, their own fresh handler module, Powertools' cold start on their first
invocation; the zygote holds no project package, runs one thread, and outlives a crashed worker."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopstack.localcloud.asset_imports import project_names
from shopstack.localcloud.lambda_pool import REPO_ROOT, FunctionConfig, LambdaInvocationError, LambdaPool
from shopstack.waiting import NotMet, eventually

ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"
HANDLERS = textwrap.dedent(
    """
    import os
    import random
    import sys

    from aws_lambda_powertools import Logger

    CALLS = {"count": 0}
    logger = Logger(service="zygote-test")


    def parent_pid():
        with open("/proc/self/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])


    @logger.inject_lambda_context
    def state(event, context):
        CALLS["count"] += 1
        import boto3

        return {
            "pid": os.getpid(),
            "ppid": parent_pid(),
            "calls": CALLS["count"],
            "cold_start": logger.get_current_keys().get("cold_start"),
            "random": random.random(),
            "default_session": boto3.DEFAULT_SESSION is None,
            "niceness": os.getpriority(os.PRIO_PROCESS, 0),
            "cwd": os.getcwd(),
            "path": sys.path[:3],
        }


    def env(event, context):
        return {"env": dict(os.environ), "ppid": parent_pid()}


    def crash(event, context):
        os._exit(3)


    def clients(event, context):
        import boto3

        first = boto3.session.Session().client("dynamodb")
        second = boto3.client("sqs")
        paths = first._loader.search_paths
        return {
            "shared": first._loader is second._loader,
            "unique_paths": len(paths) == len(set(paths)),
            "region": second.meta.region_name,
            "operations": "GetItem" in first.meta.service_model.operation_names,
        }
    """
)


def fn(name: str, handler: str = "zyg_handlers.state", **env: str) -> FunctionConfig:
    return FunctionConfig(
        name=name, arn=ARN.format(name), handler=handler, timeout=10.0, memory_size=256, environment=dict(env)
    )


CONFIGS = {
    "First": fn("First"),
    "Second": fn("Second"),
    "Third": fn("Third"),
    "Env": fn("Env", "zyg_handlers.env", GREETING="hello", TABLE_NAME="orders"),
    "Debug": fn("Debug", "zyg_handlers.env", POWERTOOLS_DEBUG="1"),
    "Crash": fn("Crash", "zyg_handlers.crash"),
    "Background": fn("Background"),
    "Cold": fn("Cold"),
    "Clients": fn("Clients", "zyg_handlers.clients"),
    "Warm": fn("Warm"),
}


@pytest.fixture(scope="module")
def code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("code")
    (folder / "zyg_handlers.py").write_text(HANDLERS)
    return folder


@pytest.fixture(scope="module")
def pool(code: Path) -> Iterator[LambdaPool]:
    os.environ["SHOPSTACK_ZYGOTE_TEST_LEAK"] = "must not reach a worker"
    try:
        local = LambdaPool(
            moto_url="http://127.0.0.1:9",
            region="us-east-1",
            account_id="123456789012",
            resolver=lambda name: CONFIGS[name.rsplit(":", 1)[-1]],
            code_paths=[code],
            idle_seconds=60,
            log_stream=io.StringIO(),
            fork_workers=True,
        )
    finally:
        del os.environ["SHOPSTACK_ZYGOTE_TEST_LEAK"]
    yield local
    local.stop()


def zygote_pid(pool: LambdaPool) -> int:
    forker = pool.zygote()
    assert forker is not None
    return forker.pid


def test_workers_are_forked_from_the_zygote(pool: LambdaPool) -> None:
    result = pool.invoke("First", {})
    assert result["ppid"] == zygote_pid(pool) != os.getpid()


def test_a_worker_sees_only_its_functions_environment(pool: LambdaPool, code: Path) -> None:
    result = pool.invoke("Env", {})
    env = result["env"]
    assert result["ppid"] == zygote_pid(pool)
    assert env == pool.worker_env(CONFIGS["Env"])
    assert env["GREETING"] == "hello" and env["TABLE_NAME"] == "orders"
    assert "SHOPSTACK_ZYGOTE_TEST_LEAK" not in env
    assert env["PYTHONPATH"].split(os.pathsep) == [str(code)]


def test_each_worker_imports_its_handler_module_fresh(pool: LambdaPool, code: Path) -> None:
    first = pool.invoke("Second", {})
    again = pool.invoke("Second", {})
    other = pool.invoke("Third", {})
    assert (first["calls"], again["calls"], other["calls"]) == (1, 2, 1)
    assert first["pid"] == again["pid"] != other["pid"]
    assert first["random"] != other["random"]  # reseeded after the fork
    assert first["default_session"] and other["default_session"]
    assert Path(first["cwd"]) == REPO_ROOT and first["path"][1] == str(code)


def test_powertools_cold_start_is_true_on_a_workers_first_invocation_only(pool: LambdaPool) -> None:
    first, second = pool.invoke("Cold", {}), pool.invoke("Cold", {})
    other = pool.invoke("Warm", {})
    assert first["pid"] == second["pid"] != other["pid"]
    assert (first["cold_start"], second["cold_start"], other["cold_start"]) == (True, False, True)


def test_the_zygote_holds_third_party_libraries_only_and_one_thread(pool: LambdaPool) -> None:
    forker = pool.zygote()
    assert forker is not None
    modules = set(forker.modules())
    assert {"boto3", "botocore.client", "pynamodb.models", "stripe", "aws_lambda_powertools"} <= modules
    ours = project_names(REPO_ROOT) | {"zyg_handlers", "handlers"}
    assert not {m for m in modules if m.partition(".")[0] in ours}
    assert len(os.listdir(f"/proc/{forker.pid}/task")) == 1


def test_workers_share_the_zygotes_botocore_data_only(pool: LambdaPool) -> None:
    result = pool.invoke("Clients", {})
    assert result == {"shared": True, "unique_paths": True, "region": "us-east-1", "operations": True}


def test_a_crashed_worker_does_not_hurt_the_zygote(pool: LambdaPool) -> None:
    before = zygote_pid(pool)
    with pytest.raises(LambdaInvocationError) as caught:
        pool.invoke("Crash", {})
    assert caught.value.error_type == "Runtime.ExitError"
    assert "exit status 3" in caught.value.payload["errorMessage"]
    assert zygote_pid(pool) == before
    os.kill(before, 0)
    assert pool.invoke("First", {})["ppid"] == before


def test_event_driven_workers_run_at_background_priority(pool: LambdaPool) -> None:
    text, errored, _ = pool.invoke_raw("Background", {})
    assert not errored and '"niceness": 10' in text
    assert pool.invoke("Background", {})["niceness"] == 0


def test_an_import_time_variable_gets_a_fresh_interpreter(pool: LambdaPool) -> None:
    result = pool.invoke("Debug", {})
    assert result["ppid"] == os.getpid()
    assert result["env"] == pool.worker_env(CONFIGS["Debug"])


def test_the_zygote_and_its_workers_die_with_a_killed_pool(code: Path) -> None:
    script = textwrap.dedent(
        f"""
        import time
        from shopstack.localcloud.lambda_pool import FunctionConfig, LambdaPool
        config = FunctionConfig(name="F", arn="arn", handler="zyg_handlers.env")
        pool = LambdaPool(moto_url="http://127.0.0.1:9", region="us-east-1", account_id="1",
                          resolver=lambda name: config, code_paths=[{str(code)!r}], fork_workers=True)
        pool.invoke("F", {{}})
        print("pids", pool.zygote_pids()[0], pool.worker_pids()[0], flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT)
    assert parent.stdout is not None
    pids = [int(p) for p in next(line for line in parent.stdout if line.startswith("pids ")).split()[1:]]
    parent.kill()
    parent.wait()
    with contextlib.suppress(NotMet):
        eventually(lambda: not any(_running(pid) for pid in pids), timeout=5, interval=0.05)
    assert [pid for pid in pids if _running(pid)] == [], "outlived their SIGKILLed pool"


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
