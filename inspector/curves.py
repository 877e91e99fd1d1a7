"""Training curves: metrics, goal attainment and seed bands over checkpoints (``altair``).

Plain functions shared by the app and ``infomorph export``. Smoothing is TensorBoard's
(``inspector.charts.smooth``): the raw curve stays visible, faint, under the smoothed one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import altair as alt
import pandas as pd
import xarray as xr

from inspector.charts import smooth
from inspector.collection import json_coordinate
from inspector.errors import InfomorphError
from inspector.pid import format_goal

COMPARED_METRICS = ("test_accuracy", "recall_cosine")
"""Task metrics drawn across runs in the figure exports, where the runs record them."""


def compared_metrics(root: xr.Dataset) -> list[str]:
    """The ``COMPARED_METRICS`` that some run of a ``load``-ed root records."""
    return [m for m in COMPARED_METRICS if m in root and bool(root[m].notnull().any())]


def _smoothed(frame: pd.DataFrame, by: str, columns: Sequence[str], weight: float):
    if not weight:
        return frame
    frame = frame.copy()
    for col in columns:
        frame[col] = frame.groupby(by)[col].transform(lambda v: smooth(v.to_numpy(), weight))
    return frame


def metric_curves(metrics: pd.DataFrame, names: Sequence[str] | None = None,
                  smoothing: float = 0.0, title: str = "Accuracy") -> alt.Chart:
    """Metrics (rows: training steps in the index; columns: metric names) as lines."""
    names = [n for n in (names or metrics.columns) if n in metrics.columns]
    if not names:
        raise InfomorphError(f"no such metric; the run has: {', '.join(metrics.columns)}")
    long = (metrics[names].rename_axis("step").reset_index()
            .melt("step", var_name="metric", value_name="raw").dropna())
    long["value"] = long["raw"]
    long = _smoothed(long, "metric", ["value"], smoothing)
    base = alt.Chart(long).encode(x=alt.X("step:Q", title="training step"),
                                  color=alt.Color("metric:N", title="metric",
                                                  scale=alt.Scale(scheme="tableau10")))
    layers = [base.mark_line().encode(y=alt.Y("value:Q", title=title),
                                      tooltip=[alt.Tooltip("metric:N"), alt.Tooltip("step:Q"),
                                               alt.Tooltip("raw:Q", format=".4f")])]
    if smoothing:
        layers.insert(0, base.mark_line(opacity=0.25).encode(y=alt.Y("raw:Q")))
    return alt.layer(*layers).properties(title=title, width=520, height=240)


def goal_attainment_curve(ds: xr.Dataset, smoothing: float = 0.0) -> alt.Chart:
    """Layer mean of goal / H(Y) over training, with the neurons' quartiles as a band."""
    if "goal_attainment" not in ds:
        raise InfomorphError(f"layer {ds.attrs.get('layer', '')} has no goal")
    g = ds.goal_attainment
    frame = pd.DataFrame({
        "checkpoint": g.checkpoint.values, "layer": ds.attrs.get("layer", ""),
        "mean": g.mean("neuron").values, "q25": g.quantile(0.25, "neuron").values,
        "q75": g.quantile(0.75, "neuron").values,
    })
    frame = _smoothed(frame, "layer", ["mean", "q25", "q75"], smoothing)
    base = alt.Chart(frame).encode(x=alt.X("checkpoint:Q", title="training step"))
    return (base.mark_area(opacity=0.2).encode(y=alt.Y("q25:Q"), y2=alt.Y2("q75"))
            + base.mark_line().encode(y=alt.Y("mean:Q", title="goal / H(Y)"),
                                      tooltip=[alt.Tooltip(f) for f in ("checkpoint:Q", "mean:Q",
                                                                        "q25:Q", "q75:Q")])
            ).properties(title={"text": f"Goal attainment of layer {ds.attrs.get('layer', '')}",
                                "subtitle": "layer mean, band: quartiles over neurons"},
                         width=520, height=240)


