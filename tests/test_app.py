"""The Streamlit inspector through ``streamlit.testing.v1.AppTest``: every page, the deep
links, and each failure case shown as a message in the page (never a traceback)."""

from __future__ import annotations

import json
import shutil
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
from run_factory import make_record, make_spec, step_of
from streamlit.testing.v1 import AppTest

from inspector.app.route import Route
from inspector.errors import InfomorphError
from inspector.logdir import resolve, run_dirs, scan
from storage import ANALYSIS_FILE, RUN_FILE, RunWriter, open_analysis

APP = str(Path(__file__).parents[1] / "app.py")


def app(logdir, monkeypatch, **query) -> AppTest:
    monkeypatch.setenv("INFOMORPH_LOGDIR", str(logdir))
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def texts(elements) -> list[str]:
    return [str(e.value) for e in elements]


def no_traceback(at: AppTest) -> None:
    assert not at.exception, texts(at.exception)


def param(at: AppTest, key: str) -> list[str]:
    value = at.query_params[key]
    return [value] if isinstance(value, str) else list(value)


def charts(at: AppTest) -> list:
    return at.get("vega_lite_chart")


def chart_frame(chart, i: int = 0):
    """The i-th data frame a drawn chart carries (the app sends them as Arrow streams)."""
    import pyarrow as pa

    return pa.ipc.open_stream(chart.proto.datasets[i].data.data).read_all().to_pandas()


def the_run(logdir) -> str:
    return next(iter(run_dirs(logdir)))


def last_step(logdir) -> int:
    return int(open_analysis(resolve(logdir, the_run(logdir)))["hidden"].ds.checkpoint[-1])


# ------------------------------------------------------------------ pure parts
def test_route_from_deep_links():
    assert Route.parse({}) == Route("runs")
    assert Route.parse({"run": ["r"]}) == Route("layer", "r")
    link = Route.parse({"run": ["r"], "layer": ["hidden"], "neuron": ["3"],
                        "checkpoint": ["40"]})
    assert link == Route("neuron", "r", "hidden", 3, 40)
    assert Route.parse({k: [v] for k, v in link.query().items()}) == link
    with pytest.raises(InfomorphError, match="whole number"):
        Route.parse({"neuron": ["x"]})
    with pytest.raises(InfomorphError, match="unknown page"):
        Route.parse({"page": ["secrets"]})


def test_logdir_accepts_only_the_runs_it_found(trained_logdir, tmp_path):
    name = the_run(trained_logdir)
    assert resolve(trained_logdir, name) == trained_logdir / name
    for bad in ("..", "../x", "/etc", f"{name}/..", ""):
        with pytest.raises(InfomorphError, match="no run named"):
            resolve(trained_logdir, bad)
    # a run reached through a symlink that leaves the LOGDIR is not listed
    logdir = tmp_path / "logdir"
    logdir.mkdir()
    (logdir / "link").symlink_to(trained_logdir / name, target_is_directory=True)
    (logdir / "fake").mkdir()
    (logdir / "fake" / RUN_FILE).symlink_to(trained_logdir / name / RUN_FILE)
    assert run_dirs(logdir) == {}
    with pytest.raises(InfomorphError, match="does not exist"):
        run_dirs(tmp_path / "missing")


def test_scan_reports_a_corrupt_run_in_one_line(trained_logdir, tmp_path):
    shutil.copytree(trained_logdir, tmp_path / "l")
    (tmp_path / "l" / "bad").mkdir()
    (tmp_path / "l" / "bad" / RUN_FILE).write_bytes(b"not hdf5" * 100)
    entries = {e.name: e for e in scan(tmp_path / "l")}
    assert entries["bad"].error and "\n" not in entries["bad"].error
    good = entries[the_run(trained_logdir)]
    assert good.error is None and good.status == "finished" and good.analysis == "up to date"
    assert good.preset == "trivariate-optimized" and good.hidden == 12
    assert 0 <= good.test_accuracy <= 1
    assert good.null == "5"  # the fixture's analysis: 5 shuffles at every checkpoint
    from inspector.analysis import AnalysisSettings, analyze_run

    analyze_run(tmp_path / "l" / the_run(trained_logdir),
                AnalysisSettings(shuffles=3, shuffle_steps="last"), force=True)
    assert {e.name: e for e in scan(tmp_path / "l")}[good.name].null == "3 (last step)"
    analyze_run(tmp_path / "l" / the_run(trained_logdir), force=True)
    assert {e.name: e for e in scan(tmp_path / "l")}[good.name].null is None


