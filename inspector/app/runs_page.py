"""Runs page: every run under LOGDIR, filtered; open one, compare several, analyse the rest."""

from __future__ import annotations

import streamlit as st

from inspector.app import context, data, nav
from inspector.app.route import Route
from inspector.logdir import READABLE_ANALYSIS, runs_frame

OPTIONAL_COLUMNS = ("test_accuracy", "recall", "recall_cosine", "null", "goal")


def show(logdir: str, route: Route) -> None:
    st.header("Runs")
    entries = data.entries(logdir)
    if not entries:
        st.info(f"No runs in {logdir} yet. Train one with "
                f"`infomorph train --logdir {logdir}`, then refresh.")
        return
    for bad in (e for e in entries if e.error):
        st.warning(f"{bad.name}: {bad.error}")
    frame = runs_frame([e for e in entries if not e.error])
    if frame.empty:
        st.info("No readable run in this LOGDIR.")
        return

    cols = st.columns([2, 2, 2])
    text = cols[0].text_input("Filter by name", placeholder="part of a run name")
    presets = cols[1].multiselect("Preset", sorted(frame.preset.dropna().unique()))
    statuses = cols[2].multiselect("Status", sorted(frame.status.dropna().unique()))
    shown = frame
    if text:
        shown = shown[shown.run.str.contains(text, case=False, regex=False)]
    if presets:
        shown = shown[shown.preset.isin(presets)]
    if statuses:
        shown = shown[shown.status.isin(statuses)]
    # Columns no run of this LOGDIR fills (recall for classification runs, accuracy for
    # memory runs, goals where no layer has one) would only be empty.
    empty = [c for c in OPTIONAL_COLUMNS if frame[c].isna().all()]
    table = shown.drop(columns=["error", *empty]).assign(
        open=[nav.link(Route(page="layer", run=r)) for r in shown.run])
    # What a user scans for first stays in view; counts and goals are past the scroll.
    order = [c for c in ("run", "open", "preset", "dataset", "hidden", "seed", "status",
                         "analysis", "test_accuracy", "recall", "recall_cosine", "null",
                         "checkpoints", "last_step", "goal") if c in table]
    st.dataframe(
        table, hide_index=True, width="stretch", column_order=order,
        column_config={
            "test_accuracy": st.column_config.NumberColumn("test accuracy", format="%.4f"),
            "recall": st.column_config.NumberColumn(
                "recall", format="%.3f", help="memory runs: patterns recalled from noisy cues"),
            "recall_cosine": st.column_config.NumberColumn(
                "recall cosine", format="%.3f",
                help="memory runs: mean cosine similarity of each stored pattern and the fixed "
                     "point reached from it (paper (c)'s measure)"),
            "open": st.column_config.LinkColumn("open", display_text="layer page"),
            "goal": st.column_config.TextColumn("goal (first layer)", width="medium"),
            "null": st.column_config.TextColumn(
                "shuffle null", help="shuffles of the analysis' shuffle null (p values, the "
                "estimation bias); empty: analysed without one"),
        },
    )
    st.caption(f"{len(shown)} of {len(frame)} runs. Status: running, finished or incomplete "
               "(stopped before its last step). Analysis: up to date, stale (the run has "
               "changed since), missing or unreadable.")

    analysed = [r for r, a in zip(shown.run, shown.analysis, strict=True)
                if a in READABLE_ANALYSIS]
    left, right = st.columns(2)
    with left:
        st.subheader("Open a run")
        if analysed:
            chosen = nav.pick("Run", analysed, route.run, key="open-run")
            st.button("Open its layer page", key="open-layer", **nav.on_click(
                page="layer", run=chosen, layer=None, neuron=None, checkpoint=None))
        else:
            st.info("None of these runs is analysed yet.")
    with right:
        st.subheader("Compare runs")
        default = [r for r in route.runs if r in analysed] or analysed
        picked = st.multiselect("Runs to compare", analysed, default=default,
                                key="compare-runs")
        st.button("Compare", disabled=not picked, key="compare",
                  **nav.on_click({"runs": ("compare-runs", tuple)}, page="compare"))

    todo = [r for r, a in zip(shown.run, shown.analysis, strict=True) if a != "up to date"]
    if todo:
        st.subheader("Analysis")
        st.write(f"{len(todo)} run(s) have no up-to-date analysis: " + ", ".join(todo[:10])
                 + (" …" if len(todo) > 10 else ""))
        left, right = st.columns([1, 3], vertical_alignment="bottom")
        shuffles = left.number_input(
            "Shuffle null (K)", min_value=0, value=None, step=10, key="analyse-shuffles",
            placeholder="as before",
            help="Permutations of the shuffle null (p values, q values, the bias): 100 for "
                 "the tables' FDR shares, 0 for none; empty: as each run's last analysis "
                 "(none for a run never analysed). Costs about K analyses of the run.")
        if right.button(f"Analyse {len(todo)} run(s) now", key="analyse"):
            context.analyse(logdir, todo, **({} if shuffles is None
                                              else {"shuffles": int(shuffles)}))
