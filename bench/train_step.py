"""Time per training step: infomorphic presets against the backprop preset, same data and run.

Run:  .venv/bin/python bench/train_step.py [--hidden 100] [--batch 1024] [--json out.json]

MNIST-sized inputs (784 features, random z-scored values), 10 classes, hidden size N, batch
B. A step is forward, local losses (or cross-entropy), backward and the Adam updates of every
layer. The PID losses cost more the more bins their sources fill: at PyTorch's default
initialisation the hidden feedforward source spans 1-4 of the 20 bins, in a trained MNIST
layer all 20 (standard deviation ~17, docs/benchmarks.md). So every preset is timed twice: at
initialisation, and "trained-like", with the hidden layers' feedforward weights scaled to that
spread (backprop's step does not depend on it).
"""

from __future__ import annotations

import argparse

import torch
from _timing import machine, median_seconds, write_json

from inspector.allocator import keep_freed_memory
from training.config import make_config
from training.models import BackpropNetwork
from training.trainer import _one_hot, _optimizers, build_model

PRESETS = ("backprop", "trivariate-heuristic", "trivariate-sparse", "trivariate-optimized",
           "bivariate-context")
TRAINED_SPREAD = 17.0
"""Standard deviation of the feedforward source of a trained MNIST hidden layer
(trivariate-optimized, 100 epochs, seed 0, on its 2048 probe samples)."""


def main() -> None:
    keep_freed_memory()  # as every infomorph command (inspector.allocator)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 784, generator=gen)
    y = torch.randint(0, 10, (args.batch,), generator=gen)
    times, trained = {}, {}
    for name in PRESETS:
        config = make_config({"preset": name, "hidden": args.hidden, "data": "mnist"})
        model = build_model(config, 784, 10, torch.device("cpu"), torch.Generator())
        optimizers = _optimizers(model, config)

        def step(model=model, optimizers=optimizers):
            for opt in optimizers:
                opt.zero_grad()
            if isinstance(model, BackpropNetwork):
                loss = torch.nn.functional.cross_entropy(model.logits(x, gen)[0], y)
            else:
                passes = model.run(x, _one_hot(y, 10), gen)
                loss = sum(-layer.goal_value(passes[n].sources, passes[n].theta, "sum")
                           for n, layer in model.layers().items() if layer.goal is not None)
            loss.backward()
            for opt in optimizers:
                opt.step()

        times[name] = median_seconds(step, repeats=7)
        if not isinstance(model, BackpropNetwork):
            with torch.no_grad():  # every preset here has one hidden layer, fed by x
                f = model.layers()["hidden"].maps["F"]
                f.weight.mul_(TRAINED_SPREAD / float((x @ f.weight.T).std()))
            trained[name] = median_seconds(step, repeats=7)
        else:
            trained[name] = times[name]
    print(f"# training step, N={args.hidden}, B={args.batch}, 784 inputs, 10 classes")
    print(f"# {machine()}")
    base = times["backprop"]
    rows = []
    print(f"{'preset':<22} {'at init':>8} {'':>16} {'trained-like':>12}")
    for name, t in times.items():
        tt = trained[name]
        print(f"{name:<22} {t * 1e3:6.1f} ms {t / base:6.1f}x backprop  {tt * 1e3:6.1f} ms "
              f"{tt / base:6.1f}x backprop")
        rows.append({"preset": name, "ms": t * 1e3, "ratio_to_backprop": t / base,
                     "trained_like_ms": tt * 1e3, "trained_like_ratio": tt / base})
    write_json(args.json, "train_step", rows)


if __name__ == "__main__":
    main()