def seed_bands(frame: pd.DataFrame, value: str, group: str = "group",
               title: str = "", y_title: str | None = None, smoothing: float = 0.0,
               groups: Sequence[str] | None = None, estimates: str = "") -> alt.Chart:
    """Mean +- s.d. over runs (seeds) per group along ``checkpoint``; ``estimates``: how
    atoms were estimated (``inspector.charts.estimates_text``), for the subtitle of atoms.

    ``frame``: long, with columns ``group``, ``run``, ``checkpoint`` and ``value``; runs
    missing a checkpoint are left out of that checkpoint's statistics (n in the tooltip).
    ``groups``: every group of the comparison, in legend order: charts given the same list
    give each group the same colour, also where a group has no values in one of them."""
    frame = _smoothed(frame.dropna(subset=[value]).sort_values("checkpoint"), "run",
                      [value], smoothing)
    stats = (frame.groupby([group, "checkpoint"])[value]
             .agg(mean="mean", sd="std", n="count").reset_index())
    stats["sd"] = stats["sd"].fillna(0.0)
    stats["lo"], stats["hi"] = stats["mean"] - stats["sd"], stats["mean"] + stats["sd"]
    domain = list(groups) if groups is not None else sorted(stats[group].unique())
    # tableau10 rather than the app theme's palette, whose second colour is a pale blue that
    # vanishes against the bands.
    scale = alt.Scale(domain=domain, scheme="tableau10")
    base = alt.Chart(stats).encode(x=alt.X("checkpoint:Q", title="training step"),
                                   color=alt.Color(f"{group}:N", title=group, scale=scale,
                                                   legend=_group_legend()))
    return (base.mark_area(opacity=0.2).encode(y=alt.Y("lo:Q"), y2=alt.Y2("hi"))
            + base.mark_line().encode(
                y=alt.Y("mean:Q", title=y_title or value),
                tooltip=[alt.Tooltip(f"{group}:N"), alt.Tooltip("checkpoint:Q"),
                         alt.Tooltip("mean:Q", format=".4f"),
                         alt.Tooltip("sd:Q", format=".4f"), alt.Tooltip("n:Q")])
            ).properties(title={"text": title or value,
                                # one line each: a long line is cut off at the width
                                "subtitle": list(filter(None, (
                                    "mean ± s.d. over runs of each group", estimates)))},
                         width=520, height=340 + 20 * len(domain))  # room for the legend


def _group_legend() -> alt.Legend:
    """Group names in full, below the plot: at the right, names that differ only at their
    end ("... (hidden=12)", "... (hidden=20)") were cut to the same text."""
    return alt.Legend(orient="bottom", direction="vertical", labelLimit=0, symbolType="stroke",
                      symbolOpacity=1, symbolStrokeWidth=3)


def layer_means(ds: xr.Dataset, atom: str) -> pd.DataFrame:
    """Long frame (run, checkpoint, value) of one atom's layer mean from a ``load``-ed layer
    group (dims run, checkpoint, neuron, atom), with the run's group (preset and goal)."""
    _check_atom(ds, atom)
    return _per_run(ds, ds.pid.sel(atom=atom).mean("neuron", skipna=True))


def layer_significance(ds: xr.Dataset, atom: str) -> pd.DataFrame:
    """Long frame (run, checkpoint, value) of the share of a layer's neurons whose ``atom``
    beats the shuffle null at a 5 % false discovery rate, from a ``load``-ed layer group;
    runs and checkpoints without a null are left out."""
    from inspector.significance import significant_share

    _check_atom(ds, atom)
    if "p_value" not in ds:
        raise InfomorphError("none of these runs was analysed with --shuffles")
    return _per_run(ds, significant_share(ds.p_value.sel(atom=atom), fdr=True))


def _check_atom(ds: xr.Dataset, atom: str) -> None:
    if atom not in ds.atom.values:
        raise InfomorphError(
            f"Unknown atom {atom!r}; choose one of: {', '.join(map(str, ds.atom.values))}.")


def _per_run(ds: xr.Dataset, values: xr.DataArray) -> pd.DataFrame:
    """(run, checkpoint) values as a long frame with each run's group, NaN rows dropped."""
    frame = values.to_dataframe(name="value").reset_index()[["run", "checkpoint", "value"]]
    groups = dict(zip(ds.run.values, group_names(ds), strict=True))
    frame["group"] = frame.run.map(groups)
    return frame.dropna(subset=["value"])


