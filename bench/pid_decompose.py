"""Amortised time per decomposition for batches of bivariate and trivariate tables.

Run:  .venv/bin/python bench/pid_decompose.py [--batch 1000] [--json out.json]

Cases: batches of 20x20x2 (bivariate) and 20x20x20x2 (trivariate) joint tables, either
estimated from 2048 samples each (what analysis sees: most cells empty) or dense random
(every cell occupied: the worst case). Measured: our engine on the whole batch in one call
(float64, the analysis setting) against the same engine called one table at a time in the same
run, and, where it finishes in reasonable time, dit's PID_SX (an independent reference
implementation) on one small table. Results are checked: batched == one-at-a-time to 1e-9.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import torch
from _timing import machine, median_seconds, run_script, write_json

from inspector.allocator import keep_freed_memory
from inspector.pid import pid_from_pmf, pid_from_samples, pmf_from_samples


def sample_tables(rows: int, n: int, gen: torch.Generator):
    codes = torch.randint(0, 20, (rows, 2048, n), generator=gen)
    codes[..., 0] = (codes[..., 0] // 2 + codes[..., -1] // 2)  # some structure, some overlap
    theta = torch.rand(rows, 2048, generator=gen, dtype=torch.float64)
    return codes, torch.stack([1 - theta, theta], -1)


def dit_seconds(shape) -> float | None:
    try:
        import dit
        from dit.pid import PID_SX
    except ImportError:
        return None
    rng = np.random.default_rng(0)
    p = rng.random(shape)
    p /= p.sum()
    outcomes = [tuple(i) for i in itertools.product(*[range(k) for k in shape])]
    dist = dit.Distribution(outcomes, p.ravel().tolist())
    start = time.perf_counter()
    PID_SX(dist, [[i] for i in range(len(shape) - 1)], [len(shape) - 1])
    return time.perf_counter() - start


def main() -> None:
    keep_freed_memory()  # as every infomorph command (inspector.allocator)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    print(f"# amortised time per decomposition, batch of {args.batch}, float64")
    print(f"# {machine()}")
    print(f"{'table':<12} {'occupancy':<14} {'batched us':>11} {'one-by-one us':>14} {'ratio':>7}")
    rows = []
    gen = torch.Generator().manual_seed(0)
    for n in (2, 3):
        shape = (20,) * n + (2,)
        label = "x".join(map(str, shape))
        codes, q = sample_tables(args.batch, n, gen)
        tables = pmf_from_samples(codes, q, [20] * n)
        dense = torch.rand((args.batch, *shape), generator=gen, dtype=torch.float64)
        dense /= dense.sum(dim=tuple(range(1, n + 2)), keepdim=True)
        cases = {
            "2048 samples": (lambda t=tables: pid_from_pmf(t, n),
                             lambda t=tables: [pid_from_pmf(t[i], n) for i in range(20)]),
            "samples, sparse": (lambda: pid_from_samples(codes, q, [20] * n),
                                lambda: [pid_from_samples(codes[i], q[i], [20] * n)
                                         for i in range(20)]),
            "all cells": (lambda t=dense: pid_from_pmf(t, n),
                          lambda t=dense: [pid_from_pmf(t[i], n) for i in range(20)]),
        }
        a = pid_from_pmf(tables, n).atoms
        b = torch.stack([pid_from_pmf(tables[i], n).atoms for i in range(5)])
        assert torch.allclose(a[:5], b, atol=1e-9)
        assert torch.allclose(pid_from_samples(codes, q, [20] * n).atoms, a, atol=1e-9)
        for occupancy, (batched, single) in cases.items():
            t_batch = median_seconds(batched, repeats=3, warmup=1) / args.batch
            t_single = median_seconds(single, repeats=3, warmup=1) / 20
            print(f"{label:<12} {occupancy:<14} {t_batch * 1e6:>11.1f} {t_single * 1e6:>14.1f} "
                  f"{t_single / t_batch:>6.1f}x")
            rows.append({"table": label, "occupancy": occupancy, "batched_us": t_batch * 1e6,
                         "single_us": t_single * 1e6, "ratio": t_single / t_batch})
    for shape in ((4, 4, 2),):  # dit needs ~80 s for one 3x3x3x2 table already
        seconds = dit_seconds(shape)
        if seconds is not None:
            ours = median_seconds(lambda s=shape: pid_from_pmf(
                torch.rand(s, dtype=torch.float64) / np.prod(s), len(s) - 1), repeats=5)
            print(f"dit PID_SX on one {'x'.join(map(str, shape))} table: {seconds * 1e3:.0f} ms "
                  f"(ours, same table, unbatched: {ours * 1e3:.2f} ms, {seconds / ours:.0f}x)")
            rows.append({"table": "x".join(map(str, shape)), "dit_ms": seconds * 1e3,
                         "ours_ms": ours * 1e3})
    write_json(args.json, "pid_decompose", rows)


if __name__ == "__main__":
    run_script(main)
