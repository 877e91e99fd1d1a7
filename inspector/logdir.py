"""What a LOGDIR holds, as the inspector app sees it: one ``RunEntry`` per run, and the only
way from a run name (a query parameter, a widget) to a path.

Run names are the run directories' paths relative to the LOGDIR. ``resolve`` accepts nothing but
the names ``scan`` found, so a name like ``../../etc`` never reaches the file system, and runs
whose files resolve outside the LOGDIR (symlinks) are not listed at all.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from inspector.errors import InfomorphError
from inspector.pid import format_goal
from storage import ANALYSIS_FILE, RUN_FILE, Run, analysis_attrs, find_runs, open_run

ANALYSIS_STATES = ("up to date", "stale", "missing", "unreadable")
READABLE_ANALYSIS = ("up to date", "stale")
"""States in which a run's analysis can be shown (stale: the run has changed since)."""


@dataclass(frozen=True)
class RunEntry:
    """One run below a LOGDIR; ``error`` is set (one line) when run.h5 cannot be read."""

    name: str
    path: Path
    preset: str | None = None
    dataset: str | None = None
    hidden: int | None = None
    seed: int | None = None
    goal: str | None = None
    status: str | None = None
    checkpoints: int = 0
    last_step: int | None = None
    test_accuracy: float | None = None
    recall: float | None = None  # memory runs: share of patterns recalled from noisy cues
    recall_cosine: float | None = None  # memory runs: mean cosine of pattern and fixed point
    analysis: str = "missing"
    null: str | None = None  # the analysis' shuffle null: "100", "100 (last step)" or None
    error: str | None = None


def file_stamp(path: Path) -> tuple[int, int]:
    """(mtime in ns, size) of a file, or (0, 0) when it does not exist: a cache key."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return (0, 0)
    return (st.st_mtime_ns, st.st_size)


def run_dirs(logdir: str | os.PathLike) -> dict[str, Path]:
    """Run name -> directory for every run at or below ``logdir`` whose run.h5 lies inside it."""
    root = Path(logdir)
    if not root.is_dir():
        raise InfomorphError(f"LOGDIR {root} does not exist or is not a directory")
    real = root.resolve()
    found = {}
    for run in find_runs(root):
        if not (run / RUN_FILE).resolve().is_relative_to(real):
            continue
        name = run.relative_to(root).as_posix()
        found[run.name if name == "." else name] = run
    return found


def resolve(logdir: str | os.PathLike, name: str, runs: dict[str, Path] | None = None) -> Path:
    """The directory of the run called ``name`` in ``logdir``; only names that ``run_dirs``
    lists (or ``runs``, its result computed before) are accepted."""
    runs = run_dirs(logdir) if runs is None else runs
    if name not in runs:
        raise InfomorphError(f"no run named {name!r} in {logdir}")
    return runs[name]


def analysis_state(run: Run) -> str:
    """The run's analysis.nc: "up to date", "stale" (the run changed since), "missing" or
    "unreadable"."""
    return _analysis(run)[0]


def _analysis(run: Run) -> tuple[str, dict]:
    """``analysis_state`` and the analysis' root attributes (empty where there are none)."""
    if not (run.dir / ANALYSIS_FILE).exists():
        return "missing", {}
    try:
        attrs = analysis_attrs(run.dir)
    except InfomorphError:
        return "unreadable", {}
    return ("up to date" if run.matches(attrs.get("run_fingerprint")) else "stale"), attrs


def recorded_settings(attrs: dict) -> dict | None:
    """The analysis settings an analysis file's root attributes record (``AnalysisSettings``
    as a dict; None where unreadable), without importing the analysis (and torch)."""
    try:
        settings = json.loads(attrs.get("settings") or "{}")
    except ValueError:
        return None
    return settings if isinstance(settings, dict) else None


def _null(attrs: dict) -> str | None:
    """The shuffle null an analysis ran: "K", "K (last step)", or None."""
    settings = recorded_settings(attrs) or {}
    shuffles = int(settings.get("shuffles", 0) or 0)
    if not shuffles:
        return None
    return f"{shuffles}" + ("" if settings.get("shuffle_steps", "all") == "all"
                            else " (last step)")


def describe(name: str, run_dir: Path) -> RunEntry:
    """Read one run's summary; a damaged run gives an entry with ``error`` set, not an error."""
    try:
        run = open_run(run_dir)
        summary = run.summary()
        config = run.config
        goals = [layer.goal for layer in run.layers if layer.goal]
        last = summary["last_metrics"]
        state, attrs = _analysis(run)
        return RunEntry(
            name=name,
            path=run_dir,
            preset=summary["preset"],
            dataset=summary["dataset"],
            hidden=config.get("hidden"),
            seed=config.get("seed"),
            goal=format_goal(goals[0]) if goals else None,
            status=summary["status"],
            checkpoints=summary["checkpoints"],
            last_step=summary["last_step"],
            test_accuracy=last.get("test_accuracy", last.get("accuracy")),
            recall=last.get("recall"),
            recall_cosine=last.get("recall_cosine"),
            analysis=state,
            null=_null(attrs),
        )
    except InfomorphError as err:
        return RunEntry(name=name, path=run_dir, error=str(err), analysis="missing")
    except (OSError, KeyError, ValueError) as err:
        return RunEntry(name=name, path=run_dir, error=f"{run_dir}: unreadable run ({err})")


def scan(logdir: str | os.PathLike) -> list[RunEntry]:
    """Every run below ``logdir``, sorted by name."""
    return [describe(name, path) for name, path in sorted(run_dirs(logdir).items())]


def runs_frame(entries: list[RunEntry]) -> pd.DataFrame:
    """The runs table of the app: one row per run, the columns a user filters on."""
    columns = ["run", "preset", "dataset", "hidden", "seed", "status", "checkpoints",
               "last_step", "test_accuracy", "recall", "recall_cosine", "analysis", "null",
               "goal", "error"]
    rows = [{"run": e.name, **{c: getattr(e, c) for c in columns[1:]}} for e in entries]
    return pd.DataFrame(rows, columns=columns)