# ------------------------------------------------------------------ pages
def test_runs_page_lists_runs(trained_logdir, monkeypatch):
    at = app(trained_logdir, monkeypatch)
    no_traceback(at)
    assert at.header[0].value == "Runs"
    table = at.dataframe[0].value
    assert list(table.run) == [the_run(trained_logdir)]
    assert table.status[0] == "finished" and table.analysis[0] == "up to date"
    assert table.null[0] == "5"
    assert table.open[0].startswith("?page=layer&run=")
    assert "test_accuracy" in table and "recall" not in table  # no memory run here
    # every column shown, the link and the analysis state before the counts
    order = list(at.dataframe[0].proto.column_order)
    assert set(order) == set(table.columns) and order[:2] == ["run", "open"]
    assert order.index("analysis") < order.index("checkpoints")
    # the task's result before the analysis' details
    assert order.index("test_accuracy") < order.index("null")


def test_runs_page_filters(trained_logdir, monkeypatch):
    at = app(trained_logdir, monkeypatch)
    at.text_input[0].input("no-such-run").run()
    assert len(at.dataframe[0].value) == 0
    at.text_input[0].input(the_run(trained_logdir)[:3]).run()
    assert len(at.dataframe[0].value) == 1


def test_open_and_compare_from_the_runs_page(trained_logdir, monkeypatch):
    at = app(trained_logdir, monkeypatch)
    at.button(key="open-layer").click().run()
    no_traceback(at)
    assert param(at, "page") == ["layer"] and at.header[0].value == "Layer"
    at = app(trained_logdir, monkeypatch)
    at.button(key="compare").click().run()
    no_traceback(at)
    assert at.header[0].value == "Compare"
    assert param(at, "runs") == [the_run(trained_logdir)]


def test_a_button_draws_the_new_page_without_running_the_old_one(trained_logdir, monkeypatch):
    from inspector.app import runs_page

    at = app(trained_logdir, monkeypatch)
    shown = []
    original = runs_page.show
    monkeypatch.setattr(runs_page, "show", lambda *a: (shown.append(a), original(*a)))
    at.button(key="open-layer").click().run()
    no_traceback(at)
    assert at.header[0].value == "Layer" and shown == []  # the runs page did not run again


def test_the_server_prepares_the_layer_pages_first_charts(trained_logdir, monkeypatch):
    import streamlit as st

    from inspector.app import data, serve

    st.cache_resource.clear()
    st.cache_data.clear()
    built = []
    builders = data._layer_charts()

    def counting() -> dict:
        def counted(kind):
            return lambda *args: (built.append(kind), builders[kind](*args))[1]

        return {kind: counted(kind) for kind in builders}

    monkeypatch.setattr(data, "_layer_charts", counting)
    assert serve.warm_runs(str(trained_logdir)) == [the_run(trained_logdir)]
    assert sorted(built) == ["composition", "heatmap", "simplex"]
    built.clear()
    at = app(trained_logdir, monkeypatch, run=the_run(trained_logdir))
    no_traceback(at)
    assert len(charts(at)) == 3 and built == []  # the page found all three ready


def test_a_run_that_fails_to_prepare_does_not_stop_the_others(trained_logdir, tmp_path,
                                                               monkeypatch):
    from inspector.app import layer_page, serve

    run = the_run(trained_logdir)
    for name in ("a", "b"):
        shutil.copytree(trained_logdir / run, tmp_path / "l" / name)
    prepare = layer_page.first_charts

    def failing_for_a(logdir, name):
        if name == "a":
            raise OSError("analysis.nc: read error")
        return prepare(logdir, name)

    monkeypatch.setattr(layer_page, "first_charts", failing_for_a)
    assert serve.warm_runs(str(tmp_path / "l")) == ["b"]


