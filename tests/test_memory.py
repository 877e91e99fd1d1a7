"""Associative memory (paper (c)): Hebbian storage, recall dynamics, the Pi{E}{I} memory, the
capacity sweep, and the memory presets as recorded runs."""

import numpy as np
import pandas as pd
import pytest
import torch

from inspector.cli import main as cli
from inspector.errors import InfomorphError
from storage import open_analysis, open_run
from training.capacity import main as capacity_main
from training.config import make_config
from training.memory import (
    MemoryTask,
    capacity,
    capacity_text,
    flip,
    hebbian_weights,
    iterate,
    memory_layer,
    memory_optimizer,
    memory_step,
    random_patterns,
    recall_cosine,
    recall_rate,
    recall_weights,
    recalled,
    store,
)


def test_hebbian_weights_store_a_few_patterns():
    g = torch.Generator().manual_seed(0)
    xi = random_patterns(3, 64, g)
    w = hebbian_weights(xi)
    assert torch.equal(w, w.T) and torch.all(w.diagonal() == 0)
    states = iterate(w, torch.zeros(64), flip(xi, 0.1, g))
    assert recalled(states, xi).all()
    assert recall_rate(w, torch.zeros(64), None, xi, 0.1, g) == 1.0


def test_recalled_is_a_cosine_threshold():
    xi = torch.ones(1, 100)
    near, far = xi.clone(), xi.clone()
    near[0, :2] = -1  # cosine 0.96
    far[0, :3] = -1  # cosine 0.94
    assert recalled(near, xi).item() and not recalled(far, xi).item()


def test_capacity_interpolates_the_first_drop_below_the_level():
    curve = pd.DataFrame({"load": [0.1, 0.2, 0.3, 0.4], "recalled": [1.0, 0.95, 0.75, 0.2]})
    assert capacity(curve) == pytest.approx(0.2 + 0.05 / 0.2 * 0.1)
    assert capacity(curve, level=0.1) == 0.4
    assert np.isnan(capacity(curve.assign(recalled=0.0)))  # below the sweep
    assert capacity_text(curve.assign(recalled=0.0), "recalled") == "< 0.1"
    assert capacity_text(curve.assign(recalled=1.0), "recalled") == ">= 0.4"
    assert capacity_text(curve, "recalled") == "0.225"
    cosine = curve.assign(recall_cosine=[1.0, 0.99, 0.96, 0.5])  # paper (c)'s level: 0.95
    assert capacity(cosine, "recall_cosine") == pytest.approx(0.3 + 0.01 / 0.46 * 0.1)


def test_the_redundancy_goal_stores_more_than_hebb():
    task = MemoryTask(neurons=60, load=0.3, epochs=60)
    memory, hebb = store("memory", task, seed=0), store("memory-hebbian", task, seed=0)
    assert memory["recalled"] >= 0.9 and memory["recall_cosine"] == 1.0
    assert hebb["recalled"] < 0.5 and hebb["recall_cosine"] < 0.9


def test_the_redundancy_memory_holds_a_load_of_one_as_fixed_points():
    """Paper (c)'s measure: at 60 patterns in 60 neurons (7x Hebb's capacity) every pattern
    is a fixed point; with paper (c)'s settings undone (trainable diagonal, biases, scale
    1 init: what this preset did before) it is not."""
    task = MemoryTask(neurons=60, load=1.0, epochs=100)
    assert store("memory", task, seed=0)["recall_cosine"] >= 0.99
    assert store("memory-hebbian", task, seed=0)["recall_cosine"] < 0.6
    g = torch.Generator().manual_seed(0)
    xi = random_patterns(60, 60, g)
    torch.manual_seed(0)
    layer = memory_layer(60, 60, g, external_scale=1.0, internal_scale=1.0)
    for p in layer.parameters():
        p.requires_grad_(True)
    opt = torch.optim.Adam(layer.parameters(), lr=0.05)
    for _ in range(100):
        memory_step(layer, opt, xi, xi)
    assert recall_cosine(*recall_weights(layer), xi) < 0.9


def test_memory_layer_has_paper_c_settings():
    layer = memory_layer(10, 60, torch.Generator().manual_seed(0))
    e, i = layer.maps["E"], layer.maps["I"]
    assert torch.equal(e.weight, 2.3 * torch.eye(10))
    assert not e.weight.requires_grad and not e.bias.requires_grad and not i.bias.requires_grad
    assert i.weight.requires_grad and float(i.weight.detach().abs().max()) <= 1e-3 / 10**0.5
    assert torch.all(i.bias == 0) and torch.all(i.weight.diagonal() == 0)
    assert layer.binning.method == "fixed" and tuple(layer.binning.value_range) == (-20, 20)
    assert [id(p) for p in memory_optimizer(layer, 0.05).param_groups[0]["params"]] == [
        id(i.weight)]


def test_recall_reads_inverted_neurons_through_the_sign_correction():
    g = torch.Generator().manual_seed(1)
    xi = random_patterns(8, 40, g)
    layer = memory_layer(40, 60, g)
    opt = memory_optimizer(layer, 0.05)
    for _ in range(40):
        memory_step(layer, opt, xi, xi)
    before = recall_rate(*recall_weights(layer), xi, 0.0, g)
    with torch.no_grad():  # the inverted network: same information, opposite outputs
        for linear in layer.maps.values():
            linear.weight.neg_()
            linear.bias.neg_()
    assert recall_rate(*recall_weights(layer), xi, 0.0, g) == before == 1.0


