"""The run format: round trips, live reading, crash safety, refusals."""

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr
from run_factory import make_record, make_spec, step_of, value

from inspector.cli import main
from inspector.errors import InfomorphError
from storage import RunWriter, find_runs, open_run

FACTORY = Path(__file__).with_name("run_factory.py")


def write_run(run_dir, n=3, finish=True, **spec_kwargs):
    spec = make_spec(**spec_kwargs)
    writer = RunWriter.create(run_dir, spec)
    for i in range(n):
        writer.append(step_of(i), epoch=i / 2, layers=make_record(spec, i),
                      metrics={"loss": 1.0 / (i + 1), "accuracy": i / 100})
    if finish:
        writer.finish()
    else:
        writer.close()
    return spec


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_round_trip(tmp_path):
    spec = write_run(tmp_path / "run")
    run = open_run(tmp_path / "run")
    assert run.status == "finished"
    assert run.config == {"preset": "test", "seed": 7, "hidden": 6}
    assert run.checkpoints.tolist() == [5, 15, 25]
    assert [x.name for x in run.layers] == ["hidden", "readout"]
    assert run.layers[0].goal == {"{F}{C}": 1.0}
    for key in ("version", "git_commit", "torch", "numpy", "h5py", "host", "started"):
        assert key in run.provenance
    probe = run.probe("hidden", 15)
    assert probe.source_F.dims == ("sample", "neuron")
    np.testing.assert_array_equal(probe.source_F.values, value(1, (10, 6), 0.0))
    np.testing.assert_array_equal(probe.source_L.values, value(1, (10, 6), 0.5))
    assert probe.sample.values.tolist() == list(range(100, 110))
    assert probe.label.values.tolist() == [i % 3 for i in range(10)]
    assert int(probe.step) == 15 and float(probe.epoch) == 0.5
    last = run.probe("hidden")  # default: the last checkpoint
    assert int(last.step) == 25
    neuron = run.neuron("hidden", 4)
    assert neuron.theta.dims == ("step", "sample")
    for i in range(3):
        np.testing.assert_array_equal(neuron.source_C.values[i], value(i, (10, 6), 0.25)[:, 4])
    weights = run.weights("hidden", 5)
    assert weights["F.weight"].dims == ("neuron", "F_input")
    np.testing.assert_array_equal(weights["F.weight"].values, value(0, (6, 5), 0.5))
    metrics = run.metrics()
    assert metrics.index.name == "step" and metrics.index.tolist() == [5, 15, 25]
    np.testing.assert_allclose(metrics["loss"], [1, 1 / 2, 1 / 3])
    atoms = run.train_atoms("hidden")
    assert atoms.train_atoms.dims == ("step", "neuron", "atom")
    assert atoms.atom.values.tolist() == list(spec.layers[0].atoms)


def test_xarray_opens_named_dimensions(tmp_path):
    write_run(tmp_path / "run")
    ds = xr.open_dataset(tmp_path / "run" / "run.h5", engine="h5netcdf",
                         group="layers/hidden", phony_dims="sort")
    with ds:
        assert ds.source_F.dims == ("checkpoint", "neuron", "sample")
        assert ds.train_atoms.dims == ("checkpoint", "neuron", "atom")
        assert not any(d.startswith("phony") for d in ds.dims)


def test_chunked_compressed_resizable(tmp_path):
    write_run(tmp_path / "run")
    with h5py.File(tmp_path / "run" / "run.h5", "r") as f:
        ds = f["layers/hidden/source_F"]
        assert ds.maxshape[0] is None and ds.chunks == (1, 4, 10)
        assert ds.compression is None  # "auto": float activations are noise to gzip
        out = f["layers/hidden/output"]
        assert out.compression == "gzip" and out.shuffle and out.maxshape[0] is None
    spec = make_spec()
    with RunWriter.create(tmp_path / "gz", spec, compression="gzip") as w:
        w.append(1, layers=make_record(spec, 0))
    with h5py.File(tmp_path / "gz" / "run.h5", "r") as f:
        assert f["layers/hidden/source_F"].compression == "gzip"
    with pytest.raises(InfomorphError, match="Unknown compression 'zstd'; choose one of"):
        RunWriter.create(tmp_path / "z", spec, compression="zstd")
    assert not (tmp_path / "z" / "run.h5").exists()