def test_layer_page(trained_logdir, monkeypatch):
    run = the_run(trained_logdir)
    at = app(trained_logdir, monkeypatch, run=run)
    no_traceback(at)
    assert not at.error
    specs = [c.proto.spec for c in charts(at)]
    # composition, simplex and the open tab's heatmap (one image); the other tab waits
    assert len(specs) == 3 and '"image"' in specs[2]
    assert not any("goal / H(Y)" in s for s in specs)
    classes = at.table[0].value
    assert classes.neurons.sum() == 12
    assert "not beating" not in specs[2]
    at.toggle(key="heatmap-significant").set_value(True).run()  # analysed with shuffles
    no_traceback(at)
    assert "grey: not beating the shuffle null" in [c.proto.spec for c in charts(at)][2]
    at.toggle(key="heatmap-significant").set_value(False).run()
    at.session_state["layer-tab"] = "Beating the null over training"  # analysed with shuffles
    at.run()
    no_traceback(at)
    assert "Neurons beating the shuffle null in layer hidden" in [
        c.proto.spec for c in charts(at)][2]
    assert any("no p value goes below 1/6" in t for t in texts(at.warning))  # 5 shuffles
    at.session_state["layer-tab"] = "Goal and accuracy"
    at.run()
    no_traceback(at)
    specs = [c.proto.spec for c in charts(at)]
    # composition, simplex, goal attainment, accuracy
    assert len(specs) == 4 and not at.table
    assert any("goal / H(Y)" in s for s in specs) and any('"Accuracy"' in s for s in specs)
    at.session_state["layer-tab"] = "Classes over training"
    at.run()
    no_traceback(at)
    specs = [c.proto.spec for c in charts(at)]
    assert len(specs) == 3 and "Neuron classes of layer hidden over training" in specs[2]
    at.session_state["layer-tab"] = "Atoms at this checkpoint"
    at.run()
    no_traceback(at)
    table = at.dataframe[0].value
    ds = open_analysis(resolve(trained_logdir, run))["hidden"].ds
    step = int(ds.checkpoint[-1])
    assert len(table) == 18 and len(charts(at)) == 2  # only the composition and simplex
    np.testing.assert_allclose(table.mean_bits, ds.pid.sel(checkpoint=step).mean("neuron"))
    np.testing.assert_allclose(table.null_mean_bits,
                               ds.pid_null_mean.sel(checkpoint=step).mean("neuron"))
    assert ((table.significant_share >= 0) & (table.significant_share <= 1)).all()
    assert (table.significant_share_fdr <= table.significant_share).all()
    assert (table.q25_bits <= table.median_bits).all()
    assert (table.median_bits <= table.q75_bits).all()
    # analysed with 5 shuffles: p >= 1/6, no atom can be significant, and the page says so
    assert (table.significant_share == 0).all()
    assert any("no p value goes below 1/6" in t for t in texts(at.warning))


def test_defaults_settle_into_the_link(trained_logdir, monkeypatch):
    at = app(trained_logdir, monkeypatch, page="layer")
    no_traceback(at)
    assert param(at, "run") == [the_run(trained_logdir)] and param(at, "layer") == ["hidden"]
    at.selectbox(key="layer-hidden").set_value("readout").run()
    no_traceback(at)
    assert param(at, "layer") == ["readout"] and at.caption[0].value.startswith("10 neurons")


def test_layer_page_opens_a_neuron(trained_logdir, monkeypatch):
    at = app(trained_logdir, monkeypatch, run=the_run(trained_logdir), layer="hidden")
    at.number_input(key="neuron-number").set_value(5).run()
    at.button(key="open-neuron").click().run()
    no_traceback(at)
    assert param(at, "page") == ["neuron"] and param(at, "neuron") == ["5"]
    assert at.subheader[0].value.startswith("Neuron 5 of layer hidden")
    # a number typed and the button clicked in one go (one run): the typed number counts
    at = app(trained_logdir, monkeypatch, run=the_run(trained_logdir), layer="hidden")
    at.number_input(key="neuron-number").set_value(7)
    at.button(key="open-neuron").click().run()
    assert param(at, "neuron") == ["7"]


def test_sidebar_switches_pages_and_keeps_the_run(trained_logdir, monkeypatch):
    run = the_run(trained_logdir)
    at = app(trained_logdir, monkeypatch, run=run)
    at.sidebar.radio[0].set_value("neuron").run()
    no_traceback(at)
    assert param(at, "page") == ["neuron"] and param(at, "run") == [run]
    assert at.header[0].value == "Neuron"


