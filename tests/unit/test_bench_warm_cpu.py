"""The pure parts of bench.warm_cpu: the bare resolver it is held against answers, and a route's
samples are its median after the warm-up, with the calls counted per request."""

from __future__ import annotations

from typing import Any

from bench import warm_cpu


def test_the_bare_resolver_answers_its_constant() -> None:
    answer = warm_cpu.bare_resolver()()
    assert answer["statusCode"] == 200
    assert answer["body"] == '{"status":"ok"}'


def test_samples_skip_the_warm_up_and_run_the_setup_before_each_request() -> None:
    order: list[str] = []

    def setup() -> None:
        order.append("setup")

    def run() -> Any:
        order.append("run")
        return sum(range(1000))

    result = warm_cpu.sample(run, setup, 4)
    assert order == ["setup", "run"] * (warm_cpu.WARM_UP + 4)
    assert result["us"] >= 0
    assert result["aws_client_us"] == 0
    assert result["aws_calls"] == 0
