"""How much of a run's test accuracy is the noise of its one stochastic test pass.

Run:  .venv/bin/python bench/test_time_sampling.py RUN_DIR [RUN_DIR ...] [--passes 10]

For each trained run (infomorphic presets), loads the last checkpoint's weights and scores the
test set as the trainer does (one pass with sampled binary hidden outputs, label context
zeroed, the sign correction of SCIENCE.md section 5) under two more sampling seeds, and with
the readout's theta averaged over ``--passes`` passes. The recorded accuracy is the
trainer's own (its generator's stream). Prints one markdown row per run.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch

from storage import open_run
from training.config import TrainConfig, make_config
from training.trainer import EVAL_BATCH, Trainer


def accuracy(trainer: Trainer, passes: int, seed: int) -> float:
    """Test accuracy with the readout's theta averaged over ``passes`` stochastic passes."""
    model, generator = trainer.model, torch.Generator().manual_seed(seed)
    x, y = trainer.test_x, trainer.test_y
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), EVAL_BATCH):
            batch = x[i : i + EVAL_BATCH]
            context = torch.zeros(len(batch), model.readout.neurons, dtype=batch.dtype,
                                  device=batch.device)
            theta = sum(model.run(batch, context, generator)["readout"].theta
                        for _ in range(passes)) / passes
            flip = theta.mean(0) >= 0.5
            pred = torch.where(flip, 1 - theta, theta).argmax(1)
            correct += int((pred == y[i : i + EVAL_BATCH]).sum())
    return correct / len(x)


def main() -> None:
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
        again = [accuracy(trainer, 1, seed) for seed in (1, 2)]
        mean = accuracy(trainer, args.passes, 123)
        print(f"| {run_dir.name} | {100 * recorded:.2f} | "
              f"{', '.join(f'{100 * a:.2f}' for a in again)} | {100 * mean:.2f} |", flush=True)


if __name__ == "__main__":
    main()