def test_neuron_deep_link(trained_logdir, monkeypatch):
    run, step = the_run(trained_logdir), last_step(trained_logdir)
    at = app(trained_logdir, monkeypatch, run=run, layer="hidden", neuron="3",
             checkpoint=str(step))
    no_traceback(at)
    assert not at.error
    assert at.header[0].value == "Neuron"
    assert at.subheader[0].value.startswith(f"Neuron 3 of layer hidden at step {step}: ")
    table = at.dataframe[0].value
    ds = open_analysis(resolve(trained_logdir, run))["hidden"].ds
    np.testing.assert_allclose(table.bits, ds.pid.sel(neuron=3, checkpoint=step).values)
    assert "p_value" in table and ((table.p_value > 0) & (table.p_value <= 1)).all()
    from inspector.significance import q_values
    np.testing.assert_allclose(
        table.q_value, q_values(ds.p_value.sel(checkpoint=step)).sel(neuron=3))
    assert (table.q_value >= table.p_value).all()
    assert any("no p value goes below 1/6" in t for t in texts(at.warning))  # 5 shuffles
    np.testing.assert_allclose(table.null_mean, ds.pid_null_mean.sel(neuron=3, checkpoint=step))
    specs = [c.proto.spec for c in charts(at)]
    assert any("Receptive field" in s for s in specs)  # digits are 8x8 images
    # atoms (bits, shares), goal terms, receptive field, what it sees (F x C, F x L)
    assert len(specs) == 6
    assert at.subheader[1].value == f"What neuron 3 sees at step {step}"
    assert [json.loads(s)["title"]["text"] for s in specs[4:]] == [
        "F x C of neuron 3", "F x L of neuron 3"]
    # image-like charts at their own size: square cells, not squeezed to the column
    assert [json.loads(s).get("autosize") for s in specs[3:]] == [{"type": "pad"}] * 3
    cells = chart_frame(charts(at)[4])
    assert cells.samples.sum() == ds.attrs["n_samples"]  # every probe sample, once
    metrics = {m.label: m.value for m in at.metric}
    one = ds.sel(neuron=3, checkpoint=step)
    assert metrics["goal"] == f"{float(one.goal):.4f} bits"
    assert metrics["H(Y)"] == f"{float(one.entropy):.4f} bits"
    assert {"unique share", "redundant share", "synergistic share", "mixed share",
            "I(Y; sources)", "negative mass"} <= set(metrics)
    at.button(key="next").click().run()
    assert param(at, "neuron") == ["4"]


def test_readout_neuron_has_no_receptive_field(trained_logdir, monkeypatch):
    at = app(trained_logdir, monkeypatch, run=the_run(trained_logdir), layer="readout",
             neuron="0")
    no_traceback(at)
    assert any("No receptive field: the feedforward input (12 values) is not an image" in t
               for t in texts(at.caption))
    # what it sees is still drawn: its one pair of sources, after atoms, shares, goal terms
    titles = [json.loads(c.proto.spec)["title"] for c in charts(at)]
    assert [t["text"] for t in titles[3:]] == ["F x C of neuron 0"]


@pytest.mark.parametrize(("query", "message"), [
    ({"run": "nope"}, "no run named 'nope'"),
    ({"run": "../outside"}, "no run named '../outside'"),
    ({"run": "/etc/passwd"}, "no run named '/etc/passwd'"),
    ({"layer": "hidden2", "neuron": "0"}, "has no layer 'hidden2'"),
    ({"layer": "hidden", "neuron": "99"}, "has no neuron 99; it has 0..11"),
    ({"layer": "hidden", "neuron": "-1"}, "has no neuron -1"),
    ({"layer": "hidden", "neuron": "1", "checkpoint": "123456"}, "no analysed checkpoint"),
    ({"layer": "hidden", "neuron": "one"}, "neuron must be a whole number"),
    ({"page": "admin"}, "unknown page 'admin'"),
])
def test_bad_deep_links_show_a_message(trained_logdir, monkeypatch, query, message):
    query = {"run": the_run(trained_logdir), **query}
    at = app(trained_logdir, monkeypatch, **query)
    no_traceback(at)
    assert any(message in t for t in texts(at.error)), texts(at.error)


