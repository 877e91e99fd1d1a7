"""Chart builders: plain functions from an analysed layer (xarray) to ``altair.Chart``.

Shared by ``infomorph export`` and the inspector app. Charts send aggregated data only
(at most about 50k marks), colour atoms by class with one palette used everywhere, and say
how they treat negative atoms: shares are of the positive mass, the negative mass is shown
beside it, never clipped away silently. Every chart's subtitle names the probe samples and bins.
"""

from __future__ import annotations

import math
import os
import threading
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import xarray as xr

from inspector.atom_classes import (
    ATOM_CLASSES,
    NEURON_CLASSES,
    atom_classes,
    neuron_class_shares,
)
from inspector.errors import InfomorphError
from inspector.raster import block_mean, image_chart

CLASS_COLORS = {"unique": "#4C78A8", "redundant": "#F58518", "synergistic": "#54A24B",
                "mixed": "#B279A2", "none": "#BAB0AC"}
MAX_MARKS = 50_000
HEATMAP_ROWS = 300
HEATMAP_COLUMNS = 520
"""At most this many neuron rows x checkpoint columns in a heatmap: one pixel each at its
size of 520 x 300 px; more are averaged into blocks (``inspector.raster.block_mean``)."""
FIGURE_FORMATS = ("svg", "png", "pdf")
ALTAIR_GLOBALS = threading.Lock()
"""Held while altair's process-wide settings (active data transformer, its options, theme)
are changed for one conversion: the app converts charts in several script threads at once
(``inspector.app.vega`` and the figure downloads here)."""


def class_scale() -> alt.Scale:
    return alt.Scale(domain=list(CLASS_COLORS), range=list(CLASS_COLORS.values()))


def _subtitle(ds: xr.Dataset) -> str:
    return (f"{ds.attrs.get('n_samples', '?')} probe samples, {ds.attrs.get('bins', '?')} bins "
            f"per source ({ds.attrs.get('binning', '?')}), I^sx in bits")


def estimates_text(ds: xr.Dataset, layer: str) -> str:
    """``_subtitle`` for one layer of a ``load``-ed collection: each value the runs have, e.g.
    "359, 2048 probe samples, 20 bins per source (fixed), I^sx in bits"."""
    from inspector.collection import json_coordinate

    attrs = [a[layer] for a in json_coordinate(ds, "analysis") if layer in a]

    def values(key: str) -> str:
        return ", ".join(str(v) for v in dict.fromkeys(a.get(key, "?") for a in attrs)) or "?"

    return (f"{values('n_samples')} probe samples, {values('bins')} bins per source "
            f"({values('binning')}), I^sx in bits")


def finite_max(values: np.ndarray) -> float:
    """Largest finite |value|, 1.0 when there is none: the half-width of a diverging scale."""
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size and finite.max() > 0 else 1.0


def largest_atom(ds: xr.Dataset) -> str:
    """The atom with the largest |layer mean| at the last checkpoint (a default to show)."""
    means = np.abs(ds.pid.isel(checkpoint=-1).mean("neuron").values)
    return str(ds.atom.values[int(np.nanargmax(np.nan_to_num(means, nan=-1.0)))])


