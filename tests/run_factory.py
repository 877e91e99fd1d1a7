"""Synthetic runs for storage tests: a spec and checkpoint records whose values are a known
function of (checkpoint index, neuron, sample), so any read can be checked exactly."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from storage import LayerRecord, LayerSpec, ParamSpec, ProbeSpec, RunSpec, SourceSpec


def make_spec(neurons: int = 6, samples: int = 10, inputs: int = 5) -> RunSpec:
    hidden = LayerSpec(
        name="hidden", neurons=neurons,
        sources=(SourceSpec("F", inputs), SourceSpec("C", 3), SourceSpec("L", neurons)),
        activation="trivariate", activation_params={"c1": 0.1, "c2": 0.1},
        binning={"method": "fixed", "bins": 20, "value_range": [-20, 20]},
        goal={"{F}{C}": 1.0}, atoms=("{F}{C}", "{F}", "{C}", "{FC}"),
        params=(ParamSpec("F.weight", (neurons, inputs), ("neuron", "F_input")),
                ParamSpec("F.bias", (neurons,), ("neuron",))),
    )
    readout = LayerSpec(name="readout", neurons=3, sources=(SourceSpec("F", neurons),
                                                             SourceSpec("C", 3)),
                        activation="bivariate")
    return RunSpec(
        config={"preset": "test", "seed": 7, "hidden": neurons},
        layers=(hidden, readout),
        probe=ProbeSpec(dataset="synthetic", indices=list(range(100, 100 + samples)),
                        labels=[i % 3 for i in range(samples)]),
        metrics=("loss", "accuracy"),
    )


def value(i: int, shape, offset: float = 0.0) -> np.ndarray:
    return (np.arange(np.prod(shape), dtype=np.float32).reshape(shape) + 1000 * i + offset)


def make_record(spec: RunSpec, i: int) -> dict[str, LayerRecord]:
    out = {}
    for k, layer in enumerate(spec.layers):
        shape = (spec.probe.size, layer.neurons)
        out[layer.name] = LayerRecord(
            sources={s: value(i, shape, 0.25 * j + k) for j, s in enumerate(layer.source_names)},
            theta=np.full(shape, (i % 10) / 10, dtype=np.float32),
            output=np.where(value(i, shape) % 2 == 0, 1, -1).astype(np.int8),
            params={p.name: value(i, p.shape, 0.5) for p in layer.params},
            train_atoms=value(i, (layer.neurons, len(layer.atoms))) if layer.atoms else None,
            train_goal=np.full(layer.neurons, float(i)),
        )
    return out


def step_of(i: int) -> int:
    return 10 * i + 5


def main(run_dir: str, n: int, pause: float, resume: bool) -> None:
    """Write checkpoints slowly (for live-reading and kill -9 tests), printing each index."""
    import time

    from storage import RunWriter

    spec = make_spec(neurons=40, samples=256)
    writer = RunWriter.resume(run_dir) if resume else RunWriter.create(run_dir, spec)
    start = writer.n_checkpoints
    for i in range(start, start + n):
        writer.append(step_of(i), epoch=i / 2, layers=make_record(spec, i),
                      metrics={"loss": 1.0 / (i + 1), "accuracy": i / 100})
        print(i, flush=True)
        time.sleep(pause)
    writer.finish()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "resume")
    Path(sys.argv[1], "writer-done").touch()
