"""Memory allocator settings for this project's workloads.

A training step allocates and frees hundreds of tensors of 0.1-30 MB. glibc's malloc serves
blocks above its mmap threshold (128 kB, adapting upwards only after frees) with fresh
mappings and returns freed memory at the top of its heap to the system, so every step
faulted its pages in again: on this project's 2-core VM one optimized-goal loss step spent
~10 of its ~26 ms on page faults (docs/benchmarks.md). Keeping freed memory for reuse
removes that cost; the price is a process whose resident size stays near its peak.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20
"""Blocks up to this size come from the heap (glibc's largest allowed value on 64-bit)."""
TRIM_THRESHOLD = 1 << 30
"""Freed memory at the top of the heap goes back to the system only beyond this size."""


@functools.cache
def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for reuse (see the module's docstring).

    Process-wide and idempotent; called by ``infomorph`` commands, ``training.train`` and
    the analysis. Returns whether the settings took effect (False where the C library is
    not glibc: other allocators keep their own policies)."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return (mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
            and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1)
