"""Forward + backward of a trivariate layer's PID loss: sparse estimator vs the dense table.

Run:  .venv/bin/python bench/pid_loss_step.py [--neurons 100] [--batch 1024] [--json out.json]

The setting of paper (b): N neurons, a batch of B samples, 20 bins per source on [-20, 20],
soft target theta = sigma(logit). The baseline, measured in the same run, is the dense path
the published code takes (the full bins^3 x 2 table per neuron, then the decomposition).
Both must give the same loss (to float32 rounding, 2e-4 bits per neuron); the script checks
it before timing. Sources are either
"uniform" (every bin equally likely: the worst case for the sparse path) or "layer"
(feedforward ~ N(0, 5^2), context = one of 10 label embeddings, lateral ~ N(0, 3^2): what a
trivariate layer on a 10-class task sees).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _timing import machine, median_seconds, run_script, write_json

from inspector.allocator import keep_freed_memory
from inspector.pid import (
    Binning,
    goal_from_samples,
    lattice,
    pid_from_pmf,
    pmf_from_samples,
)

NAMES = ["F", "C", "L"]
OPTIMIZED = [0.33073, 0.97808, -0.99350, 0.40173, 0.24278, 0.62554, 0.47128, 0.02121, 0.06054,
             -0.94698, -0.01985, -0.96766, -0.69245, 0.42701, 0.97364, 0.73696, -0.12183,
             -0.21512]
GOALS = {
    "optimized (18 atoms + H_res)": (OPTIMIZED, 0.035),
    "sparse 4-term": ({"{F}{C}": 1, "{F}{L}": -1, "{FC}{FL}": -1, "{F}{C}{L}": 0.33}, 0.0),
    "heuristic {F}{C}": ({"{F}{C}": 1}, 0.0),
}


def gamma_vector(spec) -> torch.Tensor:
    lat = lattice(3)
    if isinstance(spec, dict):
        gamma = np.zeros(len(lat))
        for label, value in spec.items():
            gamma[lat.index(label, NAMES)] = value
        return torch.tensor(gamma)
    return torch.tensor(spec, dtype=torch.float64)


def sources(kind: str, neurons: int, batch: int, gen: torch.Generator) -> torch.Tensor:
    if kind == "uniform":
        return torch.rand(neurons, batch, 3, generator=gen) * 40 - 20
    f = torch.randn(neurons, batch, generator=gen) * 5
    labels = torch.randint(0, 10, (batch,), generator=gen)
    c = (torch.randn(neurons, 10, generator=gen) * 5)[:, labels]
    lateral = torch.randn(neurons, batch, generator=gen) * 3
    return torch.stack([f, c, lateral], -1)


def _steps(codes, logit, bins, gamma, residual):
    """(sparse, dense): one forward + backward of the goal's loss each; both return the loss."""

    def sparse():
        theta = torch.sigmoid(logit)
        q = torch.stack([1 - theta, theta], -1)
        loss = -goal_from_samples(codes, q, bins, gamma, residual, reduction="sum")
        loss.backward()
        return loss.detach()

    def dense():
        theta = torch.sigmoid(logit)
        q = torch.stack([1 - theta, theta], -1)
        terms = pid_from_pmf(pmf_from_samples(codes, q, bins), 3)
        loss = -(terms.atoms @ gamma + residual * terms.residual_entropy).sum()
        loss.backward()
        return loss.detach()

    return sparse, dense


def main() -> None:
    keep_freed_memory()  # as every infomorph command (inspector.allocator)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=100)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    dtype = getattr(torch, args.dtype)
    bins = [20, 20, 20]
    print(f"# PID loss step: N={args.neurons}, B={args.batch}, 20 bins/source, {args.dtype}")
    print(f"# {machine()}")
    print(f"{'sources':<8} {'goal':<29} {'sparse ms':>10} {'dense ms':>10} {'dense/sparse':>13}")
    cases = []
    for kind in ("layer", "uniform"):
        gen = torch.Generator().manual_seed(0)
        codes = Binning("fixed", 20, (-20, 20)).codes(sources(kind, args.neurons, args.batch, gen))
        logit = torch.randn(args.neurons, args.batch, generator=gen, dtype=dtype)
        logit.requires_grad_(True)
        for goal_name, (spec, residual) in GOALS.items():
            gamma = gamma_vector(spec).to(dtype)
            cases.append((kind, goal_name, *_steps(codes, logit, bins, gamma, residual)))
    # Every sparse (training) step is timed before any dense one: the dense path splits its
    # batch over worker threads, and their OpenMP teams slow later work of the process
    # (pid_from_samples(threads=...)); training never starts them.
    t_sparse = [median_seconds(sparse, args.repeats) for *_, sparse, _ in cases]
    rows = []
    for (kind, goal_name, sparse, dense), ts in zip(cases, t_sparse, strict=True):
        a, b = sparse(), dense()
        # float32 sums of ~10-bit logs over 1024 samples and 18 antichains round to
        # ~1e-4 bits per neuron, differently on each path (float64 agrees to 1e-9: tests)
        assert abs(float(a - b)) <= 2e-4 * args.neurons, (float(a), float(b))
        td = median_seconds(dense, max(3, args.repeats // 2), warmup=1)
        print(f"{kind:<8} {goal_name:<29} {ts * 1e3:>10.1f} {td * 1e3:>10.1f} {td / ts:>12.1f}x")
        rows.append({"sources": kind, "goal": goal_name, "sparse_ms": ts * 1e3,
                     "dense_ms": td * 1e3, "ratio": td / ts})
    write_json(args.json, "pid_loss_step", rows)


if __name__ == "__main__":
    run_script(main)
