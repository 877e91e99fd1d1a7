"""The analysis layer: known gates through a run file, invariants on trained runs, refusals."""

import os
from math import log2

import numpy as np
import pytest
import xarray as xr

from inspector.analysis import AnalysisSettings, analyze, analyze_run
from inspector.cli import main
from inspector.errors import InfomorphError
from inspector.logdir import analysis_state
from inspector.pid.distributions import CATALOGUE
from storage import (
    LayerRecord,
    LayerSpec,
    ProbeSpec,
    RunSpec,
    RunWriter,
    SourceSpec,
    open_analysis,
    open_run,
    write_analysis,
)
from training.config import make_config
from training.trainer import train

GATES = ("xor", "and", "unq", "copy")


def gate_run(run_dir, checkpoints=2, layer_name="hidden", goal=None, config=None,
             lateral=False, finish=True):
    """A run whose hidden neuron k outputs gate k of its two binned sources (F, C): sources at
    -10 / +10 land in different fixed bins; theta is the gate's (binary) output. ``lateral``
    adds a third source L, a copy of F (a trivariate lattice)."""
    s = np.array([[a, b] for a in (0, 1) for b in (0, 1)] * 16)  # 64 samples, balanced
    neurons = len(GATES)
    theta = np.zeros((len(s), neurons), np.float32)
    for k, name in enumerate(GATES):
        rule = CATALOGUE[name].rule
        theta[:, k] = [rule(a, b) % 2 if name != "copy" else a for a, b in s]
    layer = LayerSpec(
        layer_name,
        neurons,
        (SourceSpec("F", 2), SourceSpec("C", 2), *([SourceSpec("L", 2)] if lateral else [])),
        binning={"method": "fixed", "bins": 20, "value_range": [-20, 20]},
        goal=goal or {"{F}{C}": 1.0, "{FC}": -0.5, "H_res": 0.25},
    )
    spec = RunSpec(
        {"preset": "gates", "hidden": neurons, "seed": 0, **(config or {})},
        (layer,),
        ProbeSpec("synthetic", list(range(len(s)))),
        ("loss",),
    )
    values = np.repeat((s * 20 - 10).astype(np.float32)[:, None, :], neurons, axis=1)
    with RunWriter.create(run_dir, spec) as w:
        for i in range(checkpoints):
            w.append(
                i,
                layers={
                    layer_name: LayerRecord(
                        sources={"F": values[..., 0], "C": values[..., 1],
                                 **({"L": values[..., 0]} if lateral else {})},
                        theta=theta,
                        output=np.where(theta > 0.5, 1, -1).astype(np.int8),
                    )
                },
                metrics={"loss": 0.0},
            )
        if finish:
            w.finish()
    return run_dir


def test_gates_recorded_as_a_run_give_the_published_atoms(tmp_path):
    tree = analyze(gate_run(tmp_path / "g"))
    ds = tree["hidden"].ds
    assert ds.pid.dims == ("checkpoint", "neuron", "atom")
    assert ds.atom.values.tolist() == ["{F}{C}", "{F}", "{C}", "{FC}"]
    for k, name in enumerate(GATES[:3]):
        expected = [
            CATALOGUE[name].atoms.get(label, 0.0) for label in ("{1}{2}", "{1}", "{2}", "{12}")
        ]
        np.testing.assert_allclose(ds.pid.isel(checkpoint=-1, neuron=k), expected, atol=1e-9)
    # neuron 3 copies source F: I(Y;F) = 1 bit, {F} unique 0.5849..., {F}{C} = log2(4/3)
    copy = ds.pid.isel(checkpoint=0, neuron=3)
    np.testing.assert_allclose(copy.sel(atom="{F}{C}"), log2(4 / 3), atol=1e-9)
    assert ds.neuron_class.isel(checkpoint=0).values.tolist()[0] == "unique"  # xor: 1.17 of 1.59
    # the goal is gamma . [atoms, H_res], term by term
    expected_goal = (
        ds.pid.sel(atom="{F}{C}") - 0.5 * ds.pid.sel(atom="{FC}") + 0.25 * ds.residual_entropy
    )
    np.testing.assert_allclose(ds.goal, expected_goal, atol=1e-12)
    assert ds.goal_terms.goal_term.values.tolist() == ["{F}{C}", "{FC}", "H_res"]
    np.testing.assert_allclose(ds.goal_change.isel(checkpoint=0), 0)
    assert tree.attrs["n_samples"] == 64 and ds.attrs["bins"] == 20


