"""How much of a run's test accuracy is the noise of its one stochastic test pass.

Run:  .venv/bin/python bench/test_time_sampling.py RUN_DIR [RUN_DIR ...] [--passes 10]

For each trained classification run, loads the last checkpoint's weights and scores the
test set as the trainer does (one pass with sampled binary hidden outputs, label context
zeroed, the sign correction of SCIENCE.md section 5) under two more sampling seeds, and with
the readout's theta averaged over ``--passes`` passes (what ``--set eval_passes=K`` does
during training). The recorded accuracy is the trainer's own (its generator's stream).
Prints one markdown row per run.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch

from inspector.allocator import keep_freed_memory
from storage import open_run
from training.config import TrainConfig, make_config
from training.trainer import Trainer, accuracy


def main() -> None:
    keep_freed_memory()  # as every infomorph command (inspector.allocator)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--passes", type=int, default=10)
    args = parser.parse_args()
    keys = {f.name for f in dataclasses.fields(TrainConfig)}
    print(f"| run | recorded | 1 pass, seeds 1 and 2 | mean of {args.passes} passes |")
    print("|---|---|---|---|")
    for run_dir in args.runs:
        run = open_run(run_dir)
        config = make_config({k: v for k, v in run.config.items() if k in keys})
        trainer = Trainer(config, run_dir, progress=False)
        trainer.load_weights(run_dir)
        recorded = float(run.metrics()["test_accuracy"].dropna().iloc[-1])

        def score(passes: int, seed: int) -> float:
            return accuracy(trainer.model, trainer.test_x, trainer.test_y,
                            torch.Generator().manual_seed(seed), passes)

        again = [score(1, seed) for seed in (1, 2)]
        mean = score(args.passes, 123)
        print(f"| {run_dir.name} | {100 * recorded:.2f} | "
              f"{', '.join(f'{100 * a:.2f}' for a in again)} | {100 * mean:.2f} |", flush=True)


if __name__ == "__main__":
    main()
