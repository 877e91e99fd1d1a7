"""The run / layer / checkpoint pickers that the layer and neuron pages share.

Each picker shows what the URL names and writes a change back to the URL. A URL naming
something that does not exist is an InfomorphError (shown in the page by ``main``).
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
import xarray as xr

from inspector.app import data, nav
from inspector.app.route import Route
from inspector.errors import InfomorphError
from inspector.logdir import READABLE_ANALYSIS


@dataclass(frozen=True)
class LayerView:
    run: str
    tree: xr.DataTree
    layer: str
    ds: xr.Dataset
    step: int


def analysis_states(logdir: str) -> dict[str, str]:
    """Run name -> the state of its analysis (``inspector.logdir.ANALYSIS_STATES``)."""
    return {e.name: e.analysis for e in data.entries(logdir)}


def analysed(logdir: str) -> list[str]:
    return [name for name, state in analysis_states(logdir).items()
            if state in READABLE_ANALYSIS]


def analyse(logdir: str, runs: list[str], **given) -> None:
    """Analyse runs (again) with the settings of their last analysis, or the defaults, with
    the ``given`` ones replaced (``analysis.settings_for``); one line per failure, a rerun
    when all went well."""
    from inspector.analysis import analyze_run, settings_for

    bar = st.progress(0.0, text="Analysing…")
    failed = []
    for i, name in enumerate(runs):
        path = data.resolve(logdir, name)
        try:
            analyze_run(path, settings_for(path, **given), force=True)
        except InfomorphError as err:
            failed.append(f"{name}: {err}")
        bar.progress((i + 1) / len(runs), text=f"Analysed {i + 1} of {len(runs)}")
    for line in failed:
        st.error(line)
    if not failed:
        st.rerun()


def layer_view(logdir: str, route: Route) -> LayerView | None:
    """Pickers for run, layer and checkpoint; None (with a message) when there is nothing."""
    states = analysis_states(logdir)
    names = [name for name, state in states.items() if state in READABLE_ANALYSIS]
    if route.run is not None and route.run not in states:
        raise InfomorphError(f"no run named {route.run!r} in this LOGDIR")
    if route.run is not None and route.run not in names:
        state = states[route.run]
        error = next(e.error for e in data.entries(logdir) if e.name == route.run)
        if error:  # run.h5 itself is damaged: analysing it again cannot help
            st.error(f"Run {route.run!r} cannot be read: {error}")
            return None
        st.warning(f"Run {route.run!r} has no analysis yet." if state != "unreadable" else
                   f"Run {route.run!r} has no readable analysis (analysis.nc is damaged).")
        if st.button("Analyse it now", key="analyse-one"):
            analyse(logdir, [route.run])
        return None
    if not names:
        st.info("No analysed run in this LOGDIR: analyse runs on the Runs page "
                "(or with `infomorph analyze LOGDIR`).")
        return None
    cols = st.columns([3, 1, 2])
    with cols[0]:
        run = nav.pick("Run", names, route.run, key="run")
    if route.run is None:
        nav.settle(run=run)
    elif run != route.run:
        # another run has other layers and checkpoints: start from its defaults
        nav.go(run=run, layer=None, neuron=None, checkpoint=None)
    tree = data.analysis(logdir, run)
    layers = list(tree.children)
    if route.layer is not None and route.layer not in layers:
        raise InfomorphError(
            f"run {run} has no layer {route.layer!r}; it has: {', '.join(layers)}")
    with cols[1]:
        layer = nav.pick("Layer", layers, route.layer, key="layer")
    nav.follow("layer", layer, route.layer)
    ds = tree[layer].ds
    steps = [int(s) for s in ds.checkpoint.values]
    if route.checkpoint is not None and route.checkpoint not in steps:
        raise InfomorphError(
            f"run {run} has no analysed checkpoint at step {route.checkpoint}; the steps run "
            f"from {steps[0]} to {steps[-1]} ({len(steps)} checkpoints)")
    with cols[2]:
        current = steps[-1] if route.checkpoint is None else route.checkpoint
        step = st.select_slider("Checkpoint (training step)", steps, value=current,
                                key=f"checkpoint-{current}")
    if step != current:
        nav.go(checkpoint=step)
    if states[run] == "stale":
        left, right = st.columns([4, 1])
        left.info("This run has changed since it was analysed (it may still be training): "
                  f"the analysis covers steps up to {steps[-1]}.")
        if right.button("Re-analyse", key="reanalyse"):
            analyse(logdir, [run])
    return LayerView(run=run, tree=tree, layer=layer, ds=ds, step=step)


def few_shuffles(ds) -> None:
    """Warn when an analysis ran too few shuffles to show significance
    (``significance.too_few_shuffles``), else say what its false discovery rate can show
    (``significance.fdr_note``)."""
    from inspector.significance import fdr_note, too_few_shuffles

    shuffles = int(ds.attrs.get("shuffles", 0) or 0)
    note = too_few_shuffles(shuffles)
    if note:
        st.warning(note[0].upper() + note[1:] + " (re-analyse).")
    elif note := fdr_note(shuffles, ds.sizes["neuron"]):
        st.caption(note[0].upper() + note[1:] + ".")


def smoothing(key: str) -> float:
    return st.slider("Smoothing", 0.0, 0.99, 0.0, 0.01, key=key,
                     help="exponential moving average, as in TensorBoard")


def numbers(columns, suffixes=("_bits", "_share", "_fdr")) -> dict:
    """``st.dataframe`` column configs: bits, shares and q-based shares with 4 decimals
    (Streamlit's default shows floats' full repr, 17 digits of estimation noise)."""
    return {c: st.column_config.NumberColumn(format="%.4f")
            for c in columns if str(c).endswith(tuple(suffixes))}
