"""The shuffle null of a layer at one checkpoint: shuffles per second, batched in the engine
against one decomposition per shuffle.

Run:  .venv/bin/python bench/shuffle_null.py [--shuffles 20] [--json out.json]

Two layer-like cases, as ``infomorph analyze --shuffles K`` meets them: a trivariate hidden
layer (F continuous, C one of 10 label embeddings, L continuous; 20 fixed bins on [-20, 20])
and a bivariate readout (10 neurons, max-normalised bins), each with the demo's 359 probe
samples and with 2048. The baseline, in the same run, is the shuffle null as the analysis
computed it before: one ``decompose_samples_dataset`` call per shuffle on the permuted
target. The answers (p values exactly, null means to 1e-15 bits) are compared before timing.
"""

from __future__ import annotations

import argparse

import numpy as np
from _timing import interleaved_medians, machine, run_script, write_json

from inspector.allocator import keep_freed_memory
from inspector.pid import Binning, decompose_samples_dataset


def layer(neurons: int, samples: int, n_sources: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Sources (neuron, sample, source) and theta (neuron, sample) with layer-like statistics."""
    f = rng.normal(0, 3, (neurons, samples))
    c = rng.normal(0, 5, (neurons, 10))[:, rng.integers(0, 10, samples)]
    parts = [f, c, rng.normal(0, 3, (neurons, samples))][:n_sources]
    theta = 1 / (1 + np.exp(-f * (0.8 + 0.2 / (1 + np.exp(-2 * f * c)))))
    return np.stack(parts, -1), theta


def one_call_per_shuffle(sources, theta, binning, shuffles: int, seed: int):
    rng = np.random.default_rng(seed)
    observed = decompose_samples_dataset(sources, theta, binning=binning).pid.values
    hits, total = np.zeros(observed.shape), np.zeros(observed.shape)
    for _ in range(shuffles):
        order = np.argsort(rng.random(theta.shape), axis=1)
        null = decompose_samples_dataset(sources, np.take_along_axis(theta, order, 1),
                                         binning=binning).pid.values
        hits += np.abs(null) >= np.abs(observed) - 1e-12
        total += null
    return (1 + hits) / (1 + shuffles), total / shuffles


def batched(sources, theta, binning, shuffles: int, seed: int):
    ds = decompose_samples_dataset(sources, theta, binning=binning, shuffles=shuffles, rng=seed)
    return ds.p_value.values, ds.pid_null_mean.values


def main() -> None:
    keep_freed_memory()  # as every infomorph command (inspector.allocator)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shuffles", type=int, default=20)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    cases = [("hidden, trivariate", 100, 359, 3, Binning("fixed", 20, (-20.0, 20.0))),
             ("readout, bivariate", 10, 359, 2, Binning("maxnorm", 20)),
             ("hidden, trivariate", 100, 2048, 3, Binning("fixed", 20, (-20.0, 20.0))),
             ("readout, bivariate", 10, 2048, 2, Binning("maxnorm", 20))]
    print(f"# shuffle null of one checkpoint, {args.shuffles} shuffles")
    print(f"# {machine()}")
    print(f"{'layer':20s} {'neurons':>7s} {'samples':>7s} {'per shuffle, one call each':>27s} "
          f"{'batched':>9s} {'speed-up':>8s}")
    rows = []
    for name, neurons, samples, n, binning in cases:
        sources, theta = layer(neurons, samples, n, rng)
        p0, m0 = one_call_per_shuffle(sources, theta, binning, args.shuffles, 1)
        p1, m1 = batched(sources, theta, binning, args.shuffles, 1)
        assert np.array_equal(p0, p1) and np.allclose(m0, m1, rtol=0, atol=1e-15)
        times = interleaved_medians({
            "loop": lambda: one_call_per_shuffle(sources, theta, binning, args.shuffles, 1),
            "batched": lambda: batched(sources, theta, binning, args.shuffles, 1),
        }, rounds=5, per_round=1, settle=1)
        loop, fast = times["loop"] / args.shuffles, times["batched"] / args.shuffles
        print(f"{name:20s} {neurons:7d} {samples:7d} {loop * 1e3:24.2f} ms {fast * 1e3:6.2f} ms "
              f"{loop / fast:7.1f}x")
        rows.append({"layer": name, "neurons": neurons, "samples": samples,
                     "loop_ms": loop * 1e3, "batched_ms": fast * 1e3})
    write_json(args.json, "shuffle_null", rows)


if __name__ == "__main__":
    run_script(main)
