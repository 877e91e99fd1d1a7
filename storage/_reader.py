"""``open_run``: read a run file, while it is being written or after, without modifying it.

Every read opens the file in SWMR read mode, reads, and closes it again, so a reader never
holds the file open between calls and never blocks a writer. Only the first ``complete``
checkpoints are ever shown: a checkpoint being written is invisible until it is whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import xarray as xr

from inspector.errors import InfomorphError
from storage._lock import writer_alive
from storage._schema import (
    FORMAT,
    LOCK_FILE,
    RUN_FILE,
    SCHEMA_VERSION,
    STATUS_FINISHED,
    LayerSpec,
    RunSpec,
)


def is_hdf5(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an HDF5 file (a run, an analysis): writers of other files check
    before they replace one."""
    try:
        return bool(h5py.is_hdf5(path))
    except OSError:
        return False


def resolve_run_file(path: str | os.PathLike) -> Path:
    """The run.h5 of a run directory (or the file itself); a clear error otherwise."""
    path = Path(path)
    if not path.exists():
        raise InfomorphError(f"no such run: {path}")
    if path.is_dir():
        path = path / RUN_FILE
        if not path.exists():
            raise InfomorphError(f"{path.parent} is not a run directory: it has no {RUN_FILE}")
    return path


class Run:
    """A recorded run. Metadata is read once; checkpoints are re-read on each access, so a
    run that is still training shows new checkpoints as they complete."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.dir = file.parent
        with self._open() as f:
            fmt = f.attrs.get("format")
            if fmt != FORMAT:
                raise InfomorphError(
                    f"{file} is an HDF5 file but not an infomorph run (format {fmt!r})"
                )
            version = int(f.attrs.get("schema_version", -1))
            if version > SCHEMA_VERSION:
                raise InfomorphError(
                    f"{file} was written with run schema {version}; this version of infomorph "
                    f"reads up to {SCHEMA_VERSION}: upgrade infomorph to read it"
                )
            if version < 1:
                raise InfomorphError(f"{file} has an invalid schema version {version}")
            try:
                self.spec = RunSpec.from_attrs(f.attrs)
                self.provenance = json.loads(f.attrs["provenance"])
            except (KeyError, ValueError, TypeError) as err:
                raise InfomorphError(f"{file} has damaged metadata: {err}") from None

    # ------------------------------------------------------------------ file access
    @contextlib.contextmanager
    def _open(self) -> Iterator[h5py.File]:
        try:
            # A closed file opens strictly (corruption fails fast). Only a file flagged as
            # open for writing, live or crashed, is read in SWMR mode, whose readers retry
            # metadata that does not check out: right while a writer is mid-flush.
            try:
                f = h5py.File(self.file, "r")
            except OSError as err:
                if "already open for write" not in str(err):
                    raise
                f = h5py.File(self.file, "r", libver="latest", swmr=True)
        except OSError as err:
            raise InfomorphError(_open_error(self.file, err)) from None
        try:
            yield f
        except (OSError, KeyError, RuntimeError) as err:
            raise InfomorphError(f"{self.file} is damaged or truncated: {err}") from None
        finally:
            f.close()

    # ------------------------------------------------------------------ metadata
    @property
    def config(self) -> dict:
        return dict(self.spec.config)

    @property
    def layers(self) -> list[LayerSpec]:
        return list(self.spec.layers)

    @property
    def name(self) -> str:
        return self.dir.name

    @property
    def n_checkpoints(self) -> int:
        with self._open() as f:
            return int(f["complete"][0])

    @property
    def fingerprint(self) -> str:
        """Cheap identity of run.h5's content that survives copying the file (``cp``,
        ``scp`` and ``git`` do not keep modification times): size, complete checkpoints,
        the finished flag and a digest of the provenance, which says when and where the run
        started. An analysis records it to tell whether it is up to date."""
        with self._open() as f:
            n = int(f["complete"][0])
            finished = int(f["status"][0]) == STATUS_FINISHED
        origin = hashlib.sha1(json.dumps(self.provenance, sort_keys=True).encode()).hexdigest()
        return f"{self.file.stat().st_size}:{n}:{int(finished)}:{origin[:12]}"

    def matches(self, fingerprint: str | None) -> bool:
        """Whether a recorded ``fingerprint`` is this run's as it is now. Older analyses
        recorded "size:mtime:checkpoints": of those, size and checkpoints are compared (the
        modification time is what copying changes)."""
        if not fingerprint:
            return False
        parts = str(fingerprint).split(":")
        if len(parts) == 3:
            size, _, n = parts
            return f"{size}:{n}" == ":".join(self.fingerprint.split(":")[:2])
        return fingerprint == self.fingerprint

    @property
    def checkpoints(self) -> np.ndarray:
        """Training steps of the complete checkpoints, in order."""
        with self._open() as f:
            n = int(f["complete"][0])
            return f["checkpoint"][:n].astype(np.int64)

    @property
    def status(self) -> str:
        """"running", "finished", or "crashed/incomplete" (the writer is gone)."""
        with self._open() as f:
            finished = int(f["status"][0]) == STATUS_FINISHED
        if finished:
            return "finished"
        return "running" if writer_alive(self.dir / LOCK_FILE) else "crashed/incomplete"

    @cached_property
    def probe_labels(self) -> np.ndarray | None:
        with self._open() as f:
            return f["probe_labels"][()] if "probe_labels" in f else None

    @property
    def probe_inputs(self) -> np.ndarray | None:
        """The probe inputs themselves (sample, feature), when the run stored them."""
        with self._open() as f:
            return f["probe_inputs"][()] if "probe_inputs" in f else None

    # ------------------------------------------------------------------ data
    def _index(self, f: h5py.File, checkpoint: int) -> int:
        n = int(f["complete"][0])
        if n == 0:
            raise InfomorphError(f"run {self.name} has no complete checkpoint yet")
        steps = f["checkpoint"][:n]
        checkpoint = int(checkpoint)
        if checkpoint < 0 and -checkpoint <= n:
            return n + checkpoint
        hits = np.flatnonzero(steps == checkpoint)
        if not len(hits):
            raise InfomorphError(
                f"run {self.name} has no checkpoint at step {checkpoint}; steps are "
                f"{_summarise(steps)} (negative numbers count from the last)"
            )
        return int(hits[0])

    def probe(self, layer: str, checkpoint: int = -1) -> xr.Dataset:
        """One layer's probe data at one checkpoint (a step; -1 = the last complete one).

        Dataset with one variable per source (f, c, l ...: ``source_F`` ...), ``theta`` and
        ``output``, dims (sample, neuron); coords step, epoch, sample (probe indices) and the
        probe labels when recorded.
        """
        spec = self.spec.layer(layer)
        with self._open() as f:
            i = self._index(f, checkpoint)
            g = f["layers"][layer]
            data = {
                key: (("sample", "neuron"), g[key][i].T)
                for key in (*(f"source_{s}" for s in spec.source_names), "theta", "output")
            }
            step, epoch = int(f["checkpoint"][i]), float(f["epoch"][i])
            sample = f["sample"][()]
        coords = {"sample": sample, "neuron": np.arange(spec.neurons), "step": step,
                  "epoch": epoch}
        if self.probe_labels is not None:
            coords["label"] = ("sample", self.probe_labels)
        ds = xr.Dataset(data, coords=coords)
        ds.attrs.update(run=self.name, layer=layer, sources=spec.source_names)
        return ds

    def neuron(self, layer: str, neuron: int) -> xr.Dataset:
        """One neuron's probe data across all complete checkpoints: dims (step, sample)."""
        spec = self.spec.layer(layer)
        if not 0 <= int(neuron) < spec.neurons:
            raise InfomorphError(
                f"layer {layer!r} has neurons 0..{spec.neurons - 1}, got {neuron}"
            )
        with self._open() as f:
            n = int(f["complete"][0])
            g = f["layers"][layer]
            data = {
                key: (("step", "sample"), g[key][:n, int(neuron)])
                for key in (*(f"source_{s}" for s in spec.source_names), "theta", "output")
            }
            coords = {"step": f["checkpoint"][:n], "sample": f["sample"][()]}
        ds = xr.Dataset(data, coords=coords)
        ds.attrs.update(run=self.name, layer=layer, neuron=int(neuron))
        return ds

    def weights(self, layer: str, checkpoint: int = -1) -> xr.Dataset:
        """The layer's parameters at one checkpoint, one variable per parameter, named dims."""
        spec = self.spec.layer(layer)
        with self._open() as f:
            i = self._index(f, checkpoint)
            g = f["layers"][layer]["params"]
            data = {p.name: (p.dims, g[p.name][i]) for p in spec.params}
            step = int(f["checkpoint"][i])
        return xr.Dataset(data, coords={"step": step})

    def train_atoms(self, layer: str) -> xr.Dataset:
        """What the training loss saw: atoms (step, neuron, atom) and goal (step, neuron)."""
        spec = self.spec.layer(layer)
        with self._open() as f:
            n = int(f["complete"][0])
            g = f["layers"][layer]
            data = {"train_goal": (("step", "neuron"), g["train_goal"][:n])}
            if spec.atoms:
                data["train_atoms"] = (("step", "neuron", "atom"), g["train_atoms"][:n])
            steps = f["checkpoint"][:n]
        coords = {"step": steps, "neuron": np.arange(spec.neurons)}
        if spec.atoms:
            coords["atom"] = list(spec.atoms)
        return xr.Dataset(data, coords=coords)

    def metrics(self) -> pd.DataFrame:
        """Metrics of the complete checkpoints, indexed by step, with epoch and wall time."""
        with self._open() as f:
            n = int(f["complete"][0])
            frame = pd.DataFrame(
                {"epoch": f["epoch"][:n], "wall_time": f["wall_time"][:n],
                 **{m: f["metrics"][m][:n] for m in self.spec.metrics}},
                index=pd.Index(f["checkpoint"][:n], name="step"),
            )
        return frame

    def summary(self) -> dict:
        """What `infomorph info` shows: status, layers, checkpoints, last metrics."""
        metrics = self.metrics()
        last = {k: (None if pd.isna(v) else float(v)) for k, v in
                (metrics.iloc[-1].items() if len(metrics) else [])}
        return {
            "run": self.name,
            "path": str(self.dir),
            "status": self.status,
            "preset": self.spec.config.get("preset"),
            "dataset": self.spec.probe.dataset,
            "layers": [{"name": x.name, "neurons": x.neurons, "sources": x.source_names,
                        "activation": x.activation, "goal": dict(x.goal)}
                       for x in self.spec.layers],
            "checkpoints": len(metrics),
            "last_step": int(metrics.index[-1]) if len(metrics) else None,
            "last_metrics": last,
            "probe_samples": self.spec.probe.size,
        }

    def __repr__(self) -> str:
        return f"Run({str(self.dir)!r})"


def _summarise(steps: np.ndarray) -> str:
    values = [int(s) for s in steps]
    if len(values) <= 8:
        return ", ".join(map(str, values))
    return f"{', '.join(map(str, values[:4]))}, ..., {', '.join(map(str, values[-2:]))}"


def _open_error(file: Path, err: OSError) -> str:
    if not h5py.is_hdf5(file):
        return f"{file} is not an HDF5 file (truncated, corrupt, or another format)"
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return f"cannot open {file}: it is damaged or truncated ({text})"


def open_run(path: str | os.PathLike) -> Run:
    """Open a run directory (or its run.h5) for reading; validates what it is first."""
    return Run(resolve_run_file(path))