def test_live_reading_from_another_process(tmp_path):
    run_dir = tmp_path / "live"
    proc = subprocess.Popen([sys.executable, str(FACTORY), str(run_dir), "8", "0.3", "new"],
                            stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    try:
        proc.stdout.readline()  # the first checkpoint is complete
        seen = []
        deadline = time.time() + 60
        while time.time() < deadline and len(seen) < 4:
            run = open_run(run_dir)
            n = run.n_checkpoints
            if not seen or n > seen[-1]:
                seen.append(n)
                assert run.status == "running"
                probe = run.probe("hidden", -1)  # always a whole checkpoint
                i = n - 1
                np.testing.assert_array_equal(probe.source_F.values,
                                              value(i, (256, 40), 0.0))
            time.sleep(0.05)
        assert len(seen) >= 4 and seen == sorted(seen)
    finally:
        proc.wait(timeout=60)
    assert open_run(run_dir).status == "finished"
    assert open_run(run_dir).n_checkpoints == 8


@pytest.mark.parametrize("delay", [0.0, 0.35, 0.9, 1.7])
def test_kill_9_leaves_every_complete_checkpoint_and_resume_continues(tmp_path, delay):
    run_dir = tmp_path / "crash"
    proc = subprocess.Popen([sys.executable, str(FACTORY), str(run_dir), "1000", "0.0", "new"],
                            stdout=subprocess.PIPE, text=True)
    proc.stdout.readline()
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run = open_run(run_dir)
    assert run.status == "crashed/incomplete"
    n = run.n_checkpoints
    assert n >= 1
    assert run.checkpoints.tolist() == [step_of(i) for i in range(n)]
    for i in (0, n - 1):
        np.testing.assert_array_equal(run.probe("hidden", step_of(i)).source_F.values,
                                      value(i, (256, 40), 0.0))
        np.testing.assert_array_equal(run.weights("hidden", step_of(i))["F.weight"].values,
                                      value(i, (40, 5), 0.5))
    np.testing.assert_allclose(run.metrics()["loss"], [1 / (i + 1) for i in range(n)])
    # resume in another process: continues after the last complete checkpoint
    done = subprocess.run([sys.executable, str(FACTORY), str(run_dir), "2", "0", "resume"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    run = open_run(run_dir)
    assert run.status == "finished"
    assert run.checkpoints.tolist() == [step_of(i) for i in range(n + 2)]
    np.testing.assert_array_equal(run.probe("hidden", step_of(n + 1)).theta.values,
                                  np.full((256, 40), ((n + 1) % 10) / 10, np.float32))
    assert "resumed" in run.provenance


def test_two_writers_are_refused(tmp_path):
    run_dir = tmp_path / "busy"
    proc = subprocess.Popen([sys.executable, str(FACTORY), str(run_dir), "50", "0.1", "new"],
                            stdout=subprocess.PIPE, text=True)
    try:
        proc.stdout.readline()
        with pytest.raises(InfomorphError, match="being written by another process"):
            RunWriter.resume(run_dir)
        with pytest.raises(InfomorphError, match="already exists"):
            RunWriter.create(run_dir, make_spec())
    finally:
        proc.kill()
        proc.wait()


def test_closed_run_reads_incomplete_and_resumes(tmp_path):
    write_run(tmp_path / "r", n=2, finish=False)
    assert open_run(tmp_path / "r").status == "crashed/incomplete"
    spec = make_spec()
    with RunWriter.resume(tmp_path / "r") as w:
        assert w.checkpoints == [5, 15]
        w.append(step_of(2), layers=make_record(spec, 2))
        w.finish()
    assert open_run(tmp_path / "r").checkpoints.tolist() == [5, 15, 25]
    with pytest.raises(InfomorphError, match="is finished"):
        RunWriter.resume(tmp_path / "r")


def test_append_validation(tmp_path):
    spec = make_spec()
    with RunWriter.create(tmp_path / "v", spec) as w:
        w.append(10, layers=make_record(spec, 0))
        with pytest.raises(InfomorphError, match="steps must increase"):
            w.append(10, layers=make_record(spec, 1))
        with pytest.raises(InfomorphError, match="Unknown metric 'acc'; choose one of: loss"):
            w.append(20, layers=make_record(spec, 1), metrics={"acc": 1})
        bad = make_record(spec, 1)
        bad["hidden"].theta = np.zeros((3, 3))
        with pytest.raises(InfomorphError, match=r"theta must have shape \(sample, neuron\)"):
            w.append(20, layers=bad)
        with pytest.raises(InfomorphError, match="missing"):
            w.append(20, layers={"hidden": make_record(spec, 1)["hidden"]})
        assert w.n_checkpoints == 1  # failed appends leave nothing behind
    assert open_run(tmp_path / "v").n_checkpoints == 1


def test_reader_errors(tmp_path):
    write_run(tmp_path / "ok")
    run = open_run(tmp_path / "ok")
    with pytest.raises(InfomorphError, match="no checkpoint at step 7; steps are 5, 15, 25"):
        run.probe("hidden", 7)
    with pytest.raises(InfomorphError, match="Unknown layer 'out'; choose one of: hidden, readout"):
        run.probe("out")
    with pytest.raises(InfomorphError, match=r"neurons 0\.\.5"):
        run.neuron("hidden", 6)


def _bad_files(tmp_path):
    good = tmp_path / "good"
    write_run(good)
    cases = {}
    d = tmp_path / "text"
    d.mkdir()
    (d / "run.h5").write_text("hello, not HDF5\n")
    cases["not hdf5"] = (d, "is not an HDF5 file")
    d = tmp_path / "other"
    d.mkdir()
    with h5py.File(d / "run.h5", "w") as f:
        f["x"] = np.arange(3)
    cases["other kind"] = (d, "an HDF5 file but not an infomorph run")
    d = tmp_path / "newer"
    d.mkdir()
    (d / "run.h5").write_bytes((good / "run.h5").read_bytes())
    with h5py.File(d / "run.h5", "r+") as f:
        f.attrs["schema_version"] = 99
    cases["newer schema"] = (d, "run schema 99; this version of infomorph reads up to 1")
    d = tmp_path / "truncated"
    d.mkdir()
    data = (good / "run.h5").read_bytes()
    (d / "run.h5").write_bytes(data[: len(data) // 3])
    cases["truncated"] = (d, "damaged or truncated")
    cases["missing"] = (tmp_path / "nope", "no such run")
    d = tmp_path / "empty-dir"
    d.mkdir()
    cases["no run.h5"] = (d, "is not a run directory")
    return cases


def test_refusals_are_one_line_and_modify_nothing(tmp_path, capsys):
    for name, (path, message) in _bad_files(tmp_path).items():
        file = path / "run.h5"
        before = digest(file) if file.exists() else None
        with pytest.raises(InfomorphError) as err:
            open_run(path).summary()
        assert message in str(err.value), name
        assert main(["info", str(path)]) == 2, name
        out = capsys.readouterr()
        assert out.err.startswith("infomorph: error: ") and out.err.count("\n") == 1, name
        if before is not None:
            assert digest(file) == before, name


def test_info_on_a_logdir_keeps_going_past_a_bad_run(tmp_path, capsys):
    logdir = tmp_path / "logs"
    write_run(logdir / "a")
    write_run(logdir / "nested" / "b", n=2, finish=False)
    (logdir / "broken").mkdir()
    (logdir / "broken" / "run.h5").write_text("garbage")
    assert [p.name for p in find_runs(logdir)] == ["a", "broken", "b"]
    assert main(["info", str(logdir)]) == 2
    out = capsys.readouterr()
    lines = out.out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("a: finished, 3 checkpoints (last step 25)")
    assert lines[1].startswith("broken: error: ")
    assert lines[2].startswith("nested/b: crashed/incomplete, 2 checkpoints")
    assert "1 of 3 runs could not be read" in out.err


def test_info_json(tmp_path, capsys):
    import json

    write_run(tmp_path / "r")
    assert main(["info", str(tmp_path / "r"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["status"] == "finished" and summary["checkpoints"] == 3
    assert summary["layers"][0] == {"name": "hidden", "neurons": 6,
                                     "sources": ["F", "C", "L"], "activation": "trivariate",
                                     "goal": {"{F}{C}": 1.0}}
    assert summary["last_metrics"]["loss"] == pytest.approx(1 / 3)


def test_empty_logdir(tmp_path, capsys):
    assert main(["info", str(tmp_path)]) == 2
    assert "no runs below" in capsys.readouterr().err


def test_synthetic_probe_inputs_are_stored(tmp_path):
    import dataclasses

    spec = make_spec()
    inputs = np.random.default_rng(0).normal(size=(10, 7)).astype(np.float32)
    spec = dataclasses.replace(spec, probe=dataclasses.replace(spec.probe, inputs=inputs))
    with RunWriter.create(tmp_path / "syn", spec) as w:
        w.append(1, layers=make_record(spec, 0))
    run = open_run(tmp_path / "syn")
    np.testing.assert_array_equal(run.probe_inputs, inputs)
    assert run.spec.probe.size == 10
    with RunWriter.resume(tmp_path / "syn") as w:  # a rebuilt file keeps them
        w.finish()
    np.testing.assert_array_equal(open_run(tmp_path / "syn").probe_inputs, inputs)
    bad = dataclasses.replace(spec.probe, inputs=np.zeros((3, 2)))
    with pytest.raises(InfomorphError, match="probe inputs must have shape"):
        RunWriter.create(tmp_path / "bad", dataclasses.replace(spec, probe=bad))
