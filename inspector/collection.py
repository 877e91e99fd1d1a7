"""Many analysed runs at once: ``load(LOGDIR)`` -> one DataTree with a ``run`` dimension.

Each layer group concatenates the runs along ``run`` (outer join: runs without the layer, of
other hidden sizes or checkpoint schedules hold NaN where they have no value). Run metadata
(preset, dataset, seed, hidden_size; goal per layer, and on the root the first layer's goal;
``settings``, the run's training configuration as JSON without the keys that do not make
it another experiment, ``NOT_SETTINGS``; ``analysis``, each layer's binning, bins, range,
probe samples and target as JSON) are coordinates on ``run``, so
``tree["hidden"].ds.groupby("preset")`` or ``.groupby("seed")`` work directly, and
``inspector.curves.group_names`` tells replicates (runs that differ in their seed only)
from different experiments.
"""

from __future__ import annotations

import heapq
import itertools
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import xarray as xr

from inspector.errors import InfomorphError
from storage import ANALYSIS_FILE, find_runs, open_analysis, open_run

RUN_COORDS = {"preset": "preset", "dataset": "dataset", "seed": "seed", "hidden_size": "hidden"}
"""Coordinate on ``run`` -> analysis attribute it comes from ("hidden" names a layer group)."""

NOT_SETTINGS = frozenset({"seed", "preset", "goal", "readout_goal", "data_dir", "device",
                          "checkpoints", "preset_description", "patterns"})
"""Configuration keys that do not make two runs different experiments: the replicate (seed),
keys shown otherwise (preset, goals: their own coordinates), and where or how often a run was
computed or recorded."""


def _settings(run: Path) -> str:
    """The run's settings as sorted JSON ("{}" when its run file cannot be read)."""
    try:
        config = open_run(run).config
    except (InfomorphError, OSError):
        return "{}"
    return json.dumps({k: v for k, v in config.items() if k not in NOT_SETTINGS},
                      sort_keys=True, default=str)


ESTIMATOR_ATTRS = ("sources", "binning", "bins", "value_range", "n_samples", "target")
"""A layer's analysis attributes that change its estimates or what its atoms mean (a {F} of
sources F, C is not the {F} of F, C, L): runs with other values are not replicates
(``inspector.curves.group_names``)."""


def estimator_attrs(layer_attrs: Mapping) -> dict:
    """The ``ESTIMATOR_ATTRS`` of an analysed layer's attributes (the value range only for
    fixed bins: the other binnings do not use it)."""
    attrs = {k: layer_attrs.get(k) for k in ESTIMATOR_ATTRS}
    if attrs["binning"] != "fixed":
        attrs["value_range"] = None
    return attrs


def _analysis(tree: xr.DataTree) -> str:
    """How each layer of a run was analysed, as sorted JSON {layer: {attr: value}}."""
    return json.dumps({layer: estimator_attrs(node.attrs)
                       for layer, node in tree.children.items()},
                      sort_keys=True, default=lambda v: v.tolist())  # numpy values


