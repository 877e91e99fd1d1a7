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
