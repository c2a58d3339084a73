"""A worker imports only what Lambda would have: the function's asset and its layers' `python/`.

On AWS a function's code is its asset zip (cwd /var/task) plus its layers (/opt/python); nothing
else of the project exists there. The local worker runs from the project's venv, where `shopstack`
is installed editable and the repository root may be on the path, so a handler importing another
service's package, `shopstack`, `infra`, `tests` or `bench` would pass locally and fail on AWS.

The pool tells a worker its allowed folders and the project's top-level names through the
environment (ALLOWED_ENV, PROJECT_ENV). `confine_from_env()` then drops the project's folders from
`sys.path`, forgets the already-imported `shopstack` package, and puts a finder first on
`sys.meta_path` that refuses any project top-level name not present in an allowed folder, with the
ModuleNotFoundError Python gives for a missing module. Third-party packages still come from the
venv, since the bundled layer holds binaries for Lambda's platform, not this machine's.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType

ALLOWED_ENV = "_SHOPSTACK_ASSET_PATHS"
PROJECT_ENV = "_SHOPSTACK_PROJECT_ROOT"
ALWAYS_PROJECT = frozenset({"shopstack", "infra", "tests", "bench", "functions", "layers", "web", "docs"})
NOT_PACKAGES = frozenset({"__pycache__", "node_modules"})


def project_names(root: Path) -> frozenset[str]:
    """Top-level names that belong to the project: its folders and every service and layer package."""
    names = set(ALWAYS_PROJECT)
    for folder in (root, root / "functions", root / "layers" / "shared" / "python"):
        if folder.is_dir():
            names.update(
                p.stem
                for p in folder.iterdir()
                if (p.is_dir() and not p.name.startswith(".") and p.name not in NOT_PACKAGES) or p.suffix == ".py"
            )
    return frozenset(n for n in names if n.isidentifier())


def present(name: str, folders: Iterable[str]) -> bool:
    for folder in folders:
        base = Path(folder)
        if (base / name).is_dir() or (base / f"{name}.py").is_file():
            return True
    return False


class ProjectImportBlocker(importlib.abc.MetaPathFinder):
    """Refuses top-level project modules the function's asset and layers do not contain."""

    def __init__(self, allowed: Sequence[str], blocked: frozenset[str]) -> None:
        self.allowed = list(allowed)
        self.blocked = frozenset(name for name in blocked if not present(name, self.allowed))

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] in self.blocked:
            raise ModuleNotFoundError(f"No module named '{fullname}'", name=fullname)
        return None


def _inside(path: str, root: Path) -> bool:
    try:
        Path(path or ".").resolve().relative_to(root)
    except ValueError:
        return False
    return True


def confine(allowed: Sequence[str], root: Path) -> None:
    """Import from `allowed` folders and the interpreter's own (stdlib, venv site-packages) only."""
    resolved = [str(Path(a).resolve()) for a in allowed]
    venv = Path(sys.prefix).resolve()
    kept = [p for p in sys.path if p and (not _inside(p, root) or _inside(p, venv))]
    sys.path[:] = [*resolved, *[p for p in kept if str(Path(p).resolve()) not in resolved]]
    for name in [m for m in sys.modules if m.partition(".")[0] == "shopstack" and m != "__main__"]:
        del sys.modules[name]
    sys.meta_path.insert(0, ProjectImportBlocker(resolved, project_names(root)))
    importlib.invalidate_caches()


def confine_from_env() -> None:
    """Confine imports when the pool asked for it (a function deployed from an asset)."""
    allowed = os.environ.pop(ALLOWED_ENV, None)
    root = os.environ.pop(PROJECT_ENV, None)
    if allowed is None or root is None:
        return
    confine(json.loads(allowed), Path(root).resolve())
