"""One neuron: its atoms over training, its goal terms, its atom table, its receptive field,
and all its figures by name (``neuron_figures``, for the exports).

Plain functions from an analysed layer (``xarray.Dataset`` with dims checkpoint, neuron, atom)
to ``altair`` charts or ``pandas`` tables; the app's neuron page is made of these.
"""

from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd
import xarray as xr

from inspector.atom_classes import atom_classes
from inspector.charts import (
    atom_legend,
    atom_shades,
    checkpoint_atom_frame,
    class_scale,
    finite_max,
)
from inspector.errors import InfomorphError
from inspector.raster import image_chart
from inspector.significance import SIGNIFICANCE, q_values


def check_neuron(ds: xr.Dataset, neuron: int) -> None:
    n = ds.sizes["neuron"]
    if not 0 <= neuron < n:
        raise InfomorphError(
            f"layer {ds.attrs.get('layer', '')} has no neuron {neuron}; it has 0..{n - 1}")


def check_checkpoint(ds: xr.Dataset, step: int) -> None:
    steps = ds.checkpoint.values
    if step not in steps:
        raise InfomorphError(
            f"no checkpoint at step {step}; the analysed steps run from {int(steps[0])} to "
            f"{int(steps[-1])} ({len(steps)} checkpoints)")


def neuron_frame(ds: xr.Dataset, neuron: int, significance: bool = True) -> pd.DataFrame:
    """Long frame of one neuron's atoms over training: checkpoint, atom, class, bits and the
    share of the positive atom mass (negative atoms give negative shares); for analyses
    with shuffles (and ``significance``) also ``q_value``, the atom's Benjamini-Hochberg q
    value over the layer's neurons at that checkpoint (it sorts every neuron's p values:
    views that do not show it pass False)."""
    check_neuron(ds, neuron)
    pid = ds.pid.sel(neuron=neuron).transpose("checkpoint", "atom").values
    positive = np.clip(pid, 0, None).sum(axis=1, keepdims=True)
    share = np.divide(pid, positive, out=np.zeros_like(pid), where=positive > 0)
    frame = checkpoint_atom_frame(ds, bits=pid, share=share)
    if significance and "p_value" in ds:
        q = q_values(ds.p_value).sel(neuron=neuron).transpose("checkpoint", "atom").values
        frame["q_value"] = q.ravel()
    return frame


def neuron_atoms(ds: xr.Dataset, neuron: int, fractions: bool = False) -> alt.Chart:
    """A neuron's atoms over training: lines in bits, or (``fractions``) stacked bars of the
    shares of the positive mass; negative atoms stack below zero instead of being clipped."""
    frame = neuron_frame(ds, neuron, significance=not fractions)  # the bars do not show q
    frame = frame[frame.groupby("atom").bits.transform(lambda v: np.abs(v).max()) > 1e-6]
    # offset: room for the atom labels at the lines' ends
    color = alt.Color("class:N", scale=class_scale(), title="atom class",
                      legend=alt.Legend(offset=0 if fractions else 70))
    tooltip = [alt.Tooltip("atom:N"), alt.Tooltip("class:N"), alt.Tooltip("checkpoint:Q"),
               alt.Tooltip("bits:Q", format=".4f"), alt.Tooltip("share:Q", format=".3f")]
    layer = ds.attrs.get("layer", "")
    if fractions:
        chart = alt.Chart(frame).mark_bar().encode(
            x=alt.X("checkpoint:O", title="training step"),
            y=alt.Y("share:Q", title="share of the positive atom mass", stack="zero"),
            color=color, detail=alt.Detail("atom:N"), order=alt.Order("atom:N"),
            tooltip=tooltip)
        subtitle = "negative atoms stack below zero; atoms below 1e-6 bits left out"
    else:
        base = alt.Chart(frame).encode(x=alt.X("checkpoint:Q", title="training step"),
                                       y=alt.Y("bits:Q", title="bits"),
                                       detail=alt.Detail("atom:N"))
        last = _labelled(frame[frame.checkpoint == frame.checkpoint.max()])
        subtitle = "I^sx atoms in bits; atoms below 1e-6 bits left out"
        if "q_value" in frame:
            # hollow where the atom does not beat the shuffle null: its value may be bias
            # a checkpoint without a null (q NaN) is not marked as failing it
            frame = frame.assign(beats_null=~(frame.q_value >= SIGNIFICANCE))
            tooltip.append(alt.Tooltip("q_value:Q", format=".4f", title="q value"))
            points = alt.Chart(frame).mark_point(filled=False, opacity=1, size=30).encode(
                x="checkpoint:Q", y="bits:Q", detail=alt.Detail("atom:N"), color=color,
                fill=alt.condition("datum.beats_null", alt.Color(
                    "class:N", scale=class_scale(), legend=None), alt.value("white")),
                tooltip=tooltip)
            subtitle = [subtitle, f"hollow points: not beating the shuffle null "
                        f"(q >= {SIGNIFICANCE} over the layer's neurons)"]
            lines = [base.mark_line().encode(color=color), points]
        else:
            lines = [base.mark_line(point=True).encode(color=color, tooltip=tooltip)]
        chart = alt.layer(*lines, alt.Chart(last).mark_text(align="left", dx=4).encode(
            x=alt.X("checkpoint:Q"), y=alt.Y("bits:Q"), text=alt.Text("atom:N"), color=color))
    return chart.properties(title={"text": f"Neuron {neuron} of layer {layer}",
                                   "subtitle": subtitle}, width=520, height=280)


LINE_LABELS = 6
"""At most this many atoms are named at their line's end (the largest |last value|s): a
trivariate neuron's 18 labels piled up into an unreadable block."""


