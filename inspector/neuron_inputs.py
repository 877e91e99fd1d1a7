"""What one neuron sees: its probe samples in the bins its analysis used, and how likely it
fires in each cell of two sources' bins.

The decomposition of a neuron is a function of one table, p(binned sources, Y); these maps
show that table, one pair of sources at a time (the first source, usually F, against each
other), so that a neuron's atoms can be read off its inputs: a neuron driven by F alone
changes colour along x only, one that needs F and C together changes colour along both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import altair as alt
import numpy as np
import pandas as pd
import xarray as xr

from inspector.errors import InfomorphError

if TYPE_CHECKING:  # the binning is torch code: imported on first use (~1.4 s), not by the app
    from inspector.pid import Binning


def layer_binning(attrs: Mapping) -> Binning:
    """The binning an analysed layer's atoms were estimated with (its analysis attributes)."""
    from inspector.pid import Binning

    value_range = attrs.get("value_range")
    return Binning(str(attrs.get("binning", "fixed")), int(attrs.get("bins", 20)),
                   tuple(float(v) for v in value_range) if value_range is not None
                   else (-20.0, 20.0))


def _axis(binning: Binning, name: str) -> alt.Axis:
    """An axis over bin edges 0..bins labelled in the binning's units."""
    if binning.method in ("fixed", "maxnorm"):
        low, high = binning.value_range if binning.method == "fixed" else (-1.0, 1.0)
        width = (high - low) / binning.bins
        unit = "" if binning.method == "fixed" else " / max |x|"
        return alt.Axis(title=f"{name}{unit}",
                        labelExpr=f"format({low} + datum.value * {width}, '~g')")
    return alt.Axis(title=f"{name} ({'quantile bin' if binning.method == 'quantile' else 'code'})",
                    format="d")


def source_pairs(names: Sequence[str]) -> list[str]:
    """The pairs a neuron's maps show: its first source against each other, "F x C", ..."""
    return [f"{names[0]} x {other}" for other in names[1:]]


def map_names(names: Sequence[str]) -> dict[str, str]:
    """Figure name ("sees-F-C") -> source pair ("F x C") of a layer with sources ``names``."""
    return {"sees-" + pair.replace(" x ", "-"): pair for pair in source_pairs(names)}


def input_cells(sources: np.ndarray, theta: np.ndarray, names: Sequence[str],
                binning: Binning) -> pd.DataFrame:
    """One neuron at one checkpoint: ``sources`` (sample, source) aggregated inputs,
    ``theta`` (sample,) its firing probability P(Y=+1). Binned as its analysis did (per
    neuron for maxnorm and quantile). One row per occupied cell of the first source against
    each other source: pair ("F x C"), x and y (bin labels), samples, share (of the probe
    samples) and p_fire (mean theta in the cell)."""
    sources = np.asarray(sources, dtype=np.float64)
    theta = np.asarray(theta, dtype=np.float64)
    if sources.ndim != 2 or sources.shape[1] != len(names) or len(names) < 2:
        raise InfomorphError(f"need (sample, source) values of at least two sources named "
                             f"{list(names)}, got shape {sources.shape}")
    if theta.shape != (sources.shape[0],):
        raise InfomorphError(f"theta must have one value per sample ({sources.shape[0]}), "
                             f"got shape {theta.shape}")
    import torch

    codes = binning.codes(torch.from_numpy(sources)).numpy()
    labels = binning.labels()
    frames = []
    for j, pair in enumerate(source_pairs(names), start=1):
        cells = (pd.DataFrame({"x_bin": codes[:, 0], "y_bin": codes[:, j], "theta": theta})
                 .groupby(["x_bin", "y_bin"]).theta.agg(samples="size", p_fire="mean")
                 .reset_index())
        cells.insert(0, "pair", pair)
        cells["x"] = [labels[i] for i in cells.x_bin]
        cells["y"] = [labels[i] for i in cells.y_bin]
        cells["x_end"], cells["y_end"] = cells.x_bin + 1, cells.y_bin + 1
        cells["share"] = cells.samples / len(theta)
        frames.append(cells)
    return pd.concat(frames, ignore_index=True)


def seen_at(probe: xr.Dataset, attrs: Mapping, names: Sequence[str],
            step: int) -> tuple[pd.DataFrame, Binning]:
    """``input_cells`` of one neuron at one step and the binning used: ``probe`` is its probe
    data at every checkpoint (``storage.Run.neuron``), ``attrs`` its analysed layer's
    attributes, ``names`` the layer's sources."""
    if step not in probe.step.values:
        raise InfomorphError(f"run.h5 has no checkpoint at step {step}")
    one = probe.sel(step=step)
    binning = layer_binning(attrs)
    sources = np.stack([one[f"source_{s}"].values for s in names], -1)
    return input_cells(sources, one.theta.values, names, binning), binning


def input_map(cells: pd.DataFrame, pair: str, binning: Binning, title: str) -> alt.Chart:
    """P(Y=+1) in each occupied cell of one pair's bins (``input_cells``); empty cells stay
    blank, so the shape of the inputs' distribution shows too."""
    rows = cells[cells.pair == pair]
    if rows.empty:
        raise InfomorphError(f"no cells for the pair {pair!r}")
    x_name, y_name = pair.split(" x ")
    size = 300 if binning.bins <= 30 else 400
    # quantitative over bin edges: any number of bins, empty bins keep their place
    edges = alt.Scale(domain=[0, binning.bins], nice=False, zero=False)
    return alt.Chart(rows).mark_rect().encode(
        x=alt.X("x_bin:Q", scale=edges, axis=_axis(binning, x_name)),
        x2="x_end:Q",
        y=alt.Y("y_bin:Q", scale=edges, axis=_axis(binning, y_name)),
        y2="y_end:Q",
        color=alt.Color("p_fire:Q", title="P(Y=+1)",
                        scale=alt.Scale(scheme="redblue", domain=[0, 1], domainMid=0.5,
                                        reverse=True)),
        tooltip=[alt.Tooltip("x:N", title=x_name), alt.Tooltip("y:N", title=y_name),
                 alt.Tooltip("samples:Q"), alt.Tooltip("share:Q", format=".3f"),
                 alt.Tooltip("p_fire:Q", format=".3f", title="P(Y=+1)")],
    ).properties(title={"text": title, "subtitle": [
        f"mean P(Y=+1) per cell of {int(rows.samples.sum())} probe samples",
        f"{binning.bins} bins per source ({binning.method}) as analysed; blank: no sample"]},
        width=size, height=size)


def input_maps(ds: xr.Dataset, neuron: int, step: int, probe: xr.Dataset,
               title: str = "{pair} of neuron {neuron} at step {step}") -> dict[str, alt.Chart]:
    """Every map of one neuron at ``step`` by figure name (``map_names``): ``ds`` its analysed
    layer, ``probe`` its probe data at every checkpoint (``storage.Run.neuron``); ``title``
    is formatted with pair, neuron and step."""
    names = [str(s) for s in ds.source.values]
    cells, binning = seen_at(probe, ds.attrs, names, step)
    return {name: input_map(cells, pair, binning,
                            title.format(pair=pair, neuron=neuron, step=step))
            for name, pair in map_names(names).items()}
