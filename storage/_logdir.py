"""Finding runs below a LOGDIR (like TensorBoard's logdir: each run is a directory)."""

from __future__ import annotations

import os
from pathlib import Path

from inspector.errors import InfomorphError
from storage._schema import RUN_FILE


def find_runs(logdir: str | os.PathLike) -> list[Path]:
    """Run directories (holding run.h5) at or below ``logdir``, sorted; symlinks not followed."""
    root = Path(logdir)
    if not root.exists():
        raise InfomorphError(f"no such directory: {root}")
    if root.is_file():
        if root.name == RUN_FILE:
            return [root.parent]
        raise InfomorphError(f"{root} is a file, not a LOGDIR or run directory")
    runs = []
    for here, dirs, files in os.walk(root, onerror=None, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if RUN_FILE in files:
            runs.append(Path(here))
    return sorted(runs)
