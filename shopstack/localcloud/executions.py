"""Step Functions executions as moto's parser backend holds them, read one way by everything in the
local cloud that looks at them: the trace, the usage counter, durability and the samplers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

EXPRESS = "EXPRESS"
RUNNING = "RUNNING"


def backend(account_id: str, region: str) -> Any:
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    return stepfunctions_parser_backends[account_id][region]


def machine_type(machine: Any) -> str:
    """STANDARD or EXPRESS: moto keeps the type asked for in `type` (its `sm_type` says STANDARD)."""
    kind = getattr(machine, "type", None) or getattr(machine, "sm_type", None) or "STANDARD"
    return str(getattr(kind, "value", kind))


def is_express(machine: Any) -> bool:
    return machine_type(machine) == EXPRESS


def each(account_id: str, region: str) -> Iterator[tuple[Any, Any, str]]:
    """(state machine, execution, status) for every execution held; an execution whose worker has
    not set a status yet is RUNNING."""
    for machine in list(backend(account_id, region).state_machines):
        for execution in list(machine.executions):
            state = getattr(execution, "exec_status", None)
            yield machine, execution, str(getattr(state, "value", state or RUNNING))