def group_names(ds: xr.Dataset) -> list[str]:
    """One label per run of a ``load``-ed collection; runs with the same label differ only in
    their seed. The preset, plus the goal (as a weighted sum of atoms) where runs of one preset
    have different goals, plus the settings in which runs of one preset differ, e.g.
    ``memory-hebbian (load=0.1)``, plus how a layer was analysed where that differs, e.g.
    ``trivariate-optimized [hidden: quantile, 10 bins]`` (only what differs). A ``group``
    coordinate, where present, is taken as it is."""
    if "group" in ds.coords:  # named over a larger set of runs (the Compare page)
        return [str(g) for g in ds.group.values]
    presets = [str(p) for p in ds.preset.values]
    n = len(presets)
    goals = [str(g) for g in ds.goal.values] if "goal" in ds.coords else [""] * n
    settings, analyses = json_coordinate(ds, "settings"), json_coordinate(ds, "analysis")
    members: dict[str, list[int]] = {}
    for i, p in enumerate(presets):
        members.setdefault(p, []).append(i)
    # What differs among the runs of each preset, worked out once per preset (per run, it
    # was quadratic in the runs: 1.6 s of an 80-run table)
    goal_differs, setting_keys, layer_attrs = {}, {}, {}
    for p, same in members.items():
        goal_differs[p] = len({goals[j] for j in same}) > 1
        # Keys some runs lack (runs of older versions) cannot be compared: not a difference.
        keys = sorted(set.intersection(*(set(settings[j]) for j in same)))
        setting_keys[p] = [k for k in keys
                           if len({json.dumps(settings[j][k]) for j in same}) > 1]
        # Runs analysed with other binnings or probe sizes are not replicates either; runs
        # without an analysis (metrics only) differ from none.
        for layer in sorted({layer for j in same for layer in analyses[j]}):
            attrs = [analyses[j][layer] for j in same if layer in analyses[j]]
            differ = [a for a in attrs[0] if len({json.dumps(x.get(a)) for x in attrs}) > 1]
            # a range tells runs with fixed bins apart, not fixed bins from other binnings
            ranges = {json.dumps(x.get("value_range")) for x in attrs
                      if x.get("binning") == "fixed"}
            if len(ranges) < 2:
                differ = [a for a in differ if a != "value_range"]
            layer_attrs[p, layer] = differ
    names = []
    for i, p in enumerate(presets):
        name = f"{p}: {goal_text(goals[i])}" if goal_differs[p] else p
        if setting_keys[p]:
            name += " (" + ", ".join(f"{k}={_setting_text(settings[i][k])}"
                                     for k in setting_keys[p]) + ")"
        described = [f"{layer}: {estimator_text(analyses[i][layer], layer_attrs[p, layer])}"
                     for layer in sorted(analyses[i]) if layer_attrs[p, layer]]
        if described:
            name += " [" + "; ".join(described) + "]"
        names.append(name)
    return names


def estimator_text(attrs: dict, shown: Sequence[str] | None = None) -> str:
    """A layer's analysis attributes in words, e.g. "quantile, 10 bins, 359 samples";
    ``shown``: only these attributes (those in which runs differ)."""
    explicit = shown is not None
    shown = set(attrs if shown is None else shown)
    parts = []
    if "sources" in shown and attrs.get("sources") is not None:
        parts.append("sources " + ", ".join(map(str, attrs["sources"])))
    if shown & {"binning", "bins"}:
        parts.append(f"{attrs.get('binning')}, {attrs.get('bins')} bins")
    if "value_range" in shown and attrs.get("value_range") is not None:
        lo, hi = attrs["value_range"]
        parts.append(f"range [{lo:g}, {hi:g}]")
    if "n_samples" in shown:
        parts.append(f"{attrs.get('n_samples')} samples")
    if "target" in shown and (explicit or attrs.get("target") != "soft"):  # soft: default
        parts.append(f"{attrs.get('target')} target")
    return ", ".join(parts)


def _setting_text(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def goal_text(goal: str | None) -> str:
    """A layer's goal attribute (JSON) as ``format_goal`` writes it; "none" when empty."""
    try:
        value = json.loads(goal) if goal else {}
    except (TypeError, ValueError):
        return str(goal)
    return format_goal(value) if value else "none"


def metric_frame(root: xr.Dataset, metric: str) -> pd.DataFrame:
    """Long frame (group, run, checkpoint, value) of one metric from a ``load``-ed root."""
    if metric not in root:
        raise InfomorphError(f"no metric {metric!r} in these runs")
    frame = root[metric].to_dataframe(name="value").reset_index()
    frame["group"] = frame.run.map(dict(zip(root.run.values, group_names(root), strict=True)))
    return frame[["group", "run", "checkpoint", "value"]].dropna(subset=["value"])