def test_nothing_outside_the_logdir_is_read(trained_logdir, tmp_path, monkeypatch):
    # A real run beside the LOGDIR, named by a relative path and through a symlink.
    shutil.copytree(trained_logdir, tmp_path / "outside")
    (tmp_path / "logdir").mkdir()
    (tmp_path / "logdir" / "link").symlink_to(tmp_path / "outside", target_is_directory=True)
    opened = []
    import storage._reader as reader

    real = reader.open_run
    monkeypatch.setattr(reader, "open_run", lambda p: opened.append(p) or real(p))
    for run in (f"../outside/{the_run(trained_logdir)}", "link", str(tmp_path / "outside")):
        at = app(tmp_path / "logdir", monkeypatch, run=run)
        no_traceback(at)
        assert any("no run named" in t for t in texts(at.error))
    assert opened == []


def test_empty_and_missing_logdirs(tmp_path, monkeypatch):
    at = app(tmp_path, monkeypatch)
    no_traceback(at)
    assert any("No runs in" in t for t in texts(at.info))
    for page in ("layer", "neuron", "compare", "export"):
        at = app(tmp_path, monkeypatch, page=page)
        no_traceback(at)
        expected = "No run in" if page == "compare" else "No analysed run"
        assert any(expected in t for t in texts(at.info)), page
    at = app(tmp_path / "missing", monkeypatch)
    no_traceback(at)
    assert any("does not exist" in t for t in texts(at.error))
    monkeypatch.delenv("INFOMORPH_LOGDIR")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert any("No LOGDIR given" in t for t in texts(at.error))


def test_corrupt_run_among_good_ones(trained_logdir, tmp_path, monkeypatch):
    shutil.copytree(trained_logdir, tmp_path / "l")
    (tmp_path / "l" / "bad").mkdir()
    (tmp_path / "l" / "bad" / RUN_FILE).write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 50)
    at = app(tmp_path / "l", monkeypatch)
    no_traceback(at)
    assert any(t.startswith("bad: ") for t in texts(at.warning))
    assert list(at.dataframe[0].value.run) == [the_run(trained_logdir)]
    at = app(tmp_path / "l", monkeypatch, run="bad")
    no_traceback(at)
    # its run file is damaged: said so, and no analysis offered that could only fail
    assert any(t.startswith("Run 'bad' cannot be read: ") for t in texts(at.error))
    assert not [b for b in at.button if b.key == "analyse-one"]


def test_unanalysed_run_is_offered_an_analysis(trained_logdir, tmp_path, monkeypatch):
    shutil.copytree(trained_logdir, tmp_path / "l")
    run = the_run(trained_logdir)
    (tmp_path / "l" / run / ANALYSIS_FILE).unlink()
    at = app(tmp_path / "l", monkeypatch, run=run)
    no_traceback(at)
    assert any("has no analysis yet" in t for t in texts(at.warning))
    at.button(key="analyse-one").click().run()
    no_traceback(at)
    assert (tmp_path / "l" / run / ANALYSIS_FILE).exists()
    assert at.header[0].value == "Layer" and len(charts(at)) == 3
    # the same from the runs page
    (tmp_path / "l" / run / ANALYSIS_FILE).unlink()
    at = app(tmp_path / "l", monkeypatch)
    assert at.dataframe[0].value.analysis[0] == "missing"
    at.button(key="analyse").click().run()
    no_traceback(at)
    assert at.dataframe[0].value.analysis[0] == "up to date"
    assert "p_value" not in open_analysis(tmp_path / "l" / run)["hidden"].ds  # the defaults
    # with a shuffle null asked for
    (tmp_path / "l" / run / ANALYSIS_FILE).unlink()
    at = app(tmp_path / "l", monkeypatch)
    at.number_input(key="analyse-shuffles").set_value(3).run()
    at.button(key="analyse").click().run()
    no_traceback(at)
    assert open_analysis(tmp_path / "l" / run)["hidden"].attrs["shuffles"] == 3