def test_shuffle_p_values_separate_information_from_bias(tmp_path):
    tree = analyze(gate_run(tmp_path / "g", checkpoints=1), AnalysisSettings(shuffles=19))
    p = tree["hidden"].ds.p_value.isel(checkpoint=0)
    assert float(p.sel(neuron=0, atom="{FC}")) == pytest.approx(1 / 20)  # xor synergy
    assert ((p > 0) & (p <= 1)).all()
    # the null's mean atoms: the bias of the plug-in estimate with 64 samples. Their sum is
    # the mean I(shuffled Y; sources) >= 0, far below what the gates carry, and the same
    # shuffles give the same numbers
    ds = tree["hidden"].ds
    bias = ds.pid_null_mean.isel(checkpoint=0)
    assert ds.pid_null_mean.attrs["units"] == "bits"
    null_mi = bias.sum("atom")
    assert (null_mi >= -1e-12).all() and (null_mi > 0).any()
    mi = ds.mutual_information.isel(checkpoint=0)
    assert (null_mi[mi > 0.5] < 0.25 * mi[mi > 0.5]).all()
    again = analyze(gate_run(tmp_path / "h", checkpoints=1), AnalysisSettings(shuffles=19))
    np.testing.assert_array_equal(again["hidden"].ds.pid_null_mean.values,
                                  ds.pid_null_mean.values)


def test_progress_counts_every_layers_checkpoints_in_order(tmp_path):
    calls = []
    path, written = analyze_run(gate_run(tmp_path / "g", checkpoints=3),
                                AnalysisSettings(shuffles=2), progress=lambda *a: calls.append(a))
    assert written and calls == [(k, 3) for k in range(1, 4)]  # one layer x 3 checkpoints
    calls.clear()
    analyze_run(path.parent, AnalysisSettings(shuffles=2), progress=lambda *a: calls.append(a))
    assert calls == []  # up to date: nothing computed, nothing reported


def test_invariants_on_a_trained_run(tmp_path):
    run_dir = train(
        make_config({"epochs": "3", "hidden": "10", "checkpoints": "3", "probe_size": "128"}),
        tmp_path,
        "r",
        progress=False,
    )
    tree = analyze(run_dir)
    for layer in ("hidden", "readout"):
        ds = tree[layer].ds
        np.testing.assert_allclose(ds.pid.sum("atom"), ds.mutual_information, atol=1e-9)
        np.testing.assert_allclose(ds.pid.sum("atom") + ds.residual_entropy, ds.entropy, atol=1e-9)
        assert set(np.unique(ds.neuron_class)) <= {
            "unique",
            "redundant",
            "synergistic",
            "mixed",
            "none",
        }
        fractions = ds.class_fraction.sum("atom_class")
        assert np.all((np.abs(fractions - 1) < 1e-9) | (fractions == 0))
    assert tree["/"].ds.test_accuracy.dims == ("checkpoint",)


def test_analysis_file_is_written_once_and_recomputed_when_settings_change(tmp_path):
    run_dir = gate_run(tmp_path / "g")
    path, written = analyze_run(run_dir)
    assert written and path.name == "analysis.nc"
    mtime = path.stat().st_mtime_ns
    assert analyze_run(run_dir) == (path, False)
    assert path.stat().st_mtime_ns == mtime
    _, written = analyze_run(run_dir, AnalysisSettings(bins=4))
    assert written
    assert open_analysis(run_dir)["hidden"].attrs["bins"] == 4


