"""Export page: the tables and figures of ``infomorph export`` as downloads."""

from __future__ import annotations

import streamlit as st

from inspector.app import data, nav, vega
from inspector.app.compare_page import chosen_runs
from inspector.app.route import Route
from inspector.charts import (
    atom_composition,
    atom_heatmap,
    chart_bytes,
    class_simplex,
    class_timeline,
    largest_atom,
)
from inspector.export import atom_table, class_table, neuron_table, provenance, write_table

FIGURES = {"composition": "atom composition over training", "simplex": "class simplex",
           "heatmap": "neuron x checkpoint heatmap", "classes": "neuron classes over training"}
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
    table = atom_table(tree)
    meta = provenance(tree, "last")
    for name, kind, build in (("Atom", "atoms", lambda: table),
                              ("Class", "classes", lambda: class_table(tree))):
        frame = build()
        for col, fmt in zip(st.columns(4), ("csv", "latex", "markdown"), strict=False):
            col.download_button(f"{name} table ({fmt})", write_table(frame, meta, fmt, None),
                                file_name=f"{kind}.{SUFFIX[fmt]}", mime=MIME[fmt],
                                key=f"table-{kind}-{fmt}")
    st.download_button("Neuron table (csv)", write_table(neuron_table(tree), meta, "csv", None),
                       file_name="neurons.csv", mime=MIME["csv"], key="table-neurons")
    st.dataframe(table, hide_index=True, width="stretch")

    st.subheader("Figures")
    cols = st.columns(4)
    run = nav.pick("Run", runs, route.run if route.run in runs else runs[0], key="fig-run")
    analysis = data.analysis(logdir, run)
    layer = cols[0].selectbox("Layer", list(analysis.children), key="fig-layer")
    kind = cols[1].selectbox("Figure", list(FIGURES), format_func=FIGURES.__getitem__,
                             key="fig-kind")
    fmt = cols[2].selectbox("Format", ("svg", "png", "pdf"), key="fig-format")
    ds = analysis[layer].ds
    chart = {"composition": lambda: atom_composition(ds),
             "simplex": lambda: class_simplex(ds),
             "heatmap": lambda: atom_heatmap(ds, largest_atom(ds)),
             "classes": lambda: class_timeline(ds)}[kind]()
    # Rendering runs vl-convert; only on request, not on every rerun of the page.
    if cols[3].button("Render figure", key="fig-render"):
        st.session_state["figure"] = (run, layer, kind, fmt, chart_bytes(chart, fmt))
    ready = st.session_state.get("figure")
    if ready and ready[:4] == (run, layer, kind, fmt):
        st.download_button(f"Download {kind}.{fmt}", ready[4],
                           file_name=f"{run.replace('/', '-')}-{layer}-{kind}.{fmt}",
                           mime=MIME[fmt], key="fig-download")
    vega.draw(chart)
