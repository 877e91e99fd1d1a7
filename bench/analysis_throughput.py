"""Neuron-checkpoint decompositions per second of ``infomorph analyze``.

Run:  .venv/bin/python bench/analysis_throughput.py [--neurons 200] [--checkpoints 10]
      .venv/bin/python bench/analysis_throughput.py --full   # the 10^5 case itself (3.3 GB)

Writes two synthetic runs of one trivariate layer (F, C, L with layer-like statistics: F and
L continuous, C one of 10 label embeddings, theta from the trivariate activation) with 2048
probe samples, 20 bins per source on [-20, 20], then analyses them with one process and with
two worker processes (shuffles off). The baseline, in the same run, is the dense-table
estimator on the same data (``decompose_samples(..., estimator="dense")``); the answers are
compared before timing.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from _timing import machine, median_seconds, write_json

from inspector.allocator import keep_freed_memory
from inspector.cli import main as cli
from inspector.pid import Binning, decompose_samples
from storage import LayerRecord, LayerSpec, ProbeSpec, RunSpec, RunWriter, SourceSpec


def make_run(run_dir: Path, neurons: int, checkpoints: int, samples: int, seed: int):
    rng = np.random.default_rng(seed)
    layer = LayerSpec("hidden", neurons,
                      (SourceSpec("F", 784), SourceSpec("C", 10), SourceSpec("L", neurons)),
                      binning={"method": "fixed", "bins": 20, "value_range": [-20, 20]},
                      goal={"{F}{C}": 1.0})
    spec = RunSpec({"preset": "bench", "hidden": neurons, "seed": seed}, (layer,),
                   ProbeSpec("synthetic", list(range(samples))), ("loss",))
    labels = rng.integers(0, 10, samples)
    with RunWriter.create(run_dir, spec) as w:
        for i in range(checkpoints):
            f = rng.normal(0, 2 + i, (samples, neurons)).astype(np.float32)
            c = rng.normal(0, 5, (10, neurons)).astype(np.float32)[labels]
            lat = rng.normal(0, 3, (samples, neurons)).astype(np.float32)
            theta = 1 / (1 + np.exp(-f * (0.8 + 0.1 / (1 + np.exp(-2 * f * c)))))
            w.append(i, layers={"hidden": LayerRecord(
                {"F": f, "C": c, "L": lat}, theta.astype(np.float32),
                np.where(rng.random(theta.shape) < theta, 1, -1).astype(np.int8))})
        w.finish()
    return f, c, lat, theta


def main() -> None:
    keep_freed_memory()  # as every infomorph command (inspector.allocator)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=200)
    parser.add_argument("--checkpoints", type=int, default=10)
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp())
    try:
        f, c, lat, theta = None, None, None, None
        for seed in (0, 1):
            f, c, lat, theta = make_run(root / f"run{seed}", args.neurons, args.checkpoints,
                                        args.samples, seed)
        per_run = args.neurons * args.checkpoints
        sources = np.stack([f.T, c.T, lat.T], -1)[:20]
        binning = Binning("fixed", 20, (-20.0, 20.0))
        sparse = decompose_samples(sources, theta.T[:20], binning=binning)
        dense = decompose_samples(sources, theta.T[:20], binning=binning, estimator="dense")
        assert np.allclose(sparse.values, dense.values, atol=1e-9)
        t_dense = median_seconds(lambda: decompose_samples(
            sources, theta.T[:20], binning=binning, estimator="dense"), repeats=3) / 20

        start = time.perf_counter()
        assert cli(["analyze", str(root / "run0"), "--quiet", "--workers", "1"]) == 0
        t_one = time.perf_counter() - start
        start = time.perf_counter()
        assert cli(["analyze", str(root), "--quiet", "--workers", "2", "--force"]) == 0
        t_two = time.perf_counter() - start
    finally:
        shutil.rmtree(root)
    rate_one, rate_two = per_run / t_one, 2 * per_run / t_two
    print(f"# analyze: trivariate layer, {args.neurons} neurons x {args.checkpoints} "
          f"checkpoints per run, {args.samples} probe samples, 20 bins/source")
    print(f"# {machine()}")
    print(f"one process   {rate_one:8.0f} decompositions/s "
          f"(dense-table estimator: {1 / t_dense:.0f}/s -> {rate_one * t_dense:.1f}x)")
    print(f"two workers   {rate_two:8.0f} decompositions/s ({rate_two / rate_one:.2f}x one)")
    print(f"10^5 decompositions (1000 neurons x 100 checkpoints): {1e5 / rate_one:.0f} s one "
          f"process, {1e5 / rate_two:.0f} s two workers (goal: under 60 s)")
    write_json(args.json, "analysis_throughput", [{"one_per_s": rate_one, "two_per_s": rate_two,
                                                   "dense_per_s": 1 / t_dense}])


def full(samples: int = 2048) -> None:
    """The issue's case itself: one run of 1000 neurons x 100 checkpoints (3.3 GB on disk),
    analysed in one process with one checkpoint thread (baseline) and with the default."""
    import inspector.analysis as analysis

    root = Path(tempfile.mkdtemp())
    try:
        make_run(root / "big", 1000, 100, samples, 0)
        default, seconds = analysis.CHECKPOINT_THREADS, {}
        for threads in (1, default):
            analysis.CHECKPOINT_THREADS = threads
            start = time.perf_counter()
            analysis.analyze_run(root / "big", force=True)
            seconds[threads] = time.perf_counter() - start
        analysis.CHECKPOINT_THREADS = default
    finally:
        shutil.rmtree(root)
    print(f"# analyze: one run of 1000 trivariate neurons x 100 checkpoints, {samples} samples")
    print(f"# {machine()}")
    print(f"one checkpoint at a time   {seconds[1]:6.1f} s for 10^5 decompositions")
    print(f"{default} checkpoint threads     {seconds[default]:6.1f} s "
          f"({seconds[1] / seconds[default]:.2f}x faster; goal: under 60 s)")


if __name__ == "__main__":
    import sys

    if "--full" in sys.argv:
        full()
    else:
        main()