def test_memory_preset_records_a_run_whose_redundancy_grows(tmp_path, capsys):
    assert cli(["train", "--preset", "memory", "--logdir", str(tmp_path), "--name", "m",
                "--set", "hidden=40", "--set", "epochs=40", "--set", "checkpoints=4",
                "--quiet"]) == 0
    assert "recalled 1.000 of the patterns" in capsys.readouterr().out
    run = open_run(tmp_path / "m")
    assert run.config["data"] == "patterns" and run.config["bins"] == 60
    assert [s.name for s in run.layers[0].sources] == ["E", "I"]
    weights = run.weights("memory", -1)["E.weight"].values
    assert np.count_nonzero(weights - np.diag(np.diag(weights))) == 0  # a diagonal map
    assert run.metrics().recall.iloc[-1] == 1.0 == run.metrics().recall_cosine.iloc[-1]
    from inspector.logdir import runs_frame, scan

    row = runs_frame(scan(tmp_path)).iloc[0]  # the runs page's table
    assert (row.recall, row.recall_cosine) == (1.0, 1.0)
    assert cli(["analyze", str(tmp_path), "--quiet"]) == 0
    ds = open_analysis(tmp_path / "m")["memory"].ds
    red = ds.pid.sel(atom="{E}{I}").mean("neuron")
    assert float(red[0]) < 0.4 < 0.8 < float(red[-1])  # initial weights ~0: I is the sign of noise


def test_memory_preset_takes_a_custom_goal(tmp_path):
    assert cli(["train", "--preset", "memory", "--logdir", str(tmp_path), "--name", "g",
                "--set", "hidden=20", "--set", "epochs=3", "--set", "checkpoints=2",
                "--set", "goal={E}{I}=1,{EI}=-0.5", "--quiet"]) == 0
    run = open_run(tmp_path / "g")
    assert dict(run.layers[0].goal) == {"{E}{I}": 1.0, "{EI}": -0.5}
    logged = run.train_atoms("memory")
    atoms = logged.train_atoms.astype("float64")
    np.testing.assert_allclose(
        logged.train_goal, atoms.sel(atom="{E}{I}") - 0.5 * atoms.sel(atom="{EI}"), atol=1e-5)


def test_hebbian_preset_is_one_checkpoint_without_a_goal(tmp_path, capsys):
    assert cli(["train", "--preset", "memory-hebbian", "--logdir", str(tmp_path), "--name",
                "h", "--set", "hidden=50", "--set", "load=0.1", "--quiet"]) == 0
    run = open_run(tmp_path / "h")
    assert list(run.checkpoints) == [0] and run.layers[0].goal == {}
    w = run.weights("memory", 0)["I.weight"].values
    np.testing.assert_allclose(w, w.T)


@pytest.mark.parametrize(("sets", "message"), [
    ({"preset": "memory", "data": "mnist"}, "stores synthetic random patterns"),
    ({"preset": "memory", "load": "0"}, "load must be > 0"),
    ({"preset": "memory", "cue_noise": "0.7"}, "cue_noise must be in [0, 0.5]"),
    ({"preset": "memory-hebbian", "goal": "{E}{I}=1"}, "has no hidden layer that learns"),
    ({"preset": "memory", "external_scale": "0"}, "external_scale must be > 0"),
    ({"preset": "memory", "internal_scale": "-1"}, "internal_scale must be > 0"),
    ({"preset": "memory", "external_scale": "big"}, "external_scale"),
])
def test_memory_config_errors(sets, message):
    with pytest.raises(InfomorphError, match=message.replace("[", r"\[").replace("]", r"\]")):
        make_config(sets)


def test_memory_defaults_follow_paper_c():
    config = make_config({"preset": "memory"})
    assert (config.lr_hidden, config.bins, config.data) == (0.05, 60, "patterns")
    assert (config.external_scale, config.internal_scale) == (2.3, 0.001)
    config = make_config({})
    assert (config.lr_hidden, config.bins, config.data) == (2e-3, 20, "digits")


def test_memory_runs_are_not_resumed(tmp_path, capsys):
    cli(["train", "--preset", "memory-hebbian", "--logdir", str(tmp_path), "--name", "h",
         "--set", "hidden=20", "--quiet"])
    assert cli(["train", "--resume", str(tmp_path / "h")]) == 2
    assert "not resumed" in capsys.readouterr().err


def test_capacity_command(capsys):
    assert capacity_main(["--neurons", "30", "--seeds", "1", "--loads", "0.05,0.3",
                          "--epochs", "30"]) == 0
    out = capsys.readouterr().out
    assert "| memory | 0.3 | 9 |" in out and "capacity of memory-hebbian:" in out
    assert capacity_main(["--rules", "oja"]) == 2
    assert "unknown rule 'oja'" in capsys.readouterr().err
    for bad, message in ((["--neurons", "0"], "neurons must be >= 2"),
                         (["--seeds", "0"], "--seeds must be >= 1"),
                         (["--cue-noise", "0.9"], "cue_noise must be in [0, 0.5]")):
        assert capacity_main(["--loads", "0.1", *bad]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
