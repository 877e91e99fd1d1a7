"""``RunWriter``: the one writer of ``LOGDIR/<run>/run.h5``.

Guarantees, each tested:
- all structure (groups, datasets, attributes) is created in a temporary file that is renamed
  into place, then the file is reopened in HDF5 SWMR mode: readers in other processes see new
  checkpoints while training runs;
- a checkpoint becomes visible only when its data is written and flushed and the ``complete``
  counter is advanced; a kill -9 at any moment leaves a file whose complete checkpoints all read
  back, and never a half-written one;
- ``resume`` rebuilds the file from its complete checkpoints (a crashed SWMR file cannot be
  reopened for writing) and continues from there;
- one writer per run, enforced by a lock that dies with its process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import json
import os
import platform
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import h5py
import numpy as np

from inspector.errors import InfomorphError
from storage._lock import WriterLock
from storage._schema import (
    FORMAT,
    LOCK_FILE,
    RUN_FILE,
    SCHEMA_VERSION,
    STATUS_FINISHED,
    STATUS_RUNNING,
    LayerSpec,
    RunSpec,
)

PROBE_CHUNK_NEURONS = 4
"""Neurons per chunk of the probe arrays: small enough that one neuron across all checkpoints
reads little, large enough that one checkpoint of a layer is a few hundred chunks."""


@dataclass
class LayerRecord:
    """One layer at one checkpoint. Arrays are (sample, neuron) for the probe set.

    ``sources``: aggregated input of each source (f, c, l ...) by source name; ``theta``: the
    output probability P(Y = +1); ``output``: the sampled output in {-1, +1}; ``params``: the
    layer's parameters by name; ``train_atoms`` (neuron, atom) and ``train_goal`` (neuron,):
    what the training loss saw on its last batch (bits), if recorded.
    """

    sources: Mapping[str, np.ndarray]
    theta: np.ndarray
    output: np.ndarray
    params: Mapping[str, np.ndarray] = field(default_factory=dict)
    train_atoms: np.ndarray | None = None
    train_goal: np.ndarray | None = None


def default_provenance(**extra) -> dict:
    """Package, library and host versions, the git commit when available, and the start time."""
    import torch

    from inspector import __version__

    commit = None
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
            text=True, timeout=5, check=False,
        )
        commit = out.stdout.strip() or None
    return {
        "package": "infomorph",
        "version": __version__,
        "git_commit": commit,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "h5py": h5py.__version__,
        "hdf5": h5py.version.hdf5_version,
        "python": platform.python_version(),
        "host": socket.gethostname(),
        "user": _user(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        **extra,
    }


def _user() -> str | None:
    with contextlib.suppress(Exception):
        return getpass.getuser()
    return None


COMPRESSIONS = ("auto", "gzip", "lzf", "none")


def _compression(kind: str | None, float_probe: bool = False) -> dict:
    """h5py filter options. ``auto`` leaves float32 probe activations uncompressed: their
    mantissas are noise to gzip (8 % smaller for 5x slower writes and 6x slower reads,
    docs/benchmarks.md) and compresses everything else with gzip level 1 + shuffle."""
    if kind not in COMPRESSIONS and kind is not None:
        raise InfomorphError(
            f"Unknown compression {kind!r}; choose one of: {', '.join(COMPRESSIONS)}."
        )
    if kind in (None, "none") or (kind == "auto" and float_probe):
        return {}
    if kind in ("gzip", "auto"):
        return {"compression": "gzip", "compression_opts": 1, "shuffle": True}
    return {"compression": "lzf", "shuffle": True}


def _series(group, name, inner_shape, dtype, chunks, scales, compression, fill=None):
    """A resizable dataset with a leading checkpoint axis and dimension scales attached."""
    ds = group.create_dataset(
        name, shape=(0, *inner_shape), maxshape=(None, *inner_shape), dtype=dtype,
        chunks=(1, *chunks), fillvalue=fill, **compression,
    )
    for axis, scale in enumerate(scales):
        ds.dims[axis].attach_scale(scale)
    return ds


def _scale(group, name, values, dtype=None):
    ds = group.create_dataset(name, data=values, dtype=dtype)
    ds.make_scale(name)
    return ds


def _build(f: h5py.File, spec: RunSpec, provenance: Mapping, compression: str | None) -> None:
    """Create every group, dataset and attribute of an empty run (SWMR allows no new ones)."""
    f.attrs["format"] = FORMAT
    f.attrs["schema_version"] = SCHEMA_VERSION
    f.attrs["provenance"] = json.dumps(provenance, default=str)
    f.attrs["compression"] = compression or "none"
    for key, value in spec.to_attrs().items():
        f.attrs[key] = value
    f.create_dataset("status", data=np.array([STATUS_RUNNING], dtype=np.int8))
    f.create_dataset("complete", data=np.array([0], dtype=np.int64))
    checkpoint = f.create_dataset("checkpoint", shape=(0,), maxshape=(None,), dtype=np.int64,
                                  chunks=(1024,))
    checkpoint.make_scale("checkpoint")
    checkpoint.attrs["long_name"] = "training step of the checkpoint"
    sample = _scale(f, "sample", np.asarray(spec.probe.indices, dtype=np.int64))
    sample.attrs["long_name"] = f"index into {spec.probe.dataset}/{spec.probe.split}"
    for name in ("epoch", "wall_time"):
        _series(f, name, (), np.float64, (), [checkpoint], {})
    f["wall_time"].attrs["units"] = "seconds since the run started"
    if spec.probe.inputs is not None:
        inputs = np.asarray(spec.probe.inputs, dtype=np.float32)
        if inputs.ndim != 2 or inputs.shape[0] != spec.probe.size:
            raise InfomorphError(f"probe inputs must have shape (sample, feature) with "
                                 f"{spec.probe.size} samples, got {inputs.shape}")
        ds = f.create_dataset("probe_inputs", data=inputs, **_compression("gzip"))
        ds.dims[0].attach_scale(sample)
    if spec.probe.labels is not None:
        labels = f.create_dataset("probe_labels", data=np.asarray(spec.probe.labels, np.int64))
        labels.dims[0].attach_scale(sample)
    metrics = f.create_group("metrics")
    for name in spec.metrics:
        _series(metrics, name, (), np.float64, (), [checkpoint], {}, fill=np.nan)
    layers = f.create_group("layers")
    for layer in spec.layers:
        _build_layer(layers.create_group(layer.name), layer, spec, checkpoint, sample,
                     compression)


def _build_layer(g, layer: LayerSpec, spec: RunSpec, checkpoint, sample, compression) -> None:
    comp, float_comp = _compression(compression), _compression(compression, float_probe=True)
    neuron = _scale(g, "neuron", np.arange(layer.neurons, dtype=np.int64))
    n_samples = spec.probe.size
    probe_chunk = (min(PROBE_CHUNK_NEURONS, layer.neurons), n_samples)
    for source in layer.source_names:
        ds = _series(g, f"source_{source}", (layer.neurons, n_samples), np.float32,
                     probe_chunk, [checkpoint, neuron, sample], float_comp)
        ds.attrs["long_name"] = f"aggregated input of source {source} on the probe set"
    ds = _series(g, "theta", (layer.neurons, n_samples), np.float32, probe_chunk,
                 [checkpoint, neuron, sample], float_comp)
    ds.attrs["long_name"] = "output probability P(Y = +1) on the probe set"
    ds = _series(g, "output", (layer.neurons, n_samples), np.int8, probe_chunk,
                 [checkpoint, neuron, sample], comp)
    ds.attrs["long_name"] = "sampled binary output Y in {-1, +1} on the probe set"
    if layer.atoms:
        atom = _scale(g, "atom", list(layer.atoms), dtype=h5py.string_dtype())
        ds = _series(g, "train_atoms", (layer.neurons, len(layer.atoms)), np.float32,
                     (layer.neurons, len(layer.atoms)), [checkpoint, neuron, atom], comp)
        ds.attrs.update(units="bits", long_name="I^sx atoms the training loss saw")
    ds = _series(g, "train_goal", (layer.neurons,), np.float32, (layer.neurons,),
                 [checkpoint, neuron], comp, fill=np.nan)
    ds.attrs.update(units="bits", long_name="goal value the training loss saw")
    params = g.create_group("params")
    scales = {"neuron": neuron}
    for p in layer.params:
        for dim, size in zip(p.dims, p.shape, strict=True):
            if dim not in scales:
                scales[dim] = _scale(g, dim, np.arange(size, dtype=np.int64))
            elif scales[dim].shape[0] != size:
                raise InfomorphError(
                    f"layer {layer.name!r}: dim {dim!r} has size {scales[dim].shape[0]} and {size}"
                )
        _series(params, p.name, p.shape, np.float32, p.shape,
                [checkpoint, *(scales[d] for d in p.dims)], comp)


class RunWriter:
    """Create a run, append checkpoints, mark it finished; or reopen one to resume.

    >>> with RunWriter.create(run_dir, spec) as w:    # doctest: +SKIP
    ...     w.append(step, epoch=e, layers={"hidden": LayerRecord(...)}, metrics={"loss": x})
    ...     w.finish()
    """

    def __init__(self, run_dir: Path, spec: RunSpec, lock: WriterLock, complete: int) -> None:
        self.run_dir = run_dir
        self.spec = spec
        self._lock = lock
        self._file = h5py.File(run_dir / RUN_FILE, "r+", libver="latest")
        self._file.swmr_mode = True
        self._complete = complete
        self._started = time.time() - (
            float(self._file["wall_time"][complete - 1]) if complete else 0.0
        )

    # ------------------------------------------------------------------ creation
    @classmethod
    def create(cls, run_dir: str | os.PathLike, spec: RunSpec, *, provenance: Mapping | None = None,
               compression: str | None = "auto") -> RunWriter:
        """Start a new run in ``run_dir`` (created if missing). Refuses an existing run."""
        run_dir = Path(run_dir)
        _compression(compression)
        if (run_dir / RUN_FILE).exists():
            raise InfomorphError(
                f"{run_dir / RUN_FILE} already exists; resume it or choose another run name"
            )
        if run_dir.exists() and not run_dir.is_dir():
            raise InfomorphError(f"{run_dir} exists and is not a directory")
        run_dir.mkdir(parents=True, exist_ok=True)
        lock = WriterLock(run_dir / LOCK_FILE)
        try:
            _atomic_build(run_dir, spec, provenance or default_provenance(), compression)
            return cls(run_dir, spec, lock, complete=0)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def resume(cls, run_dir: str | os.PathLike) -> RunWriter:
        """Reopen a run that was interrupted or crashed; continue after its last complete
        checkpoint. Anything written after that checkpoint is dropped."""
        from storage._reader import open_run  # the reader validates the file

        run_dir = Path(run_dir)
        run = open_run(run_dir)
        lock = WriterLock(run_dir / LOCK_FILE)
        try:
            if run.status == "finished":
                raise InfomorphError(f"run {run_dir} is finished; there is nothing to resume")
            complete = run.n_checkpoints
            spec = dataclasses.replace(
                run.spec, probe=dataclasses.replace(run.spec.probe, inputs=run.probe_inputs))
            with run._open() as src:
                provenance = json.loads(src.attrs["provenance"])
                provenance.setdefault("resumed", []).append(
                    datetime.now(UTC).isoformat(timespec="seconds")
                )
                compression = str(src.attrs.get("compression", "auto"))
                _atomic_build(run_dir, spec, provenance, compression,
                              copy_from=src, complete=complete)
            return cls(run_dir, spec, lock, complete=complete)
        except BaseException:
            lock.release()
            raise

    # ------------------------------------------------------------------ writing
    @property
    def n_checkpoints(self) -> int:
        return self._complete

    @property
    def checkpoints(self) -> list[int]:
        return [int(s) for s in self._file["checkpoint"][: self._complete]]

    def append(self, step: int, *, layers: Mapping[str, LayerRecord], epoch: float = 0.0,
               metrics: Mapping[str, float] | None = None,
               wall_time: float | None = None) -> int:
        """Write one checkpoint; it becomes visible to readers only once complete."""
        f = self._file
        if f is None:
            raise InfomorphError("this RunWriter is closed")
        step = int(step)
        if self._complete and step <= int(f["checkpoint"][self._complete - 1]):
            raise InfomorphError(
                f"checkpoint steps must increase: got {step} after "
                f"{int(f['checkpoint'][self._complete - 1])}"
            )
        metrics = dict(metrics or {})
        unknown = sorted(set(metrics) - set(self.spec.metrics))
        if unknown:
            raise InfomorphError(
                f"Unknown metric {unknown[0]!r}; choose one of: {', '.join(self.spec.metrics)}."
            )
        missing = [x.name for x in self.spec.layers if x.name not in layers]
        extra = sorted(set(layers) - {x.name for x in self.spec.layers})
        if missing or extra:
            raise InfomorphError(f"checkpoint layers must be exactly the run's: missing "
                                 f"{missing}, unexpected {extra}")
        prepared = {name: self._prepare(self.spec.layer(name), rec)
                    for name, rec in layers.items()}
        i = self._complete
        for ds in self._all_series():
            if ds.shape[0] < i + 1:
                ds.resize(i + 1, axis=0)
        f["checkpoint"][i] = step
        f["epoch"][i] = float(epoch)
        f["wall_time"][i] = time.time() - self._started if wall_time is None else wall_time
        for name in self.spec.metrics:
            f["metrics"][name][i] = float(metrics.get(name, np.nan))
        for name, arrays in prepared.items():
            g = f["layers"][name]
            for key, value in arrays.items():
                g[key][i] = value
        f.flush()
        f["complete"][0] = i + 1  # the commit point: written last, after the data
        f.flush()
        self._complete = i + 1
        return i

    def _prepare(self, layer: LayerSpec, rec: LayerRecord) -> dict[str, np.ndarray]:
        shape = (self.spec.probe.size, layer.neurons)
        out = {}

        def probe(key: str, value, dtype) -> np.ndarray:
            arr = np.asarray(value)
            if arr.shape != shape:
                raise InfomorphError(f"layer {layer.name!r}: {key} must have shape "
                                     f"(sample, neuron) = {shape}, got {arr.shape}")
            return np.ascontiguousarray(arr.T, dtype=dtype)

        if set(rec.sources) != set(layer.source_names):
            raise InfomorphError(f"layer {layer.name!r}: sources must be "
                                 f"{layer.source_names}, got {sorted(rec.sources)}")
        for source, value in rec.sources.items():
            out[f"source_{source}"] = probe(f"source {source}", value, np.float32)
        out["theta"] = probe("theta", rec.theta, np.float32)
        out["output"] = probe("output", rec.output, np.int8)
        for p in layer.params:
            if p.name not in rec.params:
                raise InfomorphError(f"layer {layer.name!r}: parameter {p.name!r} missing")
            arr = np.asarray(rec.params[p.name], dtype=np.float32)
            if arr.shape != p.shape:
                raise InfomorphError(f"layer {layer.name!r}: parameter {p.name!r} must have "
                                     f"shape {p.shape}, got {arr.shape}")
            out[f"params/{p.name}"] = arr
        if rec.train_atoms is not None and layer.atoms:
            arr = np.asarray(rec.train_atoms, dtype=np.float32)
            if arr.shape != (layer.neurons, len(layer.atoms)):
                raise InfomorphError(f"layer {layer.name!r}: train_atoms must have shape "
                                     f"{(layer.neurons, len(layer.atoms))}, got {arr.shape}")
            out["train_atoms"] = arr
        if rec.train_goal is not None:
            out["train_goal"] = np.asarray(rec.train_goal, dtype=np.float32).reshape(
                layer.neurons)
        return out

    def _all_series(self):
        return [self._file[path] for path in series_paths(self.spec)]

    # ------------------------------------------------------------------ closing
    def finish(self) -> None:
        """Mark the run finished and close it."""
        if self._file is not None:
            self._file["status"][0] = STATUS_FINISHED
        self.close()

    def close(self) -> None:
        """Close without marking finished: the run reads as incomplete and can be resumed."""
        if self._file is not None:
            self._file.flush()
            self._file.close()
            self._file = None
        self._lock.release()

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _atomic_build(run_dir: Path, spec: RunSpec, provenance: Mapping, compression: str | None,
                  copy_from: h5py.File | None = None, complete: int = 0) -> None:
    """Write the structure (and, when resuming, the first ``complete`` checkpoints of
    ``copy_from``) to a temporary file, then rename it over run.h5."""
    tmp = run_dir / f".{RUN_FILE}.{os.getpid()}.tmp"
    try:
        with h5py.File(tmp, "w", libver="latest") as f:
            _build(f, spec, provenance, compression)
            if copy_from is not None and complete:
                _copy_checkpoints(copy_from, f, spec, complete)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, run_dir / RUN_FILE)
    finally:
        tmp.unlink(missing_ok=True)


def series_paths(spec: RunSpec) -> list[str]:
    """Every dataset with a checkpoint axis, by path: what append resizes and resume copies."""
    paths = ["checkpoint", "epoch", "wall_time", *(f"metrics/{m}" for m in spec.metrics)]
    for layer in spec.layers:
        base = f"layers/{layer.name}/"
        paths += [base + key for key in (
            *(f"source_{s}" for s in layer.source_names), "theta", "output", "train_goal",
            *(["train_atoms"] if layer.atoms else []),
            *(f"params/{p.name}" for p in layer.params))]
    return paths


def _copy_checkpoints(src: h5py.File, dst: h5py.File, spec: RunSpec, n: int) -> None:
    for path in series_paths(spec):
        source, target = src[path], dst[path]
        target.resize(n, axis=0)
        for i in range(n):  # one checkpoint at a time bounds memory
            target[i] = source[i]
    dst["complete"][0] = n