def test_an_analysis_stays_up_to_date_when_its_run_is_copied_and_not_when_it_grows(tmp_path):
    run_dir = gate_run(tmp_path / "g")
    analyze_run(run_dir)
    copy = tmp_path / "copy" / "g"
    copy.mkdir(parents=True)
    for name in ("run.h5", "analysis.nc"):  # as cp or scp do: new modification times
        (copy / name).write_bytes((run_dir / name).read_bytes())
    os.utime(copy / "run.h5", ns=(1, 1))
    assert analysis_state(open_run(copy)) == "up to date"
    assert analyze_run(copy) == (copy / "analysis.nc", False)
    # a resumed run (new provenance) and its new checkpoint make the analysis stale
    analyze_run(gate_run(tmp_path / "r", finish=False))
    fingerprint = open_run(tmp_path / "r").fingerprint
    with RunWriter.resume(tmp_path / "r") as w:
        w.finish()
    assert open_run(tmp_path / "r").fingerprint != fingerprint
    assert analysis_state(open_run(tmp_path / "r")) == "stale"
    # analyses of older versions recorded size:mtime:checkpoints; size and checkpoints count
    run = open_run(copy)
    size, n = run.fingerprint.split(":")[:2]
    tree = open_analysis(copy)
    for recorded, state in ((f"{size}:5:{n}", "up to date"), (f"{size}:5:{int(n) + 1}", "stale")):
        tree.attrs["run_fingerprint"] = recorded
        write_analysis(tree, copy / "analysis.nc")
        assert analysis_state(run) == state


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--binning", "kmeans"], "Unknown binning 'kmeans'; choose one of: fixed, maxnorm,"),
        (["--bins", "1"], "bins must be an integer >= 2, got 1"),
        (["--target", "fuzzy"], "Unknown target 'fuzzy'; choose one of: soft, hard."),
        (["--shuffles", "-3"], "shuffles must be >= 0, got -3"),
        (["--shuffle-steps", "first"], "Unknown shuffle steps 'first'; choose one of: all, last."),
        (["--workers", "0"], "--workers must be >= 1, got 0"),
    ],
)
def test_bad_settings_are_one_line_and_leave_no_file(argv, message, tmp_path, capsys):
    run_dir = gate_run(tmp_path / "g")
    assert main(["analyze", str(run_dir), "--quiet", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (run_dir / "analysis.nc").exists()


def test_a_corrupt_run_among_good_ones(tmp_path, capsys):
    gate_run(tmp_path / "logs" / "a")
    (tmp_path / "logs" / "b").mkdir()
    (tmp_path / "logs" / "b" / "run.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 50)
    gate_run(tmp_path / "logs" / "c")
    assert main(["analyze", str(tmp_path / "logs"), "--quiet", "--workers", "1"]) == 2
    captured = capsys.readouterr()
    assert "1 of 3 runs failed" in captured.err
    assert (tmp_path / "logs" / "a" / "analysis.nc").exists()
    assert (tmp_path / "logs" / "c" / "analysis.nc").exists()
    assert not (tmp_path / "logs" / "b" / "analysis.nc").exists()
    leftovers = [p.name for p in (tmp_path / "logs" / "b").iterdir()]
    assert leftovers == ["run.h5"]


def test_empty_logdir_and_parallel_workers(tmp_path, capsys):
    assert main(["analyze", str(tmp_path), "--quiet"]) == 2
    assert "no runs below" in capsys.readouterr().err
    gate_run(tmp_path / "a")
    gate_run(tmp_path / "b")
    assert main(["analyze", str(tmp_path), "--quiet", "--workers", "2"]) == 0
    assert open_analysis(tmp_path / "b")["hidden"].ds.pid.shape == (2, 4, 4)


def test_the_reader_returns_what_h5netcdf_reads(tmp_path):
    """open_analysis reads with netCDF-C what h5netcdf wrote: same variables, strings,
    attributes (JSON text, arrays) and NaN, bit for bit."""
    gate_run(tmp_path / "a")
    assert main(["analyze", str(tmp_path), "--quiet"]) == 0
    tree = open_analysis(tmp_path / "a")
    with xr.open_datatree(tmp_path / "a" / "analysis.nc", engine="h5netcdf") as ref:
        assert tree.identical(ref.load())
    lazy = open_analysis(tmp_path / "a", lazy=True)
    assert lazy["hidden"].ds.pid.identical(tree["hidden"].ds.pid)
    assert lazy.load().identical(tree)
    lazy.close()
    ds = tree["hidden"].ds
    assert ds.neuron_class.dtype.kind in "OU" and isinstance(ds.attrs["goal"], str)
    edited = tree.copy()
    edited["hidden"] = ds.assign(pid=ds.pid.where(ds.neuron != 0))  # NaN survive
    write_analysis(edited, tmp_path / "b.nc")
    assert open_analysis(tmp_path / "b.nc").identical(edited)


def test_missing_analysis_is_a_clear_error(tmp_path):
    with pytest.raises(InfomorphError, match="run `infomorph analyze` first"):
        open_analysis(tmp_path)


def test_analyze_on_a_dask_cluster(tmp_path, capsys):
    from distributed import LocalCluster

    gate_run(tmp_path / "logs" / "a")
    gate_run(tmp_path / "logs" / "b")
    (tmp_path / "logs" / "bad").mkdir()
    (tmp_path / "logs" / "bad" / "run.h5").write_text("not a run")
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=None) as cluster:
        code = main(["analyze", str(tmp_path / "logs"), "--quiet", "--scheduler",
                     cluster.scheduler_address])
    assert code == 2
    assert "1 of 3 runs failed" in capsys.readouterr().err
    assert open_analysis(tmp_path / "logs" / "a")["hidden"].ds.pid.shape == (2, 4, 4)
    assert (tmp_path / "logs" / "b" / "analysis.nc").exists()


def test_unreachable_scheduler_is_one_line(tmp_path, capsys):
    gate_run(tmp_path / "a")
    assert main(["analyze", str(tmp_path), "--quiet", "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach the dask scheduler at tcp://127.0.0.1:9" in err


def test_a_run_still_training_is_analysed_to_its_last_complete_checkpoint(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    factory = Path(__file__).with_name("run_factory.py")
    run_dir = tmp_path / "live"
    proc = subprocess.Popen([sys.executable, str(factory), str(run_dir), "40", "0.5", "new"],
                            stdout=subprocess.PIPE, text=True)
    try:
        proc.stdout.readline()
        proc.stdout.readline()  # two checkpoints complete
        tree = analyze(run_dir)
        steps = tree["hidden"].ds.checkpoint.values.tolist()
        assert len(steps) >= 2 and steps == sorted(steps)
        assert tree.attrs["run_status"] == "running"
        assert tree["hidden"].ds.pid.notnull().all()
    finally:
        proc.kill()
        proc.wait()


def test_threads_do_not_change_the_analysis(tmp_path, monkeypatch):
    import inspector.analysis as analysis

    run_dir = gate_run(tmp_path / "g", checkpoints=4)
    settings = AnalysisSettings(shuffles=5)
    monkeypatch.setattr(analysis, "CHECKPOINT_THREADS", 1)
    one = analyze(run_dir, settings)["hidden"].ds
    monkeypatch.setattr(analysis, "CHECKPOINT_THREADS", 3)
    three = analyze(run_dir, settings)["hidden"].ds
    xr.testing.assert_identical(one, three)


def test_analyze_notes_a_shuffle_null_too_small_for_significance(tmp_path, capsys):
    run_dir = gate_run(tmp_path / "g", checkpoints=1)
    assert main(["analyze", str(run_dir), "--shuffles", "3", "--quiet"]) == 0
    assert "note: with 3 shuffles no p value goes below 1/4" in capsys.readouterr().err
    assert main(["analyze", str(run_dir), "--shuffles", "19", "--quiet", "--force"]) == 0
    assert "note:" in capsys.readouterr().err  # p >= 1/20: never below 0.05
    assert main(["analyze", str(run_dir), "--shuffles", "20", "--quiet", "--force"]) == 0
    assert "note:" not in capsys.readouterr().err


def test_reanalysing_keeps_the_previous_settings_unless_given(tmp_path, capsys):
    """`infomorph analyze LOGDIR` after more training must not drop a run's shuffle null."""
    run_dir = gate_run(tmp_path / "logs" / "g", checkpoints=1)
    fresh = gate_run(tmp_path / "logs" / "h", checkpoints=1)
    assert main(["analyze", str(run_dir), "--shuffles", "20", "--quiet"]) == 0
    assert main(["analyze", str(tmp_path / "logs"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"{run_dir}: up to date" in out and f"{fresh}: analysed" in out
    assert "p_value" in open_analysis(run_dir)["hidden"].ds
    assert "p_value" not in open_analysis(fresh)["hidden"].ds  # no analysis before: defaults
    # a given setting replaces that one only; --shuffles 0 drops the null
    assert main(["analyze", str(run_dir), "--bins", "4", "--quiet"]) == 0
    tree = open_analysis(run_dir)
    assert tree["hidden"].attrs["bins"] == 4 and tree["hidden"].attrs["shuffles"] == 20
    assert main(["analyze", str(run_dir), "--shuffles", "0", "--quiet"]) == 0
    tree = open_analysis(run_dir)
    assert tree["hidden"].attrs["bins"] == 4 and "p_value" not in tree["hidden"].ds


def test_a_shuffle_null_at_the_last_checkpoint_only(tmp_path):
    from inspector.analysis import _settings_of

    run_dir = gate_run(tmp_path / "g", checkpoints=3)
    full = analyze(run_dir, AnalysisSettings(shuffles=9))["hidden"].ds
    last = analyze(run_dir, AnalysisSettings(shuffles=9, shuffle_steps="last"))["hidden"].ds
    assert last.p_value.isel(checkpoint=slice(0, 2)).isnull().all()
    assert last.pid_null_mean.isel(checkpoint=slice(0, 2)).isnull().all()
    # one random stream per checkpoint: the last step's null is the full analysis' own
    np.testing.assert_array_equal(last.p_value.isel(checkpoint=-1),
                                  full.p_value.isel(checkpoint=-1))
    np.testing.assert_array_equal(last.pid_null_mean.isel(checkpoint=-1),
                                  full.pid_null_mean.isel(checkpoint=-1))
    assert "last checkpoint only" in last.p_value.attrs["long_name"]
    np.testing.assert_array_equal(last.pid, full.pid)
    with pytest.raises(InfomorphError, match="Unknown shuffle steps 'first'; choose one of"):
        AnalysisSettings(shuffle_steps="first")
    # analyses written before the setting existed read as its default: still up to date
    old = {"settings": '{"binning": null, "bins": null, "target": "soft", "shuffles": 0, '
                       '"seed": 0}'}
    assert _settings_of(old) == AnalysisSettings()
    assert _settings_of({"settings": "not json"}) is None
