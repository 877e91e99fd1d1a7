"""Compare page: runs grouped by preset (and goal and settings), seeds as mean ± s.d. bands."""

from __future__ import annotations

from pathlib import Path

import streamlit as st
import xarray as xr

from inspector.app import context, data, nav, vega
from inspector.app.route import Route
from inspector.atom_classes import NEURON_CLASSES
from inspector.charts import class_shares, estimates_text
from inspector.collection import run_names
from inspector.curves import (
    group_names,
    layer_means,
    layer_significance,
    metric_frame,
    seed_bands,
)
from inspector.errors import InfomorphError
from inspector.export import atom_table, class_table, common_steps
from inspector.logdir import READABLE_ANALYSIS


def chosen_runs(logdir: str, route: Route, key: str, analysed_only: bool = True) -> list[str]:
    """The runs the URL names (all of them when it names none), among the analysed runs, or
    with ``analysed_only=False`` among every readable run."""
    states = context.analysis_states(logdir)
    readable = [e.name for e in data.entries(logdir) if not e.error]
    names = [n for n in readable if not analysed_only or states[n] in READABLE_ANALYSIS]
    kind = "analysed run" if analysed_only else "run"
    unknown = [r for r in route.runs if r not in names]
    if unknown:
        raise InfomorphError(f"no {kind} named {', '.join(map(repr, unknown))} in this LOGDIR")
    if not names:
        st.info(f"No {kind} in this LOGDIR" + (": analyse runs on the Runs page."
                                               if analysed_only else "."))
        return []
    waiting = [n for n in readable if states[n] not in READABLE_ANALYSIS]
    if analysed_only and waiting:
        st.caption(f"{len(waiting)} run(s) without a readable analysis are not listed: "
                   "analyse them on the Runs page to use them here.")
    picked = st.multiselect("Runs", names, default=list(route.runs) or names,
                            key=f"{key}-{','.join(route.runs)}")
    # Emptying the picker goes back to all runs (an empty URL means all).
    if tuple(picked) != (route.runs or tuple(names)):
        nav.go(runs=tuple(picked))
    return picked


def show(logdir: str, route: Route) -> None:
    st.header("Compare")
    # Metrics come from the run files: runs without an analysis are compared on them too.
    runs = chosen_runs(logdir, route, "compare", analysed_only=False)
    if not runs:
        return
    states = context.analysis_states(logdir)
    analysed = [r for r in runs if states[r] in READABLE_ANALYSIS]
    root, tree = _named(data.metrics_collection(logdir, runs),
                        data.collection(logdir, analysed) if analysed else None,
                        runs, {r: data.resolve(logdir, r) for r in analysed})
    smooth = context.smoothing("compare-smoothing")
    groups = sorted(set(group_names(root)))
    st.caption(f"{_count(len(runs), 'run')} in {_count(len(groups), 'group')}; bands are "
               "mean ± s.d. over the runs of each group (runs that differ only in their seed).")
    if len(analysed) < len(runs):
        st.caption(f"{len(runs) - len(analysed)} of these runs have no readable analysis: "
                   "their metrics are drawn, their atoms and classes are not (analyse them "
                   "on the Runs page).")

    left, right = st.columns(2)
    with left:
        metrics = [m for m in root.data_vars if root[m].dims == ("run", "checkpoint")
                   and m not in ("epoch", "wall_time") and bool(root[m].notnull().any())]
        default = "test_accuracy" if "test_accuracy" in metrics else metrics[0]
        metric = nav.pick("Metric", metrics, default, key="compare-metric")
        vega.draw(seed_bands(metric_frame(root, metric), "value", title=metric,
                             y_title=metric, smoothing=smooth, groups=groups),
                  width="stretch")
    if tree is None:
        return
    with right:
        layer = nav.pick("Layer", list(tree.children), None, key="compare-layer")
        ds = tree[layer].ds
        atoms = [str(a) for a in ds.atom.values]
        atom = nav.pick("Atom", atoms, atoms[0], key=f"compare-atom-{layer}")
        shares = "p_value" in ds and st.toggle(
            "Share of neurons beating the shuffle null", key="compare-significance",
            help="Instead of the layer mean: the share of each run's neurons whose atom has a "
                 "Benjamini-Hochberg q < 0.05 (runs analysed with --shuffles).")
        if shares:
            chart = seed_bands(layer_significance(ds, atom), "value",
                               title=f"{atom} of layer {layer}: neurons beating the null",
                               y_title="share of the layer's neurons (q < 0.05)",
                               smoothing=smooth, groups=groups,
                               estimates=estimates_text(ds, layer))
        else:
            chart = seed_bands(layer_means(ds, atom), "value",
                               title=f"{atom} of layer {layer} (layer mean)",
                               y_title="bits", smoothing=smooth, groups=groups,
                               estimates=estimates_text(ds, layer))
        vega.draw(chart, width="stretch")
    steps = common_steps(tree)
    step = "last"
    if steps:  # steps all chosen runs were analysed at: compare them at one stage too
        step = st.select_slider("Checkpoint of the tables (training step)",
                                ["last", *steps], value="last", key="compare-step",
                                help="last: each run's last analysed checkpoint")
    where = "each run's last checkpoint" if step == "last" else f"step {step}"
    st.subheader(f"Neuron classes at {where}")
    classes = class_table(tree, step)
    vega.draw(class_shares(classes, layer, estimates_text(ds, layer)), width="stretch")
    st.dataframe(_wide_classes(classes, layer), width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.3f")
                                for c in NEURON_CLASSES})
    st.subheader(f"Atoms at {where}")
    atoms = _compact_atoms(atom_table(tree, step), layer)
    st.dataframe(atoms, hide_index=True, width="stretch",
                 column_config=context.numbers(atoms.columns))
    st.caption(f"Layer {layer}: mean ± s.d. over each group's runs of the layer-mean atom "
               "(bits); significant_share: neurons beating the shuffle null at p < 0.05, _fdr: "
               "at a 5 % false discovery rate; null_mean_bits: the bias. Every column and "
               "layer: the Export page's atom table.")