def test_compare_page_draws_metrics_of_runs_without_an_analysis(trained_logdir, tmp_path,
                                                                 monkeypatch):
    run = the_run(trained_logdir)
    for name in ("a", "b"):
        shutil.copytree(trained_logdir / run, tmp_path / "l" / name)
    (tmp_path / "l" / "b" / ANALYSIS_FILE).unlink()
    at = app(tmp_path / "l", monkeypatch, page="compare")
    no_traceback(at)
    assert at.multiselect[0].options == ["a", "b"]
    assert any("1 of these runs have no readable analysis" in t for t in texts(at.caption))
    drawn = charts(at)
    assert len(drawn) == 3  # metric bands of both runs, atom bands and classes of "a"
    # both runs are one group (copies of one run): n = 2 in the metric chart, 1 elsewhere
    assert set(chart_frame(drawn[0]).n) == {2} and set(chart_frame(drawn[1]).n) == {1}
    assert at.dataframe[-1].value.n.max() == 1
    # the export page keeps to analysed runs and says so; with none analysed, Compare
    # still draws the metrics
    for name in ("b", "c"):
        (tmp_path / "m" / name).mkdir(parents=True)
        shutil.copy(tmp_path / "l" / "b" / RUN_FILE, tmp_path / "m" / name / RUN_FILE)
    at = app(tmp_path / "m", monkeypatch, page="compare")
    no_traceback(at)
    assert not at.error and len(charts(at)) == 1 and not at.dataframe
    assert set(chart_frame(charts(at)[0]).n) == {2}
    at = app(tmp_path / "l", monkeypatch, page="export")
    assert at.multiselect[0].options == ["a"]
    assert any("1 run(s) without a readable analysis are not listed" in t
               for t in texts(at.caption))


def test_compare_page_names_groups_alike_in_every_chart(tmp_path, monkeypatch):
    """Runs of one preset that differ in a setting, one of them analysed: the analysed run's
    group keeps the name the metric chart gives it (made over all chosen runs)."""
    from test_analysis import gate_run

    from inspector.analysis import analyze_run

    analyze_run(gate_run(tmp_path / "l" / "x", config={"lr_hidden": 0.1}))
    gate_run(tmp_path / "l" / "y", config={"lr_hidden": 0.2})
    at = app(tmp_path / "l", monkeypatch, page="compare")
    no_traceback(at)
    drawn = charts(at)
    assert set(chart_frame(drawn[0]).group) == {"gates (lr_hidden=0.1)",
                                                 "gates (lr_hidden=0.2)"}
    assert set(chart_frame(drawn[1]).group) == {"gates (lr_hidden=0.1)"}
    assert list(at.dataframe[-1].value.group.unique()) == ["gates (lr_hidden=0.1)"]


def test_a_running_run_refreshes_without_a_restart(tmp_path, monkeypatch):
    spec = make_spec(neurons=4, samples=32)
    writer = RunWriter.create(tmp_path / "live", spec)
    for i in range(2):
        writer.append(step_of(i), epoch=i, layers=make_record(spec, i),
                      metrics={"loss": 1.0, "accuracy": 0.5})
    at = app(tmp_path, monkeypatch)
    row = at.dataframe[0].value.iloc[0]
    assert (row.status, row.checkpoints) == ("running", 2)
    writer.append(step_of(2), epoch=2, layers=make_record(spec, 2),
                  metrics={"loss": 1.0, "accuracy": 0.6})
    at.sidebar.button[0].click().run()  # Refresh
    row = at.dataframe[0].value.iloc[0]
    assert (row.status, row.checkpoints) == ("running", 3)
    writer.finish()
    writer.close()


def test_compare_page(trained_logdir, monkeypatch):
    at = app(trained_logdir, monkeypatch, page="compare")
    no_traceback(at)
    specs = [c.proto.spec for c in charts(at)]
    assert len(specs) == 3 and all("s.d. over runs" in s for s in specs[:2])
    assert any(c.value.startswith("1 run in 1 group; ") for c in at.caption)
    # the atoms' estimates are named beside them (DESIGN: samples and bins beside figures)
    assert "probe samples" in specs[1] and "probe samples" in specs[2]
    # both charts colour the groups alike (the same domain, also for a group without values)
    scales = [json.loads(s)["layer"][1]["encoding"]["color"]["scale"] for s in specs[:2]]
    assert scales[0] == scales[1] and scales[0]["domain"]
    assert "Neuron classes of layer" in specs[2]
    at.toggle(key="compare-significance").set_value(True).run()  # analysed with shuffles
    no_traceback(at)
    assert "neurons beating the null" in [c.proto.spec for c in charts(at)][1]
    at.toggle(key="compare-significance").set_value(False).run()
    classes, table = at.dataframe[0].value, at.dataframe[1].value
    shares = classes[["unique", "redundant", "synergistic", "mixed", "none"]]
    assert len(classes) == 1 and shares.sum(axis=1).iloc[0] == pytest.approx(1.0)
    assert classes.runs.iloc[0] == 1
    # the chosen layer's atoms, without what the group name says (preset, goal)
    assert len(table) == 18 and (table.n == 1).all()
    assert {"preset", "goal", "layer", "sources"}.isdisjoint(table.columns)
    assert {"mean_bits", "significant_share_fdr", "null_mean_bits"} <= set(table.columns)
    # the tables at another step every run has
    slider = at.select_slider(key="compare-step")
    assert slider.options[0] == "last" and len(slider.options) > 2
    step = slider.options[1]
    slider.set_value(step).run()
    no_traceback(at)
    assert [h.value for h in at.subheader] == [f"Neuron classes at step {step}",
                                               f"Atoms at step {step}"]
    assert set(at.dataframe[1].value.steps) == {step}


