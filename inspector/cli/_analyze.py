"""``infomorph analyze LOGDIR|RUN...``: decompose every run's neurons over training."""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from inspector.errors import InfomorphError


def register(sub) -> None:
    p = sub.add_parser(
        "analyze",
        help="PID of every neuron at every checkpoint -> analysis.nc",
        description="Analyse runs (a run directory, or every run below a "
        "LOGDIR) into LOGDIR/<run>/analysis.nc; up-to-date runs are skipped.",
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="LOGDIR|RUN")
    p.add_argument("--binning", default=None, help="fixed, maxnorm, quantile (default: as trained)")
    p.add_argument("--bins", type=int, default=None, help="bins per source (default: as trained)")
    p.add_argument("--target", default=None, help="soft (theta, default) or hard (sampled Y)")
    p.add_argument("--shuffles", type=int, default=None,
                   help="shuffle-null size K for p values (default 0: none)")
    p.add_argument("--shuffle-steps", default=None, metavar="all|last",
                   help="checkpoints with a shuffle null: all (default) or the last only "
                   "(K analyses of one checkpoint instead of the whole run)")
    p.epilog = ("A run analysed before keeps the settings of that analysis (its shuffle null "
                "included) except those given here; --shuffles 0 drops a null.")
    p.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on an existing dask.distributed cluster (e.g. tcp://host:8786)")
    p.add_argument("--force", action="store_true", help="recompute up-to-date analyses")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _one(run_dir: str, given: dict, force: bool, progress=None) -> tuple[str, bool]:
    """Analyse one run with its previous analysis' settings updated by ``given``."""
    from inspector.analysis import analyze_run, settings_for

    path, written = analyze_run(run_dir, settings_for(run_dir, **given), force, progress)
    return str(path), written


def run(args) -> int:
    from tqdm import tqdm

    from inspector.analysis import AnalysisSettings
    from inspector.significance import too_few_shuffles
    from storage import find_runs

    if args.workers is not None and args.workers < 1:
        raise InfomorphError(f"--workers must be >= 1, got {args.workers}")
    given = {k: v for k, v in (("binning", args.binning), ("bins", args.bins),
                               ("target", args.target), ("shuffles", args.shuffles),
                               ("shuffle_steps", args.shuffle_steps)) if v is not None}
    AnalysisSettings(**given)  # bad values: one line before any run is touched
    note = too_few_shuffles(given.get("shuffles", 0))
    if note:
        print(f"note: {note}", file=sys.stderr)
    runs: list[Path] = []
    for path in args.paths:
        runs.extend(find_runs(path))
    if not runs:
        raise InfomorphError(f"no runs below {', '.join(map(str, args.paths))}")
    workers = max(1, min(args.workers or os.cpu_count() or 1, len(runs)))
    failed = 0
    bar = tqdm(total=len(runs), unit="run", disable=True if args.quiet else None, desc="analyze")

    def report(run_dir: Path, outcome) -> None:
        nonlocal failed
        if isinstance(outcome, InfomorphError):
            failed += 1
            tqdm.write(f"{run_dir}: error: {outcome}", file=sys.stderr)
        else:
            path, written = outcome
            tqdm.write(f"{run_dir}: {'analysed' if written else 'up to date'} -> {path}")
        bar.update(1)

    if args.scheduler:
        _on_cluster(args.scheduler, runs, given, args.force, report)
    elif workers == 1:
        for run_dir in runs:
            # checkpoints of the run at hand: a shuffle null of a large run takes minutes
            steps = tqdm(total=0, unit="checkpoint", desc=run_dir.name, leave=False,
                         position=1, disable=bar.disable)

            def progress(done: int, total: int, steps=steps) -> None:
                steps.total = total
                steps.update(done - steps.n)

            try:
                report(run_dir, _one(str(run_dir), given, args.force, progress))
            except InfomorphError as err:
                report(run_dir, err)
            finally:
                steps.close()
    else:
        # spawn, not fork: a forked child inherits torch's OpenMP pool mid-state and can hang
        threads = max(1, (os.cpu_count() or 1) // workers)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                 initargs=(threads,)) as pool:
            futures = {pool.submit(_one, str(r), given, args.force): r for r in runs}
            for future in as_completed(futures):
                try:
                    report(futures[future], future.result())
                except InfomorphError as err:
                    report(futures[future], err)
    bar.close()
    if failed:
        print(f"infomorph: error: {failed} of {len(runs)} runs failed", file=sys.stderr)
        return 2
    return 0


def _on_cluster(address: str, runs, given: dict, force: bool, report) -> None:
    """One task per run on a dask.distributed scheduler; the cluster runs them in parallel,
    results are reported in submission order."""
    from distributed import Client

    try:
        client = Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        raise InfomorphError(f"cannot reach the dask scheduler at {address}: {err}") from None
    with client:
        futures = {client.submit(_one, str(r), given, force, pure=False): r for r in runs}
        for future, run_dir in futures.items():
            try:
                report(run_dir, future.result())
            except InfomorphError as err:
                report(run_dir, err)
