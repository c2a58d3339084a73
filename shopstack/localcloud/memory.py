"""glibc's allocator in the long-running main process.

The main process serves every request on a thread of its own (werkzeug), runs each Step Functions
execution on a thread, and glibc gives threads their own malloc arenas (up to 8 per core), each
holding on to memory freed by short-lived threads. Two arenas are plenty for a process whose
DynamoDB calls run one at a time anyway, and `trim` hands freed pages back to the kernel, so the
process's resident size follows what it holds. Both are no-ops where glibc is not the allocator.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_ARENA_MAX = -8
ARENAS = 2


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas; call before threads start. False where unavailable."""
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None)
    return bool(mallopt is not None and mallopt(M_ARENA_MAX, arenas) == 1)


def trim() -> bool:
    """Return freed heap pages to the kernel (malloc_trim)."""
    libc = _libc()
    malloc_trim = getattr(libc, "malloc_trim", None)
    return bool(malloc_trim is not None and malloc_trim(0) == 1)
