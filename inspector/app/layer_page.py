"""Layer page: the layer's atoms over training, its neurons in the class simplex, a neuron x
checkpoint heatmap, goal attainment and accuracy."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from inspector.app import context, data, nav, vega
from inspector.app.route import Route
from inspector.atom_classes import CLASS_RULE
from inspector.charts import (
    HEATMAP_PICK,
    SIMPLEX_PICK,
    largest_atom,
)
from inspector.curves import goal_text, metric_curves
from inspector.export import layer_atoms_at

TABS = ("Neurons x checkpoints", "Goal and accuracy", "Classes over training",
        "Atoms at this checkpoint")
NULL_TAB = "Beating the null over training"
"""A fifth tab for analyses with shuffles."""
COMPOSITION_CHECKPOINTS = 50
"""Checkpoints the composition chart draws at most: drawing 100 checkpoints x 18 atoms took
a browser 0.2-0.6 s more than 50 (docs/benchmarks.md)."""


def first_charts(logdir: str, run: str) -> list[dict]:
    """Build (and cache) what this page draws first for ``run``: its first layer at the last
    checkpoint, unsmoothed, the heatmap of the largest atom. The server calls it before it
    listens (``inspector.app.serve``), so a first visit finds them ready; ``show`` asks for
    the same charts with the same arguments (tested)."""
    tree = data.analysis(logdir, run)
    layer = next(iter(tree.children))
    ds = tree[layer].ds
    step = int(ds.checkpoint.values[-1])
    return [data.chart("composition", logdir, run, layer, 0.0, COMPOSITION_CHECKPOINTS),
            data.chart("simplex", logdir, run, layer, step, True),
            data.chart("heatmap", logdir, run, layer, largest_atom(ds), True, False)]


def _class_counts(ds, step: int) -> pd.DataFrame:
    classes = pd.Series(ds.neuron_class.sel(checkpoint=step).values)
    counts = classes.value_counts().rename_axis("class").reset_index(name="neurons")
    return counts


def _picked_neuron(event, selection: str = SIMPLEX_PICK) -> int | None:
    try:
        points = event.selection[selection]
    except (AttributeError, KeyError, TypeError):
        return None
    if points and "neuron" in points[0]:
        return int(points[0]["neuron"])
    return None


def _open_picked(key: str, selection: str, step: int):
    """on_select callback of a chart: open the clicked neuron's page. As a callback it runs
    before the script, which then draws the neuron page at once (with on_select="rerun" the
    layer page ran once more first, only to read the click)."""

    def open_neuron() -> None:
        picked = _picked_neuron(st.session_state.get(key), selection)
        if picked is not None:
            nav.settle(page="neuron", neuron=picked, checkpoint=step)

    return open_neuron


def show(logdir: str, route: Route) -> None:
    st.header("Layer")
    view = context.layer_view(logdir, route)
    if view is None:
        return
    ds, step = view.ds, view.step
    st.caption(f"{ds.sizes['neuron']} neurons, sources {', '.join(map(str, ds.source.values))}"
               f", goal {goal_text(ds.attrs.get('goal'))}; binning {ds.attrs.get('binning')} with "
               f"{ds.attrs.get('bins')} bins, {ds.attrs.get('n_samples')} probe samples.")
    smooth = context.smoothing("layer-smoothing")

    def chart(kind: str, *args):
        return data.chart(kind, logdir, view.run, view.layer, *args)

    left, right = st.columns(2)
    with left:
        vega.draw(chart("composition", smooth, COMPOSITION_CHECKPOINTS), width="stretch")
        if ds.sizes["checkpoint"] > COMPOSITION_CHECKPOINTS:
            st.caption(f"{COMPOSITION_CHECKPOINTS} of {ds.sizes['checkpoint']} checkpoints "
                       "drawn (evenly spaced); the export has them all.")
    with right:
        key = f"simplex-{view.run}-{view.layer}-{step}"
        vega.draw(chart("simplex", step, True), key=key, width="stretch",
                  on_select=_open_picked(key, SIMPLEX_PICK, step))
        st.caption("Click a neuron to open its page. Shares are of each neuron's positive "
                   "atom mass; mixed-order atoms set the point size, negative mass is in the "
                   "tooltip.")

    tabs = (*TABS, NULL_TAB) if "p_value" in ds else TABS
    heatmap, training, classes, atoms, *null = st.tabs(tabs, key="layer-tab", on_change="rerun")
    # Only the open tab is drawn: each Vega chart costs a browser 0.2-0.5 s of CPU.
    if heatmap.open:
        with heatmap:
            _heatmap_tab(view, chart)
    if training.open:
        with training:
            _training_tab(logdir, view, chart, smooth)
    if classes.open:
        with classes:
            left, right = st.columns(2)  # full width would flatten the chart to ~70 px
            vega.draw(chart("classes"), left, width="stretch")
            right.caption(f"Classes: {CLASS_RULE}. The neurons of each class at one "
                          "checkpoint: the simplex above, or the table of the first tab.")
    if null and null[0].open:
        with null[0]:
            left, right = st.columns(2)
            vega.draw(chart("significance"), left, width="stretch")
            right.caption("Per atom, the share of the layer's neurons whose atom beats the "
                          "shuffle null at a 5 % false discovery rate, at every checkpoint: "
                          "when in training an atom stops being estimation bias.")
            with right:
                context.few_shuffles(ds)
    if atoms.open:
        with atoms:
            table = layer_atoms_at(view.ds, view.step)
            st.dataframe(table, hide_index=True, width="stretch",
                         column_config=context.numbers(table.columns))
            st.caption("Over the layer's neurons at the chosen checkpoint, in bits. "
                       + ("significant_share: neurons whose atom beats the shuffle null "
                          "(p < 0.05; about 5 % of the neurons pass by chance); _fdr: the "
                          "same at a false discovery rate of 5 % (Benjamini-Hochberg q < "
                          "0.05 over the neurons); null_mean_bits: the atom under that null, "
                          "the estimation bias." if "p_value" in view.ds else
                          "Analyse with `--shuffles 100` for significance and bias."))
            context.few_shuffles(view.ds)


def _heatmap_tab(view: context.LayerView, chart) -> None:
    ds, step = view.ds, view.step
    left, right = st.columns(2)
    with left:
        atoms = [str(a) for a in ds.atom.values]
        atom = nav.pick("Heatmap atom", atoms, largest_atom(ds), key="heatmap-atom")
        tested = "p_value" in ds and st.toggle(
            "Only cells beating the shuffle null", key="heatmap-significant",
            help="Grey where the atom's q value (Benjamini-Hochberg over the neurons at "
                 "that checkpoint) is 0.05 or more.")
        key = f"heatmap-{view.run}-{view.layer}-{atom}"
        vega.draw(chart("heatmap", atom, True, bool(tested)), key=key, width="stretch",
                  on_select=_open_picked(key, HEATMAP_PICK, step))
        st.caption("Hover a row for its neurons; click it to open its (first) neuron.")
    with right:
        st.write("Neuron classes at this checkpoint")
        # a static table: Streamlit's interactive grid costs a browser ~0.5 s to set up,
        # too much for three rows
        st.table(_class_counts(ds, step).set_index("class"))
        st.number_input("Neuron", 0, ds.sizes["neuron"] - 1, 0, key="neuron-number")
        st.button("Open neuron page", key="open-neuron", **nav.on_click(
            {"neuron": ("neuron-number", int)}, page="neuron", checkpoint=step))


def _training_tab(logdir: str, view: context.LayerView, chart, smooth: float) -> None:
    left, right = st.columns(2)
    with left:
        if "goal_attainment" in view.ds:
            vega.draw(chart("goal", smooth), width="stretch")
        else:
            st.info("This layer trains without a local goal (no goal attainment).")
    with right:
        metrics = data.metrics(logdir, view.run)
        accuracy = [c for c in metrics.columns if c.endswith("accuracy")]
        recall = [c for c in metrics.columns if c.startswith("recall")]
        if accuracy or recall:
            vega.draw(metric_curves(metrics, accuracy or recall, smooth,
                                    title="Accuracy" if accuracy else "Recall"),
                      width="stretch")
        else:
            st.info("This run records no accuracy.")
