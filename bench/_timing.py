"""Shared helpers of the bench scripts: robust timing and a machine description."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import torch

from inspector.allocator import keep_freed_memory


def median_seconds(fn: Callable[[], object], repeats: int = 7, warmup: int = 2) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_medians(fns: dict, rounds: int = 9, per_round: int = 3,
                        settle: int = 2) -> dict:
    """Median wall time of each ``fns[key]()``, measured in turns: every round calls each
    function ``settle`` times untimed (its caches and the allocator's free blocks return to
    its own steady state, as in a loop of its own), then times ``per_round`` calls in a row,
    one function after the other. A slow spell of the machine (they last seconds to minutes
    here) then slows every function alike and their ratios hold. Returns seconds per call,
    the median over the rounds."""
    times: dict = {key: [] for key in fns}
    for _ in range(rounds):
        for key, fn in fns.items():
            for _ in range(settle):
                fn()
            start = time.perf_counter()
            for _ in range(per_round):
                fn()
            times[key].append((time.perf_counter() - start) / per_round)
    return {key: statistics.median(t) for key, t in times.items()}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    # every bench main() starts with keep_freed_memory(), as every infomorph command does
    malloc = "freed memory kept" if keep_freed_memory() else "default malloc"
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), {platform.python_version()}, {malloc}")


def write_json(path: str | None, name: str, rows: list[dict]) -> None:
    if path:
        Path(path).write_text(json.dumps(
            {"bench": name, "date": date.today().isoformat(), "machine": machine(),
             "rows": rows}, indent=2))


def run_script(main: Callable[[], object]) -> None:
    """Run a bench script's ``main`` with the CLI's error contract: a bad run directory,
    data directory or setting is one line on stderr and exit code 2, not a traceback."""
    import sys

    from inspector.errors import InfomorphError

    try:
        main()
    except InfomorphError as err:
        sys.exit(f"bench: error: {err}")
    except OSError as err:
        where = f": {err.filename}" if getattr(err, "filename", None) else ""
        sys.exit(f"bench: error: {err.strerror or err}{where}")
