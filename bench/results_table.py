"""Test accuracy of presets over seeds, as a markdown table for docs/results.md.

Run:  .venv/bin/python bench/results_table.py --data digits --seeds 0 1 2 \
          [--presets ...] [--set epochs=100] [--logdir runs/results] [--tag NAME]

Trains every (preset, seed) with ``infomorph train`` semantics, keeps the runs under
``--logdir`` and prints the median, min and max test accuracy of the last checkpoint.
"""

from __future__ import annotations

import argparse
import statistics
import time

from _timing import run_script

from inspector.allocator import keep_freed_memory
from storage import open_run
from training.config import make_config, parse_sets
from training.presets import PRESETS
from training.trainer import train


def main() -> None:
    keep_freed_memory()  # as every infomorph command (inspector.allocator)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--logdir", default="runs/results")
    parser.add_argument("--tag", default="",
                        help="appended to the run names (e.g. for runs of another --set goal)")
    args = parser.parse_args()
    overrides = parse_sets(args.set)
    print("| preset | test accuracy % (median) | min-max | seeds | minutes per run |")
    print("|---|---|---|---|---|")
    for name in args.presets:
        accuracies, minutes = [], []
        for seed in args.seeds:
            config = make_config({**overrides, "preset": name, "data": args.data, "seed": seed})
            start = time.perf_counter()
            run_name = f"{args.data}-{name}-h{config.hidden}-e{config.epochs}-s{seed}"
            run_name += f"-{args.tag}" if args.tag else ""
            run = open_run(train(config, args.logdir, run_name, progress=False))
            minutes.append((time.perf_counter() - start) / 60)
            accuracies.append(100 * float(run.metrics()["test_accuracy"].iloc[-1]))
        print(f"| {name} | {statistics.median(accuracies):.1f} | {min(accuracies):.1f}-"
              f"{max(accuracies):.1f} | {len(accuracies)} | {statistics.median(minutes):.2f} |",
              flush=True)


if __name__ == "__main__":
    run_script(main)
