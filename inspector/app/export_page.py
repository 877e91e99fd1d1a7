"""Export page: the tables and figures of ``infomorph export`` as downloads."""

from __future__ import annotations

import streamlit as st

from inspector.app import context, data, nav, vega
from inspector.app.compare_page import chosen_runs
from inspector.app.route import Route
from inspector.charts import (
    LAYER_FIGURES,
    chart_bytes,
    class_shares,
    estimates_text,
    layer_figure,
    layer_figure_names,
)
from inspector.curves import compared_metrics, metric_frame, seed_bands
from inspector.errors import InfomorphError
from inspector.export import atom_table, class_table, neuron_table, provenance, write_table
from inspector.neuron_charts import neuron_figure_names, neuron_figures

MIME = {"csv": "text/csv", "markdown": "text/markdown", "latex": "application/x-tex",
        "svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf"}
SUFFIX = {"csv": "csv", "markdown": "md", "latex": "tex"}


def show(logdir: str, route: Route) -> None:
    st.header("Export")
    runs = chosen_runs(logdir, route, "export")
    if not runs:
        return
    tree = data.collection(logdir, runs)
    st.subheader("Tables")
    st.caption("Mean ± s.d. over the runs of each preset of the layer-mean atoms, in bits, at "
               "each run's last checkpoint; the class table gives the share of each layer's "
               "neurons per class, the per-neuron table every neuron's atoms. CSV files start "
               "with a `#` provenance header.")
    table, classes = atom_table(tree), class_table(tree)
    meta = provenance(tree, "last")
    # Files are written on click (a callable), not on every rerun: the neuron table of many
    # runs of 1000 neurons is millions of rows.
    for name, kind, frame in (("Atom", "atoms", table), ("Class", "classes", classes)):
        for col, fmt in zip(st.columns(4), ("csv", "latex", "markdown"), strict=False):
            col.download_button(f"{name} table ({fmt})",
                                lambda frame=frame, fmt=fmt: write_table(frame, meta, fmt, None),
                                file_name=f"{kind}.{SUFFIX[fmt]}", mime=MIME[fmt],
                                key=f"table-{kind}-{fmt}")
    st.download_button("Neuron table (csv)",
                       lambda: write_table(neuron_table(tree), meta, "csv", None),
                       file_name="neurons.csv", mime=MIME["csv"], key="table-neurons")
    # the goal (long JSON) last: the atoms' numbers come first on screen
    st.dataframe(table[[c for c in table.columns if c != "goal"] + ["goal"]], hide_index=True,
                 width="stretch",
                 column_config=context.numbers(table.columns))

    st.subheader("Figures")
    cols = st.columns(4)
    run = nav.pick("Run", runs, route.run if route.run in runs else runs[0], key="fig-run")
    analysis = data.analysis(logdir, run)
    layer = cols[0].selectbox("Layer", list(analysis.children), key="fig-layer")
    kind = cols[1].selectbox("Figure", layer_figure_names(analysis[layer].ds),
                             format_func=LAYER_FIGURES.__getitem__, key="fig-kind")
    fmt = cols[2].selectbox("Format", ("svg", "png", "pdf"), key="fig-format")
    ds = analysis[layer].ds
    tested = kind == "heatmap" and "p_value" in ds and st.toggle(
        "Only cells beating the shuffle null", key="fig-significant",
        help="As `infomorph export --significant-only`: grey where the atom's q value "
             "(Benjamini-Hochberg over the neurons at that checkpoint) is 0.05 or more.")
    chart = layer_figure(ds, kind, significant_only=bool(tested))
    _render_button(cols[3], "fig", (run, layer, kind, fmt, bool(tested)), chart, fmt,
                   f"{run.replace('/', '-')}-{layer}-{kind}.{fmt}", f"{kind}.{fmt}")
    vega.draw(chart)
    _neuron_figures(logdir, run, layer, ds, fmt)

    st.subheader("Figures across runs")
    st.caption("Groups of runs that differ only in their seed, as on the Compare page.")
    root = tree.ds
    options = {f"classes-{layer}": f"neuron classes per group, layer {layer}"
               for layer in dict.fromkeys(classes.layer)}
    options.update({metric: f"{metric} over training per group"
                    for metric in compared_metrics(root)})
    cols = st.columns([2, 1, 1])  # the figure names are long
    name = cols[0].selectbox("Figure", list(options), format_func=options.__getitem__,
                             key="across-kind")
    fmt = cols[1].selectbox("Format", ("svg", "png", "pdf"), key="across-format")
    if name.startswith("classes-"):
        layer = name.removeprefix("classes-")
        chart = class_shares(classes, layer, estimates_text(tree[layer].ds, layer))
    else:
        chart = seed_bands(metric_frame(root, name), "value", title=name, y_title=name)
    _render_button(cols[2], "across", (tuple(runs), name, fmt), chart, fmt, f"{name}.{fmt}",
                   f"{name}.{fmt}")
    vega.draw(chart)


def _neuron_figures(logdir: str, run: str, layer: str, ds, fmt: str) -> None:
    """One neuron's figures of the chosen run and layer at its last analysed checkpoint, as
    ``infomorph export --neuron N`` writes them."""
    st.write("A neuron's figures")
    cols = st.columns(4)
    neuron = int(cols[0].number_input("Neuron", 0, ds.sizes["neuron"] - 1, 0,
                                      key="fig-neuron"))
    step = int(ds.checkpoint[-1])
    name = cols[1].selectbox("Figure", neuron_figure_names(ds), key=f"fig-neuron-kind-{layer}")
    probe = None
    if name.startswith("sees-"):  # only these read run.h5 (and import torch to bin)
        try:
            probe = data.neuron_probe(logdir, run, layer, neuron)
        except InfomorphError as err:
            st.caption(f"No input maps: {err}")
            return
    figures = neuron_figures(ds, neuron, step, probe)
    file_name = f"{run.replace('/', '-')}-{layer}-neuron{neuron}-{name}.{fmt}"
    _render_button(cols[3], "neuron-fig", (run, layer, neuron, name, fmt), figures[name], fmt,
                   file_name, f"neuron{neuron}-{name}.{fmt}")


def _render_button(where, key: str, what: tuple, chart, fmt: str, file_name: str,
                   label: str) -> None:
    """A "Render figure" button, then the download of what it rendered while the choice
    (``what``) stays the same. Rendering runs vl-convert: only on request, not on every rerun
    of the page."""
    if where.button("Render figure", key=f"{key}-render"):
        st.session_state[key] = (what, chart_bytes(chart, fmt))
    ready = st.session_state.get(key)
    if ready and ready[0] == what:
        st.download_button(f"Download {label}", ready[1], file_name=file_name,
                           mime=MIME[fmt], key=f"{key}-download")