def _labelled(last: pd.DataFrame) -> pd.DataFrame:
    """The rows of the last checkpoint whose atoms get a label: the LINE_LABELS largest by
    |bits|, and of those only the ones at least a tenth of the largest."""
    size = last.bits.abs()
    return last[(size.rank(ascending=False, method="first") <= LINE_LABELS)
                & (size >= 0.1 * size.max())]


def goal_terms_chart(ds: xr.Dataset, neuron: int) -> alt.Chart:
    """gamma_i * Pi_i of one neuron over training, one line per term, with their sum."""
    if "goal_terms" not in ds:
        raise InfomorphError(f"layer {ds.attrs.get('layer', '')} has no goal")
    check_neuron(ds, neuron)
    terms = ds.goal_terms.sel(neuron=neuron)
    frame = terms.to_dataframe(name="bits").reset_index()[["checkpoint", "goal_term", "bits"]]
    total = ds.goal.sel(neuron=neuron).to_dataframe(name="bits").reset_index()
    total["goal_term"] = "goal (sum)"
    frame = pd.concat([frame, total[["checkpoint", "goal_term", "bits"]]], ignore_index=True)
    # The atoms' shades of their class colours, as on the layer page; the default palette
    # repeated its 10 colours over a trivariate goal's 19 terms.
    atoms = [str(a) for a in ds.atom.values]
    shade = dict(zip(atoms, atom_shades(atoms, atom_classes(len(ds.source))), strict=True))
    shade.update({"H_res": "#7F7F7F", "goal (sum)": "#000000"})
    terms = [t for t in [*atoms, "H_res", "goal (sum)"] if t in set(frame.goal_term)]
    return alt.Chart(frame).mark_line().encode(
        x=alt.X("checkpoint:Q", title="training step"), y=alt.Y("bits:Q", title="bits"),
        color=alt.Color("goal_term:N", title="term", sort=terms,
                        scale=alt.Scale(domain=terms, range=[shade[t] for t in terms]),
                        legend=atom_legend(len(terms))),
        strokeDash=alt.condition(alt.datum.goal_term == "goal (sum)", alt.value([1, 0]),
                                 alt.value([4, 2])),
        tooltip=[alt.Tooltip("goal_term:N"), alt.Tooltip("checkpoint:Q"),
                 alt.Tooltip("bits:Q", format=".4f")],
    ).properties(title={"text": f"Goal terms of neuron {neuron}",
                        "subtitle": "gamma_i * Pi_i; the solid line is the goal"},
                 width=520, height=360)


def atom_table_at(ds: xr.Dataset, neuron: int, step: int) -> pd.DataFrame:
    """One row per atom at one checkpoint: class, bits, informative and misinformative
    parts, goal weight and, where the analysis ran shuffles, the shuffle-null p value, its
    Benjamini-Hochberg q value over the layer's neurons at that checkpoint (``q_value``: the
    p value corrected for testing every neuron) and the atom's mean under that null
    (``null_mean``, bits: the estimation bias)."""
    check_neuron(ds, neuron)
    check_checkpoint(ds, step)
    one = ds.sel(neuron=neuron, checkpoint=step)
    goal = json.loads(ds.attrs.get("goal", "{}") or "{}")
    table = pd.DataFrame({
        "atom": [str(a) for a in ds.atom.values],
        "class": atom_classes(len(ds.source)),
        "bits": one.pid.values,
        "informative": one.pid_informative.values,
        "misinformative": one.pid_misinformative.values,
        "goal_weight": [goal.get(str(a), 0.0) for a in ds.atom.values],
    })
    if "p_value" in one:
        table["p_value"] = one.p_value.values
        table["q_value"] = q_values(ds.p_value.sel(checkpoint=step)).sel(neuron=neuron).values
    if "pid_null_mean" in one:
        table["null_mean"] = one.pid_null_mean.values
    return table


def receptive_field(weights: np.ndarray, shape: tuple[int, int], title: str) -> alt.Chart:
    """Feedforward weights of one neuron (inputs,) shown as an image of ``shape``."""
    weights = np.asarray(weights, dtype=float)
    rows, cols = shape
    if weights.size != rows * cols:
        raise InfomorphError(
            f"{weights.size} feedforward weights do not form a {rows}x{cols} image")
    image = weights.reshape(rows, cols)
    return image_chart(image, finite_max(image), x_title="", y_title="",
                       legend_title="weight", width=240,
                       height=round(240 * rows / cols)).properties(title=title)


def neuron_figure_names(ds: xr.Dataset) -> list[str]:
    """The names ``neuron_figures`` gives a neuron of this layer, without drawing any."""
    from inspector.neuron_inputs import map_names

    return ["atoms", *(["goal"] if "goal_terms" in ds else []),
            *map_names([str(s) for s in ds.source.values])]


def neuron_figures(ds: xr.Dataset, neuron: int, step: int,
                   probe: xr.Dataset | None = None) -> dict[str, alt.Chart]:
    """A neuron's figures by name: ``atoms`` over training, ``goal`` terms (where the layer
    has a goal) and, given its ``probe`` data (``storage.Run.neuron``), what it sees at
    ``step``: ``sees-F-C``, ``sees-F-L``, ... (``inspector.neuron_inputs.input_maps``)."""
    from inspector.neuron_inputs import input_maps

    charts = {"atoms": neuron_atoms(ds, neuron)}
    if "goal_terms" in ds:
        charts["goal"] = goal_terms_chart(ds, neuron)
    if probe is not None and ds.sizes["source"] > 1:
        charts.update(input_maps(ds, neuron, step, probe))
    return charts