def smooth(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard-style exponential moving average with debiasing; weight in [0, 1)."""
    if not 0 <= weight < 1:
        raise InfomorphError(f"smoothing must be in [0, 1), got {weight}")
    out, last, count = np.empty(len(values)), 0.0, 0
    for i, v in enumerate(values):
        if np.isnan(v):
            out[i] = np.nan
            continue
        count += 1
        last = last * weight + (1 - weight) * v
        out[i] = last / (1 - weight**count)
    return out


ATOM_SHADES_UP_TO = 30
"""Lattices with at most this many atoms (n <= 3) give each atom its own shade of its class's
colour in the composition chart; larger ones (166 atoms at n = 4) colour by class only."""


def atom_shades(atoms: list[str], classes: list[str]) -> list[str]:
    """One colour per atom: shades of its class colour (``CLASS_COLORS``), from darker to
    lighter in lattice order within the class, so atoms differ while the hue names the class."""
    counts = {c: classes.count(c) for c in set(classes)}
    seen: dict[str, int] = {}
    shades = []
    for cls in classes:
        k, i = counts[cls], seen.get(cls, 0)
        seen[cls] = i + 1
        t = 0.0 if k == 1 else -0.45 + 0.8 * i / (k - 1)  # < 0: towards black, > 0: white
        base = np.array([int(CLASS_COLORS[cls][j:j + 2], 16) for j in (1, 3, 5)], float)
        rgb = base * (1 + t) if t < 0 else base + (255 - base) * t
        shades.append("#" + "".join(f"{round(v):02X}" for v in np.clip(rgb, 0, 255)))
    return shades


def atom_legend(n_atoms: int) -> alt.Legend:
    """A legend of atom lines in one compact column: two columns of 18 atoms took over half
    of a half-page chart's width, and a legend below the plot takes the plot's height in the
    app (its charts fit their container)."""
    return alt.Legend(symbolLimit=0, labelLimit=120, symbolType="stroke", symbolOpacity=1,
                      symbolStrokeWidth=3, symbolSize=60, labelFontSize=10, rowPadding=0,
                      columns=1 if n_atoms <= 20 else 2, columnPadding=6)


def atom_color(atoms: list[str], classes: list[str]) -> alt.Color:
    """Colour by atom (a shade of its class's colour) for frames with ``atom`` and ``class``
    columns, or by class past ATOM_SHADES_UP_TO atoms (166 shades cannot be told apart)."""
    if len(atoms) <= ATOM_SHADES_UP_TO:
        return alt.Color("atom:N", title="atom (hue: class)", sort=atoms,
                         scale=alt.Scale(domain=atoms, range=atom_shades(atoms, classes)),
                         legend=atom_legend(len(atoms)))
    return alt.Color("class:N", scale=class_scale(), title="atom class")


def require_null(ds: xr.Dataset) -> None:
    """A view of significance needs an analysis with shuffles: else a one-line error."""
    if "p_value" not in ds:
        raise InfomorphError("this analysis ran without shuffles: nothing to test against "
                             "(re-analyse with --shuffles 100)")


def checkpoint_atom_frame(ds: xr.Dataset, **values: np.ndarray) -> pd.DataFrame:
    """Long frame over a layer's checkpoints x atoms: checkpoint, atom, class and each of
    ``values`` ((checkpoint, atom) arrays) as a column."""
    atoms = [str(a) for a in ds.atom.values]
    steps = ds.checkpoint.values
    return pd.DataFrame({
        "checkpoint": np.repeat(steps, len(atoms)),
        "atom": np.tile(atoms, len(steps)),
        "class": np.tile(atom_classes(len(ds.source)), len(steps)),
        **{name: np.asarray(v).ravel() for name, v in values.items()},
    })


def significance_timeline(ds: xr.Dataset) -> alt.Chart:
    """Share of a layer's neurons whose atom beats the shuffle null at a 5 % false discovery
    rate (Benjamini-Hochberg over the neurons) at every checkpoint, one line per atom: when
    in training each atom stops being estimation bias."""
    from inspector.significance import SIGNIFICANCE, significant_share

    require_null(ds)
    shares = significant_share(ds.p_value, fdr=True).transpose("checkpoint", "atom")
    frame = checkpoint_atom_frame(ds, share=shares.values).dropna(subset=["share"])
    atoms = [str(a) for a in ds.atom.values]
    class_of = atom_classes(len(ds.source))
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("checkpoint:Q", title="training step"),
        y=alt.Y("share:Q", title="share of the layer's neurons", scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%")),
        color=atom_color(atoms, class_of), detail=alt.Detail("atom:N"),
        tooltip=[alt.Tooltip("atom:N"), alt.Tooltip("class:N"), alt.Tooltip("checkpoint:Q"),
                 alt.Tooltip("share:Q", format=".3f")],
    ).properties(title={
        "text": f"Neurons beating the shuffle null in layer {ds.attrs.get('layer', '')}",
        "subtitle": [_subtitle(ds), f"q < {SIGNIFICANCE} (Benjamini-Hochberg over the neurons "
                     f"at each checkpoint), {ds.attrs.get('shuffles', '?')} shuffles",
                     *([] if frame.checkpoint.nunique() == ds.sizes["checkpoint"] else
                       [f"{frame.checkpoint.nunique()} of {ds.sizes['checkpoint']} "
                        "checkpoints have a null"])]},
        width=520, height=320)


def atom_composition(ds: xr.Dataset, smoothing: float = 0.0,
                     max_checkpoints: int | None = None) -> alt.Chart:
    """Layer mean of every atom over training (one line per atom: a shade of its class's
    colour, or the class colour past ATOM_SHADES_UP_TO atoms), with the spread across
    neurons (quartiles) as a band. ``max_checkpoints``: at most this many checkpoints drawn,
    evenly spaced in checkpoint order (the first and last always; a browser's drawing time
    grows with the rows), after smoothing over all of them."""
    pid = ds.pid
    steps = pid.sizes["checkpoint"]
    if max_checkpoints is not None and steps > max_checkpoints:
        keep = np.unique(np.round(np.linspace(0, steps - 1, max_checkpoints)).astype(int))
        if not smoothing:  # no smoothing needs the others: skip their quartiles (~half)
            pid, keep = pid.isel(checkpoint=keep), None
    else:
        keep = None
    atoms = [str(a) for a in pid.atom.values]
    class_of = atom_classes(len(ds.source))
    classes = dict(zip(atoms, class_of, strict=True))
    values = pid.transpose("checkpoint", "atom", "neuron").values
    # numpy's quantile is ~10x xarray's on (100 checkpoints, 18 atoms, 1000 neurons)
    quantile = np.nanquantile if np.isnan(values).any() else np.quantile
    q25, q75 = quantile(values, [0.25, 0.75], axis=-1)
    frame = pd.DataFrame({
        "checkpoint": np.repeat(pid.checkpoint.values, pid.sizes["atom"]),
        "atom": np.tile(atoms, pid.sizes["checkpoint"]),
        "mean": pid.mean("neuron").transpose("checkpoint", "atom").values.ravel(),
        "q25": q25.ravel(),
        "q75": q75.ravel(),
    })
    if smoothing:
        for col in ("mean", "q25", "q75"):
            frame[col] = frame.groupby("atom")[col].transform(
                lambda v: smooth(v.to_numpy(), smoothing))
    if keep is not None:
        frame = frame[np.isin(frame.checkpoint, pid.checkpoint.values[keep])]
    frame["class"] = frame.atom.map(classes)
    color = atom_color(atoms, class_of)
    base = alt.Chart(frame).encode(x=alt.X("checkpoint:Q", title="training step"))
    band = base.mark_area(opacity=0.15).encode(
        y=alt.Y("q25:Q"), y2=alt.Y2("q75"), color=color, detail=alt.Detail("atom:N"))
    line = base.mark_line().encode(
        y=alt.Y("mean:Q", title="layer mean (bits)"), color=color,
        detail=alt.Detail("atom:N"),
        tooltip=[alt.Tooltip(f) for f in ("atom:N", "class:N", "checkpoint:Q", "mean:Q",
                                          "q25:Q", "q75:Q")])
    return (band + line).properties(
        title={"text": f"Atoms of layer {ds.attrs.get('layer', '')} over training",
               "subtitle": _subtitle(ds)}, width=520, height=360)


SIMPLEX_PICK = "pick"
"""Name of the simplex's click selection (``select=True``): the clicked neuron's number."""


def class_simplex(ds: xr.Dataset, checkpoint: int | None = None,
                  select: bool = False) -> alt.Chart:
    """Unique / redundant / synergistic shares of each neuron's positive atom mass at one
    checkpoint, as points in a triangle. Mixed-order atoms and the negative mass are not in
    the triangle: they are in each point's tooltip and in the point's size (mixed share).
    ``select`` adds a click selection named ``SIMPLEX_PICK`` on the neuron field."""
    step = int(ds.checkpoint[-1]) if checkpoint is None else int(checkpoint)
    if step not in ds.checkpoint.values:
        raise InfomorphError(f"no checkpoint at step {step}")
    one = ds.sel(checkpoint=step)
    frac = one.class_fraction
    u, r, s = (frac.sel(atom_class=c).values for c in ATOM_CLASSES[:3])
    total = u + r + s
    safe = np.where(total > 0, total, 1.0)
    u, r, s = u / safe, r / safe, s / safe
    frame = pd.DataFrame({
        "neuron": one.neuron.values, "x": r + s / 2, "y": s * math.sqrt(3) / 2,
        "unique": u, "redundant": r, "synergistic": s,
        "mixed_share": frac.sel(atom_class="mixed").values,
        "negative_bits": one.negative_bits.values, "class": one.neuron_class.values,
    })
    frame = frame[total > 0]
    corners = pd.DataFrame({"x": [0, 1, 0.5, 0], "y": [0, 0, math.sqrt(3) / 2, 0],
                            "order": [0, 1, 2, 3]})
    labels = pd.DataFrame({"x": [0, 1, 0.5], "y": [-0.05, -0.05, math.sqrt(3) / 2 + 0.04],
                           "text": ["unique", "redundant", "synergistic"]})
    axis = alt.Axis(labels=False, ticks=False, grid=False, title=None, domain=False)
    outline = alt.Chart(corners).mark_line(color="#888").encode(
        x=alt.X("x:Q", axis=axis, scale=alt.Scale(domain=[-0.1, 1.1])),
        y=alt.Y("y:Q", axis=axis, scale=alt.Scale(domain=[-0.1, 1.0])),
        order=alt.Order("order:Q"))
    text = alt.Chart(labels).mark_text(fontSize=12).encode(
        x=alt.X("x:Q"), y=alt.Y("y:Q"), text=alt.Text("text:N"))
    points = alt.Chart(frame).mark_circle(opacity=0.7).encode(
        x=alt.X("x:Q"), y=alt.Y("y:Q"),
        color=alt.Color("class:N", scale=class_scale(), title="neuron class"),
        size=alt.Size("mixed_share:Q", title="mixed share", scale=alt.Scale(range=[20, 200]),
                      legend=alt.Legend(format=".2f")),  # not "0.000000" when all are 0
        tooltip=[alt.Tooltip("neuron:Q"), alt.Tooltip("class:N"),
                 alt.Tooltip("unique:Q", format=".2f"),
                 alt.Tooltip("redundant:Q", format=".2f"),
                 alt.Tooltip("synergistic:Q", format=".2f"),
                 alt.Tooltip("mixed_share:Q", format=".2f"),
                 alt.Tooltip("negative_bits:Q", format=".3f")])
    if select:
        points = points.add_params(
            alt.selection_point(name=SIMPLEX_PICK, fields=["neuron"], on="click"))
    return (outline + text + points).properties(
        title={"text": f"Layer {ds.attrs.get('layer', '')} at step {step}: shares of the "
               "positive atom mass",
               "subtitle": _subtitle(ds) + "; negative mass in the tooltip"},
        width=420, height=380)


def class_timeline(ds: xr.Dataset) -> alt.Chart:
    """Share of a layer's neurons in each class at every checkpoint, stacked: how the layer's
    division of labour forms over training (classes as ``inspector.atom_classes``)."""
    shares = neuron_class_shares(ds.neuron_class.transpose("checkpoint", "neuron").values,
                          ds.entropy.notnull().transpose("checkpoint", "neuron").values)
    steps = ds.checkpoint.values
    frame = pd.DataFrame({
        "checkpoint": np.tile(steps, len(NEURON_CLASSES)),
        "neuron_class": np.repeat(NEURON_CLASSES, len(steps)),
        "share": np.concatenate([shares[c] for c in NEURON_CLASSES]),
        "order": np.repeat(np.arange(len(NEURON_CLASSES)), len(steps)),
    })
    return alt.Chart(frame).mark_area().encode(
        x=alt.X("checkpoint:Q", title="training step"),
        y=alt.Y("share:Q", title="share of the layer's neurons", stack="zero",
                scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        color=alt.Color("neuron_class:N", scale=class_scale(), title="neuron class",
                        sort=list(CLASS_COLORS)),
        order=alt.Order("order:Q"),
        tooltip=[alt.Tooltip("checkpoint:Q"), alt.Tooltip("neuron_class:N"),
                 alt.Tooltip("share:Q", format=".3f")],
    ).properties(title={"text": f"Neuron classes of layer {ds.attrs.get('layer', '')} over "
                                "training",
                        "subtitle": _subtitle(ds)}, width=520, height=320)


def class_shares(table: pd.DataFrame, layer: str, estimates: str = "") -> alt.Chart:
    """Share of one layer's neurons per class, one stacked bar per group of runs, from
    ``inspector.export.class_table`` (mean over the group's runs; s.d. and n in the tooltip);
    ``estimates``: how the atoms were estimated (``estimates_text``), for the subtitle."""
    rows = table[table.layer == layer]
    if rows.empty:
        raise InfomorphError(f"no runs with a layer {layer!r} in this table")
    rows = rows.assign(order=rows.neuron_class.map({c: i for i, c in enumerate(CLASS_COLORS)}))
    return alt.Chart(rows).mark_bar().encode(
        y=alt.Y("group:N", title=None, sort=list(dict.fromkeys(rows.group))),
        x=alt.X("mean_share:Q", title="share of the layer's neurons (mean over runs)",
                stack="zero", scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%", tickCount=5)),
        color=alt.Color("neuron_class:N", scale=class_scale(), title="neuron class",
                        sort=list(CLASS_COLORS)),
        order=alt.Order("order:Q"),
        tooltip=[alt.Tooltip("group:N"), alt.Tooltip("neuron_class:N"),
                 alt.Tooltip("mean_share:Q", format=".3f"),
                 alt.Tooltip("sd_share:Q", format=".3f"), alt.Tooltip("n:Q", title="runs")],
    ).properties(title={"text": f"Neuron classes of layer {layer}",
                        "subtitle": list(filter(None, (  # a line each: long lines are cut
                            "share of positive atom mass > 1/2 names the class", estimates)))},
                 width=520, height=alt.Step(28))


HEATMAP_PICK = "row_pick"
"""Name of the heatmap's click selection (``select=True``): the first neuron of the row."""


BLANK_COLOR = "#bdbdbd"
"""Where a heatmap leaves cells out (not beating the null): grey, apart from near-zero white."""


def atom_heatmap(ds: xr.Dataset, atom: str, select: bool = False,
                 significant_only: bool = False) -> alt.LayerChart:
    """One atom for every neuron (rows, sorted by the last value, largest on top) and
    checkpoint (columns, in order), drawn as one image. Past HEATMAP_ROWS neurons or
    HEATMAP_COLUMNS checkpoints, adjacent rows / columns are averaged into blocks. An
    invisible mark per row carries its neurons and last value as a tooltip; ``select`` adds
    a click selection named ``HEATMAP_PICK`` on the row's first neuron.

    ``significant_only`` (analyses with shuffles): cells whose atom does not beat the
    shuffle null at a 5 % false discovery rate (Benjamini-Hochberg over the neurons, at each
    checkpoint) are drawn in BLANK_COLOR, blocks average the cells that do; rows keep their
    order."""
    if atom not in ds.atom.values:
        raise InfomorphError(
            f"Unknown atom {atom!r}; choose one of: {', '.join(map(str, ds.atom.values))}.")
    if significant_only:
        require_null(ds)
    raw = ds.pid.sel(atom=atom).transpose("neuron", "checkpoint").values
    order = np.argsort(-np.nan_to_num(raw[:, -1], nan=-np.inf), kind="stable")
    last = raw[order, -1]
    subtitle = _subtitle(ds)
    values, by_row, by_col = block_mean(raw[order], HEATMAP_ROWS, HEATMAP_COLUMNS)
    limit = finite_max(values)  # the colour scale stays when cells are blanked
    if significant_only:
        from inspector.significance import SIGNIFICANCE, q_values

        p = ds.p_value.sel(atom=atom).transpose("neuron", "checkpoint")
        q = q_values(p).values
        untested = np.isnan(p.values)  # checkpoints analysed without a null: as they are
        kept = np.where((q < SIGNIFICANCE) | untested, raw, np.nan)
        values = block_mean(kept[order], HEATMAP_ROWS, HEATMAP_COLUMNS)[0]
        subtitle = [subtitle, f"grey: not beating the shuffle null (q >= {SIGNIFICANCE} over "
                    "the neurons at that checkpoint)",
                    *(["checkpoints without a null: drawn in full"] if untested.any() else [])]
    neurons = ds.neuron.values[order]
    blocks = [neurons[i : i + by_row] for i in range(0, len(neurons), by_row)]
    rows = pd.DataFrame({
        "y": np.arange(len(blocks)), "y2": np.arange(len(blocks)) + 1,
        "neuron": [int(b[0]) for b in blocks],
        "neurons": [", ".join(map(str, b[:5])) + (f" … ({len(b)})" if len(b) > 5 else "")
                    for b in blocks],
        "last_bits": block_mean(last[:, None], HEATMAP_ROWS, 1)[0][:, 0],
    })
    ylabel = "neuron (sorted by last value)" if by_row == 1 else f"neuron blocks of {by_row}"
    xlabel = "checkpoint" if by_col == 1 else f"checkpoint blocks of {by_col}"
    image = image_chart(values, limit, x_title=xlabel, y_title=ylabel, legend_title="bits",
                        width=520, height=300,
                        blank_color=BLANK_COLOR if significant_only else None)
    # Near-transparent, not transparent: Vega does not hit-test fully transparent marks.
    hover = alt.Chart(rows).mark_rect(opacity=0.001).encode(
        x=alt.datum(0), x2=alt.datum(values.shape[1]), y=alt.Y("y:Q"), y2=alt.Y2("y2"),
        tooltip=[alt.Tooltip("neurons:N", title="neurons"),
                 alt.Tooltip("last_bits:Q", title="last value (bits)", format=".4f")])
    if select:
        hover = hover.add_params(
            alt.selection_point(name=HEATMAP_PICK, fields=["neuron"], on="click"))
    return alt.layer(*image.layer, hover).properties(
        width=520, height=300,
        title={"text": f"{atom} of layer {ds.attrs.get('layer', '')}",
               "subtitle": subtitle})


def chart_bytes(chart: alt.TopLevelMixin, fmt: str) -> bytes:
    """A chart as an SVG, PNG or PDF file's bytes, rendered by vl-convert (no browser)."""
    import vl_convert as vlc

    if fmt not in FIGURE_FORMATS:
        raise InfomorphError(f"Unknown figure format {fmt!r}; choose one of: "
                             f"{', '.join(FIGURE_FORMATS)}.")
    # charts here hold <= MAX_MARKS rows; built from schema classes, so valid already
    with ALTAIR_GLOBALS, alt.data_transformers.disable_max_rows():
        spec = chart.to_dict(validate=False)
    return {"svg": lambda: vlc.vegalite_to_svg(spec).encode(),
            "png": lambda: vlc.vegalite_to_png(spec, scale=2),
            "pdf": lambda: vlc.vegalite_to_pdf(spec)}[fmt]()


def save_chart(chart: alt.Chart, path: str | os.PathLike, fmt: str | None = None) -> Path:
    """Write a chart as SVG, PNG or PDF with vl-convert (no browser), atomically."""
    path = Path(path)
    data = chart_bytes(chart, fmt or path.suffix.lstrip("."))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


LAYER_FIGURES = {"composition": "atom composition over training", "simplex": "class simplex",
                 "heatmap": "neuron x checkpoint heatmap",
                 "classes": "neuron classes over training",
                 "significance": "neurons beating the shuffle null over training"}
"""A layer's figures in the exports (``infomorph export``, the Export page): name -> what."""


def layer_figure_names(ds: xr.Dataset) -> list[str]:
    """The ``LAYER_FIGURES`` an analysed layer has: ``significance`` needs a shuffle null."""
    return [name for name in LAYER_FIGURES if name != "significance" or "p_value" in ds]


def layer_figure(ds: xr.Dataset, name: str, step: int | None = None,
                 atom: str | None = None, significant_only: bool = False) -> alt.TopLevelMixin:
    """One of ``LAYER_FIGURES`` of an analysed layer; ``step`` for the simplex (default: the
    last), ``atom`` for the heatmap (default: the largest), ``significant_only`` for the
    heatmap (cells beating the shuffle null only, see ``atom_heatmap``)."""
    if name == "composition":
        return atom_composition(ds)
    if name == "simplex":
        return class_simplex(ds, step)
    if name == "heatmap":
        return atom_heatmap(ds, atom or largest_atom(ds), significant_only=significant_only)
    if name == "classes":
        return class_timeline(ds)
    if name == "significance":
        return significance_timeline(ds)
    raise InfomorphError(f"Unknown figure {name!r}; choose one of: {', '.join(LAYER_FIGURES)}.")
