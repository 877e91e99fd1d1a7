"""Neuron page (deep link ``?run=&layer=&neuron=&checkpoint=``): one neuron's atoms over
training, its class, goal terms, the significance of each atom, its receptive field and what
it sees (its binned inputs and firing probability)."""

from __future__ import annotations

import altair as alt
import streamlit as st

from inspector.app import context, data, nav, vega
from inspector.app.route import Route
from inspector.atom_classes import ATOM_CLASSES, CLASS_RULE
from inspector.errors import InfomorphError
from inspector.neuron_charts import (
    atom_table_at,
    check_neuron,
    receptive_field,
)
from inspector.neuron_inputs import input_maps


def _image_shape(config: dict, inputs: int) -> tuple[int, int] | None:
    """The data's image shape when the feedforward input is the image (not another layer)."""
    shape = config.get("image_shape")
    if shape and len(shape) == 2 and shape[0] * shape[1] == inputs:
        return int(shape[0]), int(shape[1])
    return None


def show(logdir: str, route: Route) -> None:
    st.header("Neuron")
    view = context.layer_view(logdir, route)
    if view is None:
        return
    ds, step = view.ds, view.step
    n = ds.sizes["neuron"]
    neuron = 0 if route.neuron is None else route.neuron
    check_neuron(ds, neuron)

    cols = st.columns([1, 1, 1, 3])
    cols[0].button("◀ previous", disabled=neuron == 0, key="prev",
                   **nav.on_click(neuron=neuron - 1))
    cols[1].button("next ▶", disabled=neuron == n - 1, key="next",
                   **nav.on_click(neuron=neuron + 1))
    chosen = cols[2].number_input("Neuron", 0, n - 1, neuron, key=f"neuron-{neuron}")
    if chosen != neuron:
        nav.go(neuron=int(chosen))
    cols[3].markdown(f"Link to this view: [{view.run} / {view.layer} / neuron {neuron} / step "
                     f"{step}]({nav.link(Route('neuron', view.run, view.layer, neuron, step))})")

    one = ds.sel(neuron=neuron, checkpoint=step)
    fractions = one.class_fraction
    st.subheader(f"Neuron {neuron} of layer {view.layer} at step {step}: "
                 f"{one.neuron_class.values!s}")
    # Two rows of four: seven metrics in one row cut their values short ("0.405…").
    for col, name in zip(st.columns(len(ATOM_CLASSES)), ATOM_CLASSES, strict=True):
        col.metric(f"{name} share", f"{float(fractions.sel(atom_class=name)):.2f}")
    bits = {"I(Y; sources)": one.mutual_information, "H(Y)": one.entropy,
            "negative mass": one.negative_bits}
    if "goal" in one:
        bits["goal"] = one.goal
    for col, (label, value) in zip(st.columns(4), bits.items(), strict=False):
        col.metric(label, f"{float(value):.4f} bits")
    st.caption(f"Class: {CLASS_RULE}; shares are of the positive mass.")

    left, right = st.columns(2)
    with left:
        absolute, shares = st.tabs(["bits", "shares"])
        vega.draw(data.chart("neuron_atoms", logdir, view.run, view.layer, neuron), absolute,
                  width="stretch")
        vega.draw(data.chart("neuron_atoms", logdir, view.run, view.layer, neuron, True), shares,
                  width="stretch")
    with right:
        if "goal_terms" in ds:
            vega.draw(data.chart("goal_terms", logdir, view.run, view.layer, neuron),
                      width="stretch")
        else:
            st.info("This layer trains without a local goal.")

    # The table at full width: its nine columns were cut off beside the receptive field.
    table = atom_table_at(ds, neuron, step)
    st.write(f"Atoms at step {step} (bits)")
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config=context.numbers(table.columns, (
                     "bits", "informative", "p_value", "q_value", "null_mean")))
    if "p_value" in table:
        st.caption(f"p value: shuffle null ({ds.attrs.get('shuffles')} permutations of the "
                   "target within the probe set); small p means the atom is more than "
                   "estimation bias. q value: p corrected for testing every neuron of the "
                   "layer (Benjamini-Hochberg; q < 0.05 keeps false discoveries under 5 %). "
                   "null_mean: the atom's mean under that null, the bias itself (bits).")
        context.few_shuffles(ds)
    else:
        st.caption("No significance: the analysis ran without shuffles. Re-run it with "
                   "`infomorph analyze RUN --shuffles 100 --force`.")
    _inputs(logdir, view, neuron, step)


def _inputs(logdir: str, view, neuron: int, step: int) -> None:
    """What the neuron sees: its receptive field on image data, and the table its atoms are
    computed from, one pair of sources at a time; two charts a row at their own size
    (square cells: stretched, the rows were squashed)."""
    st.subheader(f"What neuron {neuron} sees at step {step}")
    charts, notes = [], []
    field = _receptive_field(logdir, view, neuron, step)
    (notes if isinstance(field, str) else charts).append(field)
    if view.ds.sizes["source"] > 1:
        try:
            charts.extend(input_maps(view.ds, neuron, step,  # the subheader names the step
                                     data.neuron_probe(logdir, view.run, view.layer, neuron),
                                     title="{pair} of neuron {neuron}").values())
            st.caption("Each source binned as the analysis did; colour: how likely the neuron "
                       "fires in each cell. A neuron driven by the first source alone changes "
                       "colour along x only; one that needs both, along both.")
        except InfomorphError as err:
            notes.append(f"No inputs to show: {err}")
    for first in range(0, len(charts), 2):
        for col, chart in zip(st.columns(2), charts[first:first + 2], strict=False):
            vega.draw_square(chart, col)
    for note in notes:
        st.caption(note)


def _receptive_field(logdir: str, view, neuron: int, step: int) -> alt.Chart | str:
    """The neuron's feedforward weights as an image, or why there is none."""
    try:
        weights = data.feedforward(logdir, view.run, view.layer, step)
    except InfomorphError as err:
        return f"No receptive field: {err}"
    if weights is None:
        return "No receptive field: this layer has no feedforward weights."
    shape = _image_shape(data.config(logdir, view.run), weights.shape[1])
    if shape is None:
        return (f"No receptive field: the feedforward input ({weights.shape[1]} values) is "
                "not an image.")
    return receptive_field(weights[neuron], shape,
                           f"Receptive field (feedforward weights) at step {step}")