def test_compare_page_with_unknown_runs(trained_logdir, monkeypatch):
    at = app(trained_logdir, monkeypatch, page="compare", runs=["ghost"])
    no_traceback(at)
    assert any("no run named 'ghost'" in t for t in texts(at.error))
    at = app(trained_logdir, monkeypatch, page="export", runs=["ghost"])
    assert any("no analysed run named 'ghost'" in t for t in texts(at.error))


def test_export_page_offers_downloads(trained_logdir, monkeypatch):
    at = app(trained_logdir, monkeypatch, page="export")
    no_traceback(at)
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Atom table (csv)", "Atom table (latex)", "Atom table (markdown)",
                      "Class table (csv)", "Class table (latex)", "Class table (markdown)",
                      "Neuron table (csv)"]
    preview = at.dataframe[0].value  # the atom table, its long goal column last
    assert preview.columns[-1] == "goal" and preview.columns[0] == "group"
    at.selectbox(key="fig-kind").select("heatmap").run()
    at.toggle(key="fig-significant").set_value(True).run()
    no_traceback(at)
    assert any("grey: not beating" in c.proto.spec for c in charts(at))
    at.selectbox(key="fig-kind").select("composition").run()
    at.button(key="fig-render").click().run()
    no_traceback(at)
    assert [b.proto.label for b in at.get("download_button")][-1] == "Download composition.svg"
    # a neuron's figures, as `infomorph export --neuron N` writes them
    at.number_input(key="fig-neuron").set_value(4).run()
    kinds = at.selectbox(key="fig-neuron-kind-hidden")
    assert kinds.options == ["atoms", "goal", "sees-F-C", "sees-F-L"]
    kinds.select("sees-F-L").run()
    at.button(key="neuron-fig-render").click().run()
    no_traceback(at)
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download neuron4-sees-F-L.svg" in labels
    # across runs: the neuron classes of each layer, test accuracy
    options = at.selectbox(key="across-kind").options
    assert options == ["neuron classes per group, layer hidden",
                       "neuron classes per group, layer readout",
                       "test_accuracy over training per group"]
    at.selectbox(key="across-kind").select_index(2).run()
    at.button(key="across-render").click().run()
    no_traceback(at)
    assert [b.proto.label for b in at.get("download_button")][-1] == "Download test_accuracy.svg"


def test_auto_refresh_keeps_the_page(trained_logdir, monkeypatch):
    at = app(trained_logdir, monkeypatch, run=the_run(trained_logdir), layer="hidden",
             neuron="2")
    at.sidebar.toggle[0].set_value(True).run()
    no_traceback(at)
    assert at.subheader[0].value.startswith("Neuron 2 of layer hidden")


