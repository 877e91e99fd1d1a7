"""Recording and reading checkpoints of the run format.

Run:  .venv/bin/python bench/storage_checkpoint.py [--neurons 1000] [--samples 2048] [--json F]

Writes checkpoints of 3 layers x N neurons x 3 sources x S probe samples (plus theta, output
and 784 x N feedforward weights per layer), then reads one layer at one checkpoint and one
neuron across all checkpoints. Baseline in the same run: writing the same arrays with
numpy.save (uncompressed, no structure), the floor for getting the bytes to disk. Then the
share of training time: one training step of the `multilayer` preset (two trivariate hidden
layers of N neurons and the readout: 3 layers) on MNIST-sized batches of 1024, times the
47 steps of a 48k-sample epoch, against the default schedule's checkpoints.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from _timing import machine, median_seconds, run_script, write_json

from inspector.allocator import keep_freed_memory
from storage import (
    LayerRecord,
    LayerSpec,
    ParamSpec,
    ProbeSpec,
    RunSpec,
    RunWriter,
    SourceSpec,
    open_run,
)


def main() -> None:
    keep_freed_memory()  # as every infomorph command (inspector.allocator)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--checkpoints", type=int, default=8)
    parser.add_argument("--compression", default="auto")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    n, s = args.neurons, args.samples
    rng = np.random.default_rng(0)
    layers = tuple(
        LayerSpec(name=f"layer{k}", neurons=n,
                  sources=(SourceSpec("F", 784), SourceSpec("C", 10), SourceSpec("L", n)),
                  params=(ParamSpec("F.weight", (n, 784), ("neuron", "F_input")),))
        for k in range(3)
    )
    spec = RunSpec(config={}, layers=layers,
                   probe=ProbeSpec("bench", list(range(s))), metrics=("loss",))
    record = {
        x.name: LayerRecord(
            sources={src: (rng.normal(0, 5, (s, n))).astype(np.float32) for src in "FCL"},
            theta=rng.random((s, n), dtype=np.float32),
            output=np.where(rng.random((s, n)) < 0.5, -1, 1).astype(np.int8),
            params={"F.weight": rng.normal(0, 0.05, (n, 784)).astype(np.float32)},
        )
        for x in layers
    }
    raw_bytes = sum(a.nbytes for r in record.values()
                    for a in (*r.sources.values(), r.theta, r.output, *r.params.values()))
    root = Path(tempfile.mkdtemp())
    try:
        writer = RunWriter.create(root / "run", spec, compression=args.compression)
        times = []
        for i in range(args.checkpoints):
            start = time.perf_counter()
            writer.append(i, layers=record, metrics={"loss": 1.0})
            times.append(time.perf_counter() - start)
        writer.finish()
        t_write = float(np.median(times[1:] if len(times) > 1 else times))
        size = (root / "run" / "run.h5").stat().st_size / args.checkpoints

        def baseline():
            for name, r in record.items():
                for key, a in {**r.sources, "theta": r.theta, "output": r.output,
                               **r.params}.items():
                    np.save(root / f"{name}-{key}.npy", a)
        t_base = median_seconds(baseline, repeats=3, warmup=1)
        run = open_run(root / "run")
        t_layer = median_seconds(lambda: run.probe("layer1", args.checkpoints // 2), repeats=5)
        t_neuron = median_seconds(lambda: run.neuron("layer1", 517 % n), repeats=5)
        assert np.array_equal(run.probe("layer1", 0).source_F.values,
                              record["layer1"].sources["F"])
    finally:
        shutil.rmtree(root)
    print(f"# run format: 3 layers x {n} neurons x 3 sources x {s} probe samples, "
          f"{args.compression}")
    print(f"# {machine()}")
    print(f"write one checkpoint        {t_write * 1e3:8.0f} ms  ({raw_bytes / 2**20:.0f} MiB raw, "
          f"{size / 2**20:.0f} MiB on disk); numpy.save of the same arrays {t_base * 1e3:.0f} ms "
          f"-> {t_write / t_base:.1f}x")
    print(f"read one layer, one checkpoint {t_layer * 1e3:6.0f} ms")
    print(f"read one neuron, {args.checkpoints} checkpoints {t_neuron * 1e3:6.1f} ms")
    share = _training_share(n, t_write)
    print(f"share of training time at the default schedule (30 checkpoints in 100 epochs of "
          f"{share['epoch_s']:.0f} s): {100 * share['share']:.2f} %")
    write_json(args.json, "storage_checkpoint", [{**share,
        "write_ms": t_write * 1e3, "numpy_save_ms": t_base * 1e3, "raw_mib": raw_bytes / 2**20,
        "disk_mib": size / 2**20, "read_layer_ms": t_layer * 1e3,
        "read_neuron_ms": t_neuron * 1e3, "checkpoints": args.checkpoints}])


def _training_share(neurons: int, write_seconds: float) -> dict:
    import torch

    from training.config import make_config
    from training.trainer import _optimizers, build_model, train_step

    config = make_config({"preset": "multilayer", "hidden": neurons, "data": "mnist"})
    model = build_model(config, 784, 10, torch.device("cpu"), torch.Generator())
    optimizers = _optimizers(model, config)
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(1024, 784, generator=gen), torch.randint(0, 10, (1024,), generator=gen)

    def step():
        train_step(model, optimizers, x, y, gen)

    t_step = median_seconds(step, repeats=3, warmup=1)
    epoch = 47 * t_step
    return {"step_s": t_step, "epoch_s": epoch,
            "share": 30 * write_seconds / (100 * epoch + 30 * write_seconds)}


if __name__ == "__main__":
    run_script(main)
