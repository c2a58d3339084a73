"""Bounded Step Functions history: moto keeps every execution (its input, output and whole event
history) for as long as the process lives, and looks an execution name up by scanning them all.

After each start, a state machine keeps its running executions and its newest
MAX_FINISHED_EXECUTIONS finished ones; older finished executions are dropped, and only their
names are kept, so that a Standard workflow stays exactly-once per execution name (starting a
dropped name again is ExecutionAlreadyExists, as on AWS).
"""

from __future__ import annotations

from typing import Any

MAX_FINISHED_EXECUTIONS = 50
FORGOTTEN = "_shopstack_forgotten_executions"


def _finished(execution: Any) -> bool:
    status = getattr(execution, "exec_status", None)
    return status is not None and getattr(status, "value", status) != "RUNNING"


def forgotten(state_machine: Any) -> dict[str, str]:
    """Names of the dropped executions of `state_machine`, with their ARNs."""
    names: dict[str, str] = state_machine.__dict__.setdefault(FORGOTTEN, {})
    return names


def prune_executions(state_machine: Any, keep: int | None = None) -> int:
    """Drop the oldest finished executions beyond `keep` (MAX_FINISHED_EXECUTIONS); returns how many."""
    limit = MAX_FINISHED_EXECUTIONS if keep is None else keep
    executions = state_machine.executions
    finished = [e for e in list(executions) if _finished(e)]
    drop = finished[: max(0, len(finished) - limit)]
    if not drop:
        return 0
    names = forgotten(state_machine)
    for execution in drop:
        names[execution.name] = execution.execution_arn
    dropped = {id(e) for e in drop}
    executions[:] = [e for e in executions if id(e) not in dropped]
    return len(drop)
