"""A run's information decomposition over training: ``analyze(run) -> xarray.DataTree``.

One group per layer with dims (checkpoint, neuron, atom), checkpoint = training step, bits:

- ``pid``: I^sx atoms of each neuron's output against its sources on the probe set;
- ``entropy`` H(Y), ``mutual_information`` I(Y; sources), ``residual_entropy``,
  ``source_information`` (checkpoint, neuron, source) I(Y; S_i);
- ``goal``: the layer's own goal G = sum gamma_i Pi_i + gamma_res H_res on the probe set;
  ``goal_terms`` (checkpoint, neuron, goal_term): each gamma_i Pi_i (and gamma_res H_res);
  ``goal_attainment``: G / H(Y), the share of the output entropy the goal is worth (0 where
  H(Y) = 0); ``goal_change``: G minus its value at the first checkpoint;
- ``class_fraction`` (checkpoint, neuron, atom_class), ``negative_bits``, ``neuron_class``
  (see ``inspector.atom_classes``);
- ``p_value`` (with ``shuffles`` > 0): per atom, the share of K target-against-source
  shuffles (within the probe set, per neuron) whose atom is at least as large in magnitude,
  (1 + hits) / (1 + K): small values separate an atom from estimation bias; and
  ``pid_null_mean``: each atom's mean over those K shuffles, the bias itself (bits); with
  ``shuffle_steps="last"`` at the last checkpoint only (NaN at the others).

The root holds the run's metrics on the checkpoint dim and the provenance in attributes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from inspector import __version__
from inspector.allocator import keep_freed_memory
from inspector.atom_classes import classify
from inspector.errors import InfomorphError, choose_one
from inspector.logdir import recorded_settings
from inspector.pid import (
    BINNINGS,
    MEASURE,
    Binning,
    decompose_samples_dataset,
    goal_vector,
    lattice,
)
from storage import ANALYSIS_FILE, Run, analysis_attrs, open_run, write_analysis

TARGETS = ("soft", "hard")
SHUFFLE_STEPS = ("all", "last")
CHECKPOINT_THREADS = 2


@dataclass(frozen=True)
class AnalysisSettings:
    """``binning``/``bins``: None keeps what each layer trained with. ``target``: "soft" uses
    theta as in training, "hard" the sampled output. ``shuffles``: K for the shuffle null;
    ``shuffle_steps``: at "all" checkpoints or only the "last" (a large run's null costs K
    analyses; tables and figures at the last step need no more; p values elsewhere NaN)."""

    binning: str | None = None
    bins: int | None = None
    target: str = "soft"
    shuffles: int = 0
    seed: int = 0
    shuffle_steps: str = "all"

    def __post_init__(self) -> None:
        if self.binning is not None and self.binning not in BINNINGS:
            raise choose_one("binning", self.binning, BINNINGS)
        if self.bins is not None and (isinstance(self.bins, bool) or self.bins < 2):
            raise InfomorphError(f"bins must be an integer >= 2, got {self.bins!r}")
        if self.target not in TARGETS:
            raise choose_one("target", self.target, TARGETS)
        if self.shuffles < 0:
            raise InfomorphError(f"shuffles must be >= 0, got {self.shuffles}")
        if self.shuffle_steps not in SHUFFLE_STEPS:
            raise choose_one("shuffle steps", self.shuffle_steps, SHUFFLE_STEPS)


def _binning(layer_binning: dict, settings: AnalysisSettings) -> Binning:
    base = {"method": "fixed", "bins": 20, "value_range": (-20.0, 20.0), **layer_binning}
    if settings.binning is not None:
        base["method"] = settings.binning
    if settings.bins is not None:
        base["bins"] = settings.bins
    return Binning(base["method"], int(base["bins"]), tuple(base["value_range"]))


def _layer(run: Run, layer, steps, settings: AnalysisSettings,
           done: Callable[[], None] = lambda: None) -> xr.Dataset:
    names = layer.source_names
    if len(names) > 4:
        raise InfomorphError(f"layer {layer.name!r} has {len(names)} sources; at most 4")
    binning = _binning(dict(layer.binning), settings)

    def one(index: int, step) -> xr.Dataset:
        probe = run.probe(layer.name, int(step))
        sources = np.stack([probe[f"source_{s}"].values.T for s in names], -1)
        target = (
            probe.theta.values.T.astype(np.float64)
            if settings.target == "soft"
            else (probe.output.values.T > 0).astype(np.int64)
        )
        tested = settings.shuffle_steps == "all" or index == len(steps) - 1
        # One random stream per checkpoint: the same p values in any order of execution,
        # and at the last step whether or not the others were tested.
        return decompose_samples_dataset(
            sources, target, binning=binning, names=names,
            shuffles=settings.shuffles if tested else 0,
            rng=np.random.default_rng([settings.seed, index])).rename({"dim_0": "neuron"})

    # Two checkpoints at a time: much of the estimator's bookkeeping (scatter-adds, sorts)
    # runs on one core, so a second thread keeps the other core busy.
    with ThreadPoolExecutor(max_workers=CHECKPOINT_THREADS) as pool:
        per_step = []
        for ds in pool.map(one, range(len(steps)), steps):
            per_step.append(ds)
            done()
    if settings.shuffles:  # checkpoints without a null: NaN p values (concat needs them)
        for i, ds in enumerate(per_step):
            if "p_value" not in ds:
                nan = xr.full_like(ds.pid, np.nan)
                per_step[i] = ds.assign(p_value=nan, pid_null_mean=nan)
    ds = xr.concat(per_step, dim="checkpoint", coords="minimal", compat="override", join="override")
    ds = ds.assign_coords(
        checkpoint=np.asarray(steps, dtype=np.int64), neuron=np.arange(layer.neurons)
    )
    if settings.shuffles:
        where = "" if settings.shuffle_steps == "all" else "; at the last checkpoint only"
        ds["p_value"].attrs = {"long_name": (
            f"shuffle-null p value ({settings.shuffles} shuffles of the target within the "
            f"probe set{where})")}
        ds["pid_null_mean"].attrs = {"units": "bits", "long_name": (
            f"mean atom over the {settings.shuffles} shuffles of the shuffle null (the "
            f"estimation bias{where})")}
    _goal(ds, layer, names)
    ds = ds.merge(classify(ds.pid, len(names)))
    ds.attrs = {
        "layer": layer.name,
        "sources": names,
        "binning": binning.method,
        "bins": binning.bins,
        "value_range": list(binning.value_range),
        "n_samples": run.spec.probe.size,
        "target": settings.target,
        "goal": json.dumps(dict(layer.goal)),
        "activation": layer.activation,
        "shuffles": settings.shuffles,
    }
    return ds


def _goal(ds: xr.Dataset, layer, names) -> None:
    if not layer.goal:
        return
    gamma, residual = goal_vector(dict(layer.goal), names)
    labels = lattice(len(names)).labels(names)
    keep = [i for i, g in enumerate(gamma) if g != 0]
    terms = [ds.pid.isel(atom=i).drop_vars("atom") * gamma[i] for i in keep]
    term_labels = [labels[i] for i in keep]
    if residual:
        terms.append(ds.residual_entropy * residual)
        term_labels.append("H_res")
    goal_terms = xr.concat(terms, dim="goal_term").assign_coords(goal_term=term_labels)
    goal_terms = goal_terms.transpose("checkpoint", "neuron", "goal_term")
    ds["goal_terms"] = goal_terms
    ds["goal"] = goal_terms.sum("goal_term")
    ds["goal_attainment"] = (ds.goal / ds.entropy.where(ds.entropy > 0)).fillna(0.0)
    ds["goal_change"] = ds.goal - ds.goal.isel(checkpoint=0)
    for name, text in (
        ("goal", "the layer's goal on the probe set"),
        ("goal_terms", "gamma_i * Pi_i"),
        ("goal_attainment", "goal / H(Y)"),
        ("goal_change", "goal minus its value at the first checkpoint"),
    ):
        ds[name].attrs.update(units="bits" if name != "goal_attainment" else "1", long_name=text)


def analyze(run_path: str | os.PathLike, settings: AnalysisSettings | None = None,
            progress: Callable[[int, int], None] | None = None) -> xr.DataTree:
    """Decompose every layer of a run at every complete checkpoint (see the module doc).

    ``progress(done, total)`` is called after each layer's checkpoint (total: layers x
    checkpoints), in the calling thread: long shuffle nulls take minutes per run."""
    keep_freed_memory()
    settings = settings or AnalysisSettings()
    run = open_run(run_path)
    steps = run.checkpoints
    if not len(steps):
        raise InfomorphError(f"run {run.name} has no complete checkpoint to analyse")
    metrics = run.metrics()
    root = xr.Dataset(
        {name: ("checkpoint", metrics[name].to_numpy()) for name in metrics.columns},
        coords={"checkpoint": steps.astype(np.int64)},
    )
    root.attrs = {
        "run": run.name,
        "preset": str(run.config.get("preset")),
        "dataset": run.spec.probe.dataset,
        "measure": MEASURE,
        "estimator": "sparse",
        "settings": json.dumps(asdict(settings)),
        "package_version": __version__,
        "run_fingerprint": run.fingerprint,
        "run_status": run.status,
        "hidden": int(run.config.get("hidden", 0) or 0),
        "seed": int(run.config.get("seed", 0)),
        "n_samples": run.spec.probe.size,
    }
    groups = {"/": root}
    total, count = len(run.layers) * len(steps), 0

    def done() -> None:
        nonlocal count
        count += 1
        if progress is not None:
            progress(count, total)

    for layer in run.layers:
        groups[layer.name] = _layer(run, layer, steps, settings, done)
    return xr.DataTree.from_dict(groups)


def _settings_of(attrs: dict) -> AnalysisSettings | None:
    """The settings an analysis file records; settings added since it was written take
    their defaults (so that adding one does not make every older analysis out of date)."""
    settings = recorded_settings(attrs)
    try:
        return None if settings is None else AnalysisSettings(**settings)
    except (InfomorphError, TypeError):
        return None


def previous_settings(run_path: str | os.PathLike) -> AnalysisSettings | None:
    """The settings the run's existing analysis used, None if it has no readable one."""
    target = Path(run_path) / ANALYSIS_FILE
    if not target.exists():
        return None
    try:
        return _settings_of(analysis_attrs(target))
    except InfomorphError:
        return None


def settings_for(run_path: str | os.PathLike, **given) -> AnalysisSettings:
    """The settings to (re-)analyse a run with: those of its existing analysis (the defaults
    for a run without one), with the ``given`` fields replaced. So updating an analysed run
    keeps its shuffle null and binning unless a new value is asked for."""
    from dataclasses import replace

    return replace(previous_settings(run_path) or AnalysisSettings(), **given)


def analyze_run(
    run_path: str | os.PathLike, settings: AnalysisSettings | None = None, force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Path, bool]:
    """Analyse a run into its analysis.nc unless that is up to date; (path, written).
    ``progress`` as in :func:`analyze`."""
    settings = settings or AnalysisSettings()
    run = open_run(run_path)
    target = run.dir / ANALYSIS_FILE
    if target.exists() and not force:
        try:
            attrs = analysis_attrs(target)
            if (run.matches(attrs.get("run_fingerprint"))
                    and _settings_of(attrs) == settings):
                return target, False
        except InfomorphError:
            pass  # a damaged analysis is simply recomputed
    return write_analysis(analyze(run.dir, settings, progress), target), True