def test_view_command_line(tmp_path, capsys, monkeypatch):
    from inspector.cli import _view, main
    from inspector.cli._view import command

    def no_server(*args):
        raise AssertionError("a bad invocation reached the server")

    # a regression fails here instead of replacing pytest with a server
    monkeypatch.setattr(_view.os, "execv", no_server)

    assert main(["view", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err
    assert main(["view", str(tmp_path), "--port", "70000"]) == 2
    capsys.readouterr()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["view", str(tmp_path), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"port {port} on 127.0.0.1 is in use" in err
    argv = command(tmp_path, 8123)
    assert argv[argv.index("--server.address") + 1] == "127.0.0.1"
    assert argv[-2:] == ["--", str(tmp_path)]


def test_serve_warms_up_then_hands_over_to_streamlit(monkeypatch, capsys):
    import streamlit.web.cli

    from inspector.app import serve

    seen = {}

    def fake(args, prog_name, standalone_mode):
        seen.update(args=args, prog_name=prog_name)
        return 0

    monkeypatch.setattr(streamlit.web.cli, "main", fake)
    import streamlit.delta_generator as delta_generator

    # the once-per-process check before Streamlit's first element (is it a REPL?) is paid
    # here, not by the first page: a Streamlit that renames this flag fails here
    monkeypatch.setattr(delta_generator, "_use_warning_has_been_displayed", False)
    assert serve.main(["run", "app.py", "--", "LOGDIR"]) == 0
    assert seen == {"args": ["run", "app.py", "--", "LOGDIR"], "prog_name": "streamlit"}
    assert delta_generator._use_warning_has_been_displayed is True
    assert "streamlit.emojis" in sys.modules  # the page icon's catalogue

    def broken():
        raise OSError("disk gone")

    monkeypatch.setattr(serve, "warm", broken)
    assert serve.main(["run", "app.py"]) == 0  # a failed warm-up still serves
    assert "warm-up skipped (OSError: disk gone)" in capsys.readouterr().err


def test_viewing_does_not_import_torch():
    # The app's views need lattices and labels only; torch (~2 s to import) loads on first
    # use of the estimators.
    import subprocess
    import sys

    code = ("import sys, inspector.charts, inspector.curves, inspector.neuron_charts, "
            "inspector.neuron_inputs, inspector.logdir, inspector.export\n"
            "from inspector.cli import build_parser\n"
            "build_parser()\n"  # every verb's parser: `infomorph info` starts in 0.9 s
            "assert 'torch' not in sys.modules, 'torch imported'\n"
            "from inspector.pid import decompose\n"
            "assert 'torch' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_click_on_the_simplex_names_a_neuron():
    from types import SimpleNamespace

    from inspector.app.layer_page import _picked_neuron
    from inspector.charts import HEATMAP_PICK, SIMPLEX_PICK

    def event(points):
        return SimpleNamespace(selection={SIMPLEX_PICK: points})

    assert _picked_neuron(event([{"neuron": 7}])) == 7
    assert _picked_neuron(event([])) is None
    assert _picked_neuron(SimpleNamespace(selection={})) is None
    assert _picked_neuron(None) is None
    heatmap = SimpleNamespace(selection={HEATMAP_PICK: [{"neuron": 3}]})
    assert _picked_neuron(heatmap, HEATMAP_PICK) == 3 and _picked_neuron(heatmap) is None


def test_a_damaged_analysis_is_offered_a_new_one(trained_logdir, tmp_path, monkeypatch):
    shutil.copytree(trained_logdir, tmp_path / "l")
    run = the_run(trained_logdir)
    target = tmp_path / "l" / run / ANALYSIS_FILE
    target.write_bytes(target.read_bytes()[:4000])  # truncated
    at = app(tmp_path / "l", monkeypatch)
    no_traceback(at)
    assert at.dataframe[0].value.analysis[0] == "unreadable"
    at = app(tmp_path / "l", monkeypatch, run=run, layer="hidden", neuron="1")
    no_traceback(at)
    assert any("no readable analysis" in t for t in texts(at.warning))
    at.button(key="analyse-one").click().run()
    no_traceback(at)
    assert at.subheader[0].value.startswith("Neuron 1 of layer hidden")


def test_compare_atoms_keep_sources_only_where_lattices_differ():
    import pandas as pd

    from inspector.app.compare_page import _compact_atoms

    table = pd.DataFrame({"group": ["a", "b", "a"], "preset": ["p", "q", "p"],
                          "goal": ["{}"] * 3, "layer": ["hidden", "hidden", "readout"],
                          "sources": ["F,C", "F,C,L", "F,C"], "atom": ["{F}"] * 3,
                          "mean_bits": [0.1, 0.2, 0.3]})
    hidden = _compact_atoms(table, "hidden")
    assert list(hidden.columns) == ["group", "sources", "atom", "mean_bits"]
    assert list(_compact_atoms(table, "readout").columns) == ["group", "atom", "mean_bits"]