def _named(root: xr.Dataset, tree: xr.DataTree | None, runs: list[str],
           analysed: dict[str, Path]) -> tuple[xr.Dataset, xr.DataTree | None]:
    """The metrics of all chosen ``runs`` and the analyses of some (``analysed``: LOGDIR name
    -> run directory), with one ``group`` coordinate. Group names depend on the runs compared
    (a setting in which only some differ), so they are made once, over all chosen runs and
    their analyses, and every chart and table takes them from there: one name and one colour
    per group everywhere."""
    if tree is None:
        return root.assign_coords(group=("run", group_names(root))), None
    # collection.load names the runs of its sorted directories with run_names
    by_path = {path: name for name, path in analysed.items()}
    paths = sorted(by_path)
    logdir_name = dict(zip(run_names(paths), (by_path[p] for p in paths), strict=True))
    tree_runs = [logdir_name[str(r)] for r in tree.ds.run.values]
    analysis = dict(zip(tree_runs, map(str, tree.ds.analysis.values), strict=True))
    root = root.assign_coords(analysis=("run", [analysis.get(r, "{}") for r in runs]))
    group = dict(zip(runs, group_names(root), strict=True))
    names = ("run", [group[r] for r in tree_runs])
    tree = xr.DataTree.from_dict({"/": tree.ds.assign_coords(group=names),
                                  **{k: v.ds.assign_coords(group=names)
                                     for k, v in tree.children.items()}})
    return root.assign_coords(group=("run", [group[r] for r in runs])), tree


def _compact_atoms(table, layer: str):
    """The atom table of one layer without what the group name already says (preset, goal)
    and with the lattice's sources only where they differ between groups."""
    rows = table[table.layer == layer].drop(columns=["preset", "goal", "layer"])
    return rows.drop(columns=["sources"]) if rows.sources.nunique() <= 1 else rows


def _wide_classes(classes, layer: str):
    """One row per group: the mean share of each class over its runs, and the runs (n)."""
    rows = classes[classes.layer == layer]
    wide = rows.pivot(index="group", columns="neuron_class", values="mean_share")
    wide = wide.reindex(index=list(dict.fromkeys(rows.group)), columns=list(NEURON_CLASSES))
    return wide.assign(runs=rows.groupby("group").n.max())


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
