"""Cached reads for the app, keyed by each file's (mtime, size): a run that keeps training or
a fresh analysis is picked up on the next rerun, and nothing is read twice otherwise.

Large xarray objects are cached as resources (shared, not copied): pages treat them as
read-only. Every path here comes from ``inspector.logdir.run_dirs``, never from a user.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st
import xarray as xr

from inspector.app import vega
from inspector.logdir import RunEntry, describe, file_stamp, run_dirs
from inspector.logdir import resolve as _resolve
from storage import ANALYSIS_FILE, RUN_FILE, open_analysis, open_run


@st.cache_data(ttl=2, max_entries=16, show_spinner=False)
def runs(logdir: str) -> dict[str, Path]:
    """Run name -> directory below LOGDIR, walked at most every 2 s."""
    return run_dirs(logdir)


def resolve(logdir: str, name: str) -> Path:
    return _resolve(logdir, name, runs(logdir))


@st.cache_data(max_entries=4096, show_spinner=False)
def _entry(name: str, path: str, run_stamp: tuple, analysis_stamp: tuple) -> RunEntry:
    return describe(name, Path(path))


def entries(logdir: str) -> list[RunEntry]:
    """Every run below LOGDIR, re-read only where its files changed."""
    return [
        _entry(name, str(path), file_stamp(path / RUN_FILE), file_stamp(path / ANALYSIS_FILE))
        for name, path in sorted(runs(logdir).items())
    ]


@st.cache_resource(max_entries=8, show_spinner="Loading the analysis…")
def _analysis(path: str, stamp: tuple) -> xr.DataTree:
    # lazy: a page reads only the variables it shows (the layer page 4 of 15; 70 MB file:
    # 0.09 s instead of 0.16-0.28 s, docs/benchmarks.md)
    return open_analysis(path, lazy=True)


def analysis(logdir: str, run: str) -> xr.DataTree:
    """The analysis of run ``run`` (a name in LOGDIR)."""
    path = resolve(logdir, run)
    return _analysis(str(path), file_stamp(path / ANALYSIS_FILE))


def _layer_charts() -> dict:
    from inspector import charts, curves, neuron_charts

    return {"composition": charts.atom_composition, "simplex": charts.class_simplex,
            "heatmap": charts.atom_heatmap, "goal": curves.goal_attainment_curve,
            "classes": charts.class_timeline, "significance": charts.significance_timeline,
            "neuron_atoms": neuron_charts.neuron_atoms,
            "goal_terms": neuron_charts.goal_terms_chart}


@st.cache_resource(max_entries=256, show_spinner=False)
def _chart(kind: str, path: str, stamp: tuple, layer: str, args: tuple) -> dict:
    chart = _layer_charts()[kind](_analysis(path, stamp)[layer].ds, *args)
    # Without ARIA, Vega builds no per-mark description string (format() of every field for
    # every point): 10-15 % of a chart's drawing time in the browser (docs/benchmarks.md).
    return vega.spec(chart.configure(aria=False))


def chart(kind: str, logdir: str, run: str, layer: str, *args) -> dict:
    """A chart builder's chart of one analysed layer as a finished Vega-Lite spec
    (``inspector.app.vega``; read-only), built once per analysis file version and arguments
    (``kind``: composition, simplex, heatmap, goal, classes, neuron_atoms, goal_terms)."""
    path = resolve(logdir, run)
    return _chart(kind, str(path), file_stamp(path / ANALYSIS_FILE), layer, args)


@st.cache_data(max_entries=64, show_spinner=False)
def _metrics(path: str, stamp: tuple) -> pd.DataFrame:
    return open_run(path).metrics()


def metrics(logdir: str, run: str) -> pd.DataFrame:
    """The run's metrics from run.h5 (live while it trains), indexed by step."""
    path = resolve(logdir, run)
    return _metrics(str(path), file_stamp(path / RUN_FILE))


@st.cache_data(max_entries=256, show_spinner=False)
def _feedforward(path: str, stamp: tuple, layer: str, step: int) -> np.ndarray | None:
    run = open_run(path)
    spec = run.spec.layer(layer)
    if "F.weight" not in {p.name for p in spec.params}:
        return None
    return run.weights(layer, step)["F.weight"].values


def feedforward(logdir: str, run: str, layer: str, step: int) -> np.ndarray | None:
    """The layer's feedforward weights (neuron, input) at one step, None if it has none."""
    path = resolve(logdir, run)
    return _feedforward(str(path), file_stamp(path / RUN_FILE), layer, step)


@st.cache_data(max_entries=32, show_spinner=False)
def _neuron_probe(path: str, stamp: tuple, layer: str, neuron: int) -> xr.Dataset:
    return open_run(path).neuron(layer, neuron)


def neuron_probe(logdir: str, run: str, layer: str, neuron: int) -> xr.Dataset:
    """One neuron's probe data at every checkpoint (``storage.Run.neuron``): moving along
    the checkpoints of one neuron reads run.h5 once."""
    path = resolve(logdir, run)
    return _neuron_probe(str(path), file_stamp(path / RUN_FILE), layer, int(neuron))


@st.cache_data(max_entries=64, show_spinner=False)
def _config(path: str, stamp: tuple) -> dict:
    return open_run(path).config


def config(logdir: str, run: str) -> dict:
    path = resolve(logdir, run)
    return _config(str(path), file_stamp(path / RUN_FILE))


@st.cache_resource(max_entries=8, show_spinner="Loading the runs…")
def _collection(paths: tuple[str, ...], stamps: tuple) -> xr.DataTree:
    from inspector.collection import TABLE_VARIABLES, load

    return load(*paths, variables=TABLE_VARIABLES)


def collection(logdir: str, runs: list[str]) -> xr.DataTree:
    """Several analysed runs with a ``run`` dimension (``inspector.collection.load``), the
    variables of the tables and bands across runs only."""
    paths = tuple(str(resolve(logdir, r)) for r in runs)
    stamps = tuple(file_stamp(Path(p) / ANALYSIS_FILE) for p in paths)
    return _collection(paths, stamps)


@st.cache_resource(max_entries=8, show_spinner="Loading the runs' metrics…")
def _metrics_collection(paths: tuple[str, ...], stamps: tuple) -> xr.Dataset:
    from inspector.collection import load_metrics

    return load_metrics(*paths)


def metrics_collection(logdir: str, runs: list[str]) -> xr.Dataset:
    """Several runs' training metrics, analysed or not, with a ``run`` dimension
    (``inspector.collection.load_metrics``); re-read when a run.h5 changes."""
    paths = tuple(str(resolve(logdir, r)) for r in runs)
    return _metrics_collection(paths, tuple(file_stamp(Path(p) / RUN_FILE) for p in paths))
