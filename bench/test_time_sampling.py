"""How much of a run's test accuracy is the noise of its one stochastic test pass.

Run:  .venv/bin/python bench/test_time_sampling.py RUN_DIR [RUN_DIR ...] [--passes 10]

For each trained classification run, loads the last checkpoint's weights and scores the
test set as the trainer does (one pass with sampled binary hidden outputs, label context
zeroed, the sign correction of SCIENCE.md section 5) under two more sampling seeds, and with
the readout's theta averaged over ``--passes`` passes (what ``--set eval_passes=K`` does
during training). The recorded accuracy is the trainer's own (its generator's stream).
Prints one markdown row per run.

With ``--probe``, a last column scores the hidden representation itself: a logistic
regression (scikit-learn) fitted on the first hidden layer's theta of the training split
(label context zeroed, as at test time) and scored on the test split. It tells a weaker
representation apart from a weaker infomorphic readout.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import torch
from _timing import run_script

from inspector.allocator import keep_freed_memory
from storage import open_run
from training.config import TrainConfig, make_config
from training.trainer import EVAL_BATCH, Trainer, accuracy


def main() -> None:
    keep_freed_memory()  # as every infomorph command (inspector.allocator)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--passes", type=int, default=10)
    parser.add_argument("--probe", action="store_true",
                        help="also fit a linear probe on the hidden layer's theta")
    args = parser.parse_args()
    keys = {f.name for f in dataclasses.fields(TrainConfig)}
    probe = " linear probe on hidden theta |" if args.probe else ""
    print(f"| run | recorded | 1 pass, seeds 1 and 2 | mean of {args.passes} passes |{probe}")
    print("|---|---|---|---|" + ("---|" if args.probe else ""))
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
        row = (f"| {run_dir.name} | {100 * recorded:.2f} | "
               f"{', '.join(f'{100 * a:.2f}' for a in again)} | {100 * mean:.2f} |")
        if args.probe:
            probe = _linear_probe(trainer)
            row += " no hidden layer |" if probe is None else f" {100 * probe:.2f} |"
        print(row, flush=True)


def _linear_probe(trainer: Trainer) -> float | None:
    """Test accuracy of a logistic regression on the first hidden layer's theta (label
    context zeroed), fitted on the training split; None for a network without hidden
    layers."""
    from sklearn.linear_model import LogisticRegression

    model = trainer.model
    if not len(model.hidden):
        return None
    layer = next(iter(model.layers()))  # the first hidden layer

    def features(x: torch.Tensor) -> np.ndarray:
        generator, out = torch.Generator().manual_seed(0), []
        with torch.no_grad():
            for i in range(0, len(x), EVAL_BATCH):
                batch = x[i:i + EVAL_BATCH]
                context = torch.zeros(len(batch), model.readout.neurons, dtype=batch.dtype)
                out.append(model.run(batch, context, generator)[layer].theta)
        return torch.cat(out).numpy()

    fit = LogisticRegression(max_iter=300).fit(features(trainer.train_x),
                                               trainer.train_y.numpy())
    return float((fit.predict(features(trainer.test_x)) == trainer.test_y.numpy()).mean())


if __name__ == "__main__":
    run_script(main)
