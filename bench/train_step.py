"""Time per training step: infomorphic presets against the backprop preset, same data and run.

Run:  .venv/bin/python bench/train_step.py [--hidden 100] [--batch 1024] [--json out.json]

MNIST-sized inputs (784 features, random z-scored values), 10 classes, hidden size N, batch
B. A step is forward, local losses (or cross-entropy), backward and the Adam updates of every
layer. The PID losses cost more the more bins their sources fill: at PyTorch's default
initialisation the hidden feedforward source spans 1-4 of the 20 bins, in a trained MNIST
layer all 20 (standard deviation ~17, docs/benchmarks.md). So every preset is timed twice: at
initialisation, and "trained-like", with the hidden layers' feedforward weights scaled to that
spread.

Each trivariate preset is also timed as the issue words the goal, "the training step of the
trivariate hidden layer": the network's forward pass (the readout's included, a slight
overcount), the hidden layer's local loss, its backward pass and its Adam update, without
the readout's loss and update (in an infomorphic network each layer learns on its own).

Every step is timed in turns (``_timing.interleaved_medians``: per round, each one settles
for 2 steps and is then timed over 5, one after the other; medians of the rounds), so that a
slow spell of the machine slows the baseline and the presets alike.

The baseline is the `backprop` preset: since session 8 the same network as the trivariate
presets (F, label context C, two lateral steps, the readout) trained end to end, as paper
(b)'s global backprop model. For reference the bench also times a plain 784-100-10 network of
sampled units (the `backprop` preset of sessions 1-7): two matmuls and a cross-entropy.
"""

from __future__ import annotations

import argparse
from functools import partial

import torch
from _timing import interleaved_medians, machine, run_script, write_json

from inspector.allocator import keep_freed_memory
from training.config import make_config
from training.models import one_hot
from training.trainer import _optimizers, build_model, train_step

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
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 784, generator=gen)
    y = torch.randint(0, 10, (args.batch,), generator=gen)
    steps = {}
    for name in PRESETS:
        config = make_config({"preset": name, "hidden": args.hidden, "data": "mnist"})
        for state in ("init", "trained"):
            model = build_model(config, 784, 10, torch.device("cpu"),
                                torch.Generator().manual_seed(0))
            optimizers = _optimizers(model, config)
            if state == "trained":
                with torch.no_grad():  # every preset here has one hidden layer, fed by x
                    f = model.layers()["hidden"].maps["F"]
                    f.weight.mul_(TRAINED_SPREAD / float((x @ f.weight.T).std()))
            steps[name, state] = partial(train_step, model, optimizers, x, y, gen)
            if name.startswith("trivariate"):
                steps[f"{name}, hidden layer", state] = partial(
                    _hidden_layer_step, model, optimizers[0], x, y, gen)
    steps["plain 784-100-10", "init"] = _plain_step(x, y, args.hidden, gen)
    # In turns, all of them: the ratios to backprop hold through the machine's slow spells.
    seconds = interleaved_medians(steps, rounds=args.rounds, per_round=5)
    print(f"# training step, N={args.hidden}, B={args.batch}, 784 inputs, 10 classes; "
          f"medians of {args.rounds} rounds, every step timed in turns")
    print(f"# {machine()}")
    rows = []
    print(f"{'preset':<36} {'at init':>8} {'':>16} {'trained-like':>12}")
    base, trained_base = seconds["backprop", "init"], seconds["backprop", "trained"]
    for name in dict.fromkeys(name for name, _ in steps):
        t = seconds[name, "init"]
        tt = seconds.get((name, "trained"), t)  # the plain network has no trained-like state
        print(f"{name:<36} {t * 1e3:6.1f} ms {t / base:6.1f}x backprop  {tt * 1e3:6.1f} ms "
              f"{tt / trained_base:6.1f}x backprop")
        rows.append({"preset": name, "ms": t * 1e3, "ratio_to_backprop": t / base,
                     "trained_like_ms": tt * 1e3, "trained_like_ratio": tt / trained_base})
    write_json(args.json, "train_step", rows)


def _hidden_layer_step(model, optimizer: torch.optim.Optimizer, x: torch.Tensor,
                       y: torch.Tensor, gen: torch.Generator) -> None:
    """The hidden layer's own training step: the forward pass, its local loss, its gradient
    and its Adam update (the readout's loss and update left out)."""
    optimizer.zero_grad(set_to_none=True)
    passes = model.run(x, one_hot(y, model.readout.neurons, x.dtype), gen)
    layer = model.layers()["hidden"]
    (-layer.goal_value(passes["hidden"].sources, passes["hidden"].theta, "sum")).backward()
    optimizer.step()


def _plain_step(x: torch.Tensor, y: torch.Tensor, hidden: int, gen: torch.Generator):
    """A step of the plain reference: sampled +-1 hidden units with the sigmoid surrogate
    (straight through E[y] = 2 sigma - 1), a linear readout, cross-entropy, one Adam."""
    net = torch.nn.ModuleList([torch.nn.Linear(x.shape[1], hidden), torch.nn.Linear(hidden, 10)])
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        theta = torch.sigmoid(net[0](x))
        sample = torch.where(torch.rand(theta.shape, generator=gen) < theta, 1.0, -1.0)
        loss = torch.nn.functional.cross_entropy(net[1](sample + 2 * (theta - theta.detach())), y)
        loss.backward()
        opt.step()

    return step


if __name__ == "__main__":
    run_script(main)