def analysed_runs(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Run directories below ``paths`` that have an analysis.nc (sorted, no duplicates)."""
    runs: set[Path] = set()
    for path in paths:
        runs.update(r for r in find_runs(path) if (r / ANALYSIS_FILE).exists())
    return sorted(runs)


LATTICE_DIMS = ("atom", "source", "goal_term")
"""Dimensions whose labels come in the lattice's order (bottom to top, sources as given):
the outer join of runs with different lattices sorts them alphabetically; ``load`` restores
that order (``merged_order``)."""


def merged_order(orders: Iterable[Iterable]) -> list:
    """One order of the labels of several runs that keeps each run's own order: a stable
    topological sort of the runs' orders, ties broken by first appearance, the longest run
    first. Lattices over subsets of the same sources agree on the labels they share (e.g.
    {F}{L}, {F}, {L}, {FL} of F, L sit in that order among the 18 of F, C, L), so the sort
    exists; a conflict (none known) appends the rest in first-appearance order."""
    lists = sorted((list(o) for o in orders), key=len, reverse=True)
    rank = {label: i for i, label in enumerate(dict.fromkeys(x for xs in lists for x in xs))}
    after: dict = {label: set() for label in rank}
    waiting = dict.fromkeys(rank, 0)
    for labels in lists:
        for a, b in itertools.pairwise(labels):
            if b not in after[a]:
                after[a].add(b)
                waiting[b] += 1
    ready = [(rank[x], x) for x in rank if not waiting[x]]
    heapq.heapify(ready)
    out = []
    while ready:
        _, label = heapq.heappop(ready)
        out.append(label)
        for b in after[label]:
            waiting[b] -= 1
            if not waiting[b]:
                heapq.heappush(ready, (rank[b], b))
    return out + [x for x in rank if x not in set(out)]


def json_coordinate(ds: xr.Dataset, name: str) -> list[dict]:
    """A JSON coordinate on ``run`` (``settings``, ``analysis``) as one dict per run; empty
    dicts where the collection has no such coordinate."""
    if name not in ds.coords:
        return [{} for _ in range(ds.sizes.get("run", 0))]
    return [json.loads(str(v) or "{}") for v in ds[name].values]


def run_names(runs: list[Path]) -> list[str]:
    """The ``run`` coordinate of a collection of these run directories: their directory
    names, or where two share a name, the fewest trailing path parts that tell all apart
    (``seed0/a``, ``seed1/a``)."""
    parts = [Path(r).resolve().parts for r in runs]
    for k in range(1, max((len(p) for p in parts), default=1) + 1):
        names = ["/".join(p[-k:]) for p in parts]
        if len(set(names)) == len(names):
            return names
    return [str(r) for r in runs]  # the same directory twice


TABLE_VARIABLES = ("pid", "entropy", "neuron_class", "p_value", "pid_null_mean")
"""The layer variables the tables across runs and the Compare page read
(``inspector.export``, ``inspector.curves``): ``load(..., variables=TABLE_VARIABLES)``
skips pid_informative, pid_misinformative, redundancy and the goal and class summaries
(8 runs of 1000 neurons: 4.1x faster, a third of the memory; bench/collection_load.py)."""


def load(*paths: str | os.PathLike, variables: Iterable[str] | None = None) -> xr.DataTree:
    """All analysed runs below ``paths`` in one DataTree with a ``run`` dimension;
    ``variables``: only these data variables of each layer (all by default)."""
    runs = analysed_runs(paths or (".",))
    if not runs:
        raise InfomorphError(
            f"no analysed runs below {', '.join(map(str, paths))}; run `infomorph analyze` first"
        )
    trees = {name: open_analysis(run, variables=variables)
             for name, run in zip(run_names(runs), runs, strict=True)}
    names = list(trees)
    meta = {
        key: ("run", [trees[n].attrs.get(attr) for n in names]) for key, attr in RUN_COORDS.items()
    }
    paths = dict(zip(trees, runs, strict=True))
    meta["settings"] = ("run", [_settings(paths[n]) for n in names])
    meta["analysis"] = ("run", [_analysis(trees[n]) for n in names])
    groups: dict[str, xr.Dataset] = {}
    root = xr.concat(
        [trees[n].ds for n in names],
        dim="run",
        join="outer",
        coords="minimal",
        compat="override",
        combine_attrs="drop",
    )
    groups["/"] = root.assign_coords(run=names, **meta)
    layers = sorted({child for t in trees.values() for child in t.children})
    for layer in layers:
        have = [n for n in names if layer in trees[n].children]
        parts = [trees[n][layer].ds for n in have]
        ds = xr.concat(
            parts,
            dim="run",
            join="outer",
            coords="minimal",
            compat="override",
            combine_attrs="drop_conflicts",
        )
        # A tree's groups must align with the root: every layer group spans all runs and the
        # root's checkpoints; runs without this layer hold NaN (and goal "").
        ds = ds.assign_coords(run=have).reindex(
            run=names, checkpoint=groups["/"].checkpoint,
            **{dim: merged_order(p[dim].values for p in parts if dim in p.dims)
               for dim in LATTICE_DIMS if dim in ds.dims})
        goals = {n: trees[n][layer].attrs.get("goal", "{}") for n in have}
        groups[layer] = ds.assign_coords(goal=("run", [goals.get(n, "") for n in names]), **meta)
    # The run's goal on the root: its first layer's that has one (what its metrics answer to).
    groups["/"] = groups["/"].assign_coords(goal=("run", [_first_goal(trees[n]) for n in names]))
    return xr.DataTree.from_dict(groups)


def load_metrics(*run_dirs: str | os.PathLike) -> xr.Dataset:
    """The training metrics of runs, analysed or not (from run.h5, live while they train),
    with a ``run`` dimension: variables (run, checkpoint) and the coordinates
    ``inspector.curves.group_names`` needs (preset, seed, settings, goal: the first layer's
    with a goal, as ``load`` puts it on its root). Names as ``load`` gives them."""
    runs = [Path(r) for r in run_dirs]
    if not runs:
        raise InfomorphError("no runs to load")
    names = run_names(runs)
    parts, meta = [], {"preset": [], "seed": [], "goal": []}
    for run_dir in runs:
        run = open_run(run_dir)
        parts.append(xr.Dataset.from_dataframe(run.metrics().rename_axis("checkpoint")))
        meta["preset"].append(run.config.get("preset"))
        meta["seed"].append(run.config.get("seed"))
        goals = [json.dumps(dict(x.goal)) for x in run.spec.layers if x.goal]
        meta["goal"].append(goals[0] if goals else "")
    ds = xr.concat(parts, dim="run", join="outer", coords="minimal", compat="override",
                   combine_attrs="drop")
    return ds.assign_coords(run=names, settings=("run", [_settings(r) for r in runs]),
                            **{k: ("run", v) for k, v in meta.items()})


def _first_goal(tree: xr.DataTree) -> str:
    for child in tree.children:
        goal = tree[child].attrs.get("goal", "{}")
        if goal not in ("", "{}"):
            return goal
    return ""
