"""Training: presets run end to end into the run format; layers, goals, config, data."""

import gzip
import json
import struct

import numpy as np
import pytest
import torch

from inspector.cli import main
from inspector.errors import InfomorphError
from inspector.pid import Binning, pid_from_samples
from storage import open_run
from training.activations import bivariate, trivariate
from training.config import make_config
from training.data import DEFAULT_MNIST_DIR, IDX_FILES, load_idx_dataset
from training.goals import GOALS, goal_vector
from training.layers import InfomorphicLayer
from training.models import InfomorphicNetwork, LayerPass
from training.presets import PRESETS
from training.trainer import RESUME_FILE, Trainer, checkpoint_steps, resume, train

FAST = {"epochs": "2", "hidden": "12", "checkpoints": "3", "probe_size": "64"}


CLASSIFIERS = sorted(n for n, p in PRESETS.items() if p.task == "classification")


@pytest.mark.parametrize("name", CLASSIFIERS)  # the memory presets: tests/test_memory.py
def test_every_preset_trains_and_records(name, tmp_path):
    config = make_config({**FAST, "preset": name})
    run = open_run(train(config, tmp_path, "r", progress=False))
    assert run.status == "finished"
    assert run.checkpoints.tolist() == checkpoint_steps(2 * 5, 3)  # 1078 samples / 256
    metrics = run.metrics()
    accuracy = metrics[["train_accuracy", "val_accuracy", "test_accuracy"]].to_numpy()
    assert ((accuracy >= 0) & (accuracy <= 1)).all()
    layers = [x.name for x in run.layers]
    assert layers[-1] == "readout"
    probe = run.probe(layers[0])
    assert probe.sizes == {"sample": 64, "neuron": 10 if name == "readout-only" else 12}
    assert set(np.unique(probe.output.values)) <= {-1, 1}
    assert ((probe.theta >= 0) & (probe.theta <= 1)).all()
    atoms = run.train_atoms("readout").train_atoms
    assert atoms.atom.values.tolist() == ["{F}{C}", "{F}", "{C}", "{FC}"]
    assert np.isfinite(atoms.values).all()


def test_training_is_deterministic_on_cpu(tmp_path):
    config = make_config({**FAST, "preset": "trivariate-sparse"})
    a = open_run(train(config, tmp_path, "a", progress=False))
    b = open_run(train(config, tmp_path, "b", progress=False))
    np.testing.assert_array_equal(a.probe("hidden").theta, b.probe("hidden").theta)
    np.testing.assert_array_equal(a.weights("hidden")["F.weight"], b.weights("hidden")["F.weight"])
    assert a.metrics().drop(columns="wall_time").equals(b.metrics().drop(columns="wall_time"))


def test_trained_goal_is_consistent_with_logged_atoms(tmp_path):
    config = make_config({**FAST, "preset": "trivariate-heuristic"})
    run = open_run(train(config, tmp_path, "r", progress=False))
    logged = run.train_atoms("hidden")
    # goal Pi{F}{C}: the logged goal is the {F}{C} atom the loss saw
    np.testing.assert_allclose(
        logged.train_goal.values, logged.train_atoms.sel(atom="{F}{C}").values, atol=1e-5
    )


def _interrupted_run(config, tmp_path, monkeypatch, at_call: int = 12):
    """Train ``config`` into tmp_path/r, interrupted (KeyboardInterrupt) at step ``at_call``."""
    calls = {"n": 0}
    original = Trainer._step

    def interrupted(self, x, y):
        calls["n"] += 1
        if calls["n"] == at_call:
            raise KeyboardInterrupt
        return original(self, x, y)

    monkeypatch.setattr(Trainer, "_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path, "r", progress=False)
    monkeypatch.setattr(Trainer, "_step", original)
    return tmp_path / "r"


@pytest.mark.parametrize("preset", ["trivariate-sparse", "backprop"])
def test_resume_continues_exactly_like_an_uninterrupted_run(preset, tmp_path, monkeypatch):
    config = make_config({**FAST, "preset": preset, "epochs": "4", "checkpoints": "6"})
    run_dir = _interrupted_run(config, tmp_path, monkeypatch)
    run = open_run(run_dir)
    assert run.status == "crashed/incomplete"
    assert (run_dir / RESUME_FILE).exists()
    before = run.checkpoints.tolist()
    resume(run_dir, progress=False)
    resumed = open_run(run_dir)
    assert resumed.status == "finished"
    assert resumed.checkpoints.tolist() == checkpoint_steps(4 * 5, 6)
    assert resumed.checkpoints.tolist()[: len(before)] == before
    assert not (run_dir / RESUME_FILE).exists()  # a finished run needs no training state
    whole = open_run(train(config, tmp_path, "whole", progress=False))
    for layer in ("hidden", "readout"):
        for name, values in whole.weights(layer).items():
            np.testing.assert_array_equal(resumed.weights(layer)[name].values, values.values,
                                          err_msg=f"{layer} {name}")
    columns = ["loss", "train_accuracy", "val_accuracy", "test_accuracy"]
    assert resumed.metrics()[columns].equals(whole.metrics()[columns])


@pytest.mark.parametrize("damage", ["missing", "corrupt", "other step"])
def test_resume_without_usable_state_restarts_adam_with_a_warning(damage, tmp_path, monkeypatch,
                                                                  capsys):
    config = make_config({**FAST, "epochs": "4", "checkpoints": "6"})
    run_dir = _interrupted_run(config, tmp_path, monkeypatch)
    state = run_dir / RESUME_FILE
    if damage == "missing":
        state.unlink()
    elif damage == "corrupt":
        state.write_bytes(state.read_bytes()[:100])
    else:
        saved = torch.load(state, weights_only=True)
        torch.save({**saved, "step": saved["step"] - 1}, state)
    resume(run_dir, progress=False)
    assert open_run(run_dir).status == "finished"
    assert "Adam's moments restart" in capsys.readouterr().err


def test_resume_refuses_a_run_of_another_version_of_its_preset(tmp_path, monkeypatch, capsys):
    config = make_config({**FAST, "preset": "backprop", "epochs": "4", "checkpoints": "6"})
    run_dir = _interrupted_run(config, tmp_path, monkeypatch)
    before = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    # sessions 1-7 built backprop as a plain network of sampled units: no C or L maps
    from dataclasses import replace

    from training.presets import HiddenPreset

    plain = HiddenPreset("logistic", ("F",), None, "maxnorm")
    monkeypatch.setitem(PRESETS, "backprop", replace(PRESETS["backprop"], hidden=(plain,)))
    with pytest.raises(InfomorphError, match="another version of the backprop preset"):
        resume(run_dir, progress=False)
    assert {p.name: p.read_bytes() for p in run_dir.iterdir()} == before


def test_lateral_connections_have_no_self_loops_and_k_partners():
    layer = InfomorphicLayer(
        {"F": 5, "C": 3, "L": 10},
        10,
        "trivariate",
        GOALS["trivariate-sparse"],
        Binning(),
        lateral_partners=4,
        generator=torch.Generator().manual_seed(0),
    )
    mask = layer.lateral_mask
    assert torch.all(mask.diagonal() == 0)
    assert torch.all(mask.sum(1) == 4)
    dense = InfomorphicLayer(
        {"F": 5, "C": 3, "L": 10}, 10, "trivariate", GOALS["trivariate-sparse"], Binning()
    )
    assert torch.all(dense.lateral_mask == 1 - torch.eye(10))


def test_activation_functions_limits():
    r = torch.linspace(-3, 3, 7)
    c = torch.linspace(2, -2, 7)
    torch.testing.assert_close(bivariate(r, c, k1=1.0), torch.sigmoid(r))
    torch.testing.assert_close(trivariate(r, c, c, c1=0.0, c2=0.0), torch.sigmoid(r))
    # context that agrees with the drive amplifies it
    assert bivariate(torch.tensor(1.0), torch.tensor(5.0)) > bivariate(
        torch.tensor(1.0), torch.tensor(-5.0)
    )


def test_goal_labels_are_validated():
    gamma, residual = goal_vector(GOALS["trivariate-optimized"], ["F", "C", "L"])
    assert gamma.shape == (18,) and residual == pytest.approx(0.035)
    assert gamma[0] == pytest.approx(0.33073) and gamma[-1] == pytest.approx(-0.21512)
    gamma, _ = goal_vector({"{CL}{F}": 0.5}, ["F", "C", "L"])
    assert gamma[4] == 0.5
    with pytest.raises(InfomorphError, match=r"unknown source in '\{X\}'.*atoms of sources FCL"):
        goal_vector({"{F}{X}": 1}, ["F", "C", "L"])
    with pytest.raises(InfomorphError, match="twice"):
        goal_vector({"{F}{C}": 1, "{C}{F}": 1}, ["F", "C"])
    with pytest.raises(InfomorphError, match="must be a number"):
        goal_vector({"{F}": "lots"}, ["F", "C"])


def test_sign_correction_flips_inverted_readout_neurons():
    readout = InfomorphicLayer(
        {"F": 4, "C": 3},
        3,
        "bivariate",
        GOALS["readout"],
        Binning("maxnorm"),
        activation_params={"k1": 1.0},
        fixed_identity=("C",),
    )
    net = InfomorphicNetwork([], readout)
    theta = torch.tensor([[0.9, 0.2, 0.1], [0.2, 0.1, 0.9], [0.95, 0.8, 0.1]])
    net.run = lambda x, context, generator=None: {  # neuron 0 fires on average >= 0.5
        "readout": LayerPass(torch.zeros(3, 3, 2), theta, torch.ones(3, 3))
    }
    # uncorrected argmax would be [0, 2, 0]; with neuron 0 flipped (1 - theta):
    assert net.predict(torch.zeros(3, 4)).tolist() == [1, 2, 1]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"preset": "nope"}, "Unknown preset 'nope'; choose one of: trivariate-optimized,"),
        ({"hiden": "5"}, "Unknown config key 'hiden'; choose one of: preset, data,"),
        ({"hidden": "many"}, "hidden must be an int, got 'many'"),
        ({"hidden": "0"}, "hidden must be >= 1, got 0"),
        ({"eval_passes": "0"}, "eval_passes must be >= 1, got 0"),
        ({"lr_hidden": "fast"}, "lr_hidden must be a float or none, got 'fast'"),
        (
            {"data": "cifar"},
            "Unknown dataset 'cifar'; choose one of: digits, mnist, fashion-mnist.",
        ),
        ({"device": "tpu"}, "Unknown device 'tpu'"),
    ],
)
def test_config_errors(overrides, message):
    with pytest.raises(InfomorphError) as err:
        make_config(overrides)
    assert message in str(err.value)


def test_train_cli_errors_are_one_line(tmp_path, capsys):
    cases = [
        (["train", "--logdir", str(tmp_path), "--preset", "nope"], "Unknown preset 'nope'"),
        (["train", "--logdir", str(tmp_path), "--set", "hidden"], "--set takes key=value"),
        (["train", "--logdir", str(tmp_path), "--set", "epochs=x"], "epochs must be an int"),
        (["train", "--preset", "backprop"], "train needs --logdir"),
        (
            ["train", "--logdir", str(tmp_path), "--config", str(tmp_path / "no.toml")],
            "no such config file",
        ),
        (
            [
                "train",
                "--logdir",
                str(tmp_path),
                "--data",
                "mnist",
                "--data-dir",
                str(tmp_path / "missing"),
            ],
            "does not exist; it must hold train-images-idx3-ubyte.gz",
        ),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("infomorph: error: ") and err.count("\n") == 1
        assert message in err, (argv, err)


def test_train_cli_with_toml_config(tmp_path, capsys):
    toml = tmp_path / "run.toml"
    toml.write_text('preset = "readout-only"\nepochs = 2\nhidden = 8\ncheckpoints = 2\n')
    argv = ["train", "--config", str(toml), "--logdir", str(tmp_path / "logs"), "--name", "cfg",
            "--quiet"]
    assert main([*argv, "--set", "probe_size=32"]) == 0
    assert f"next: infomorph analyze {tmp_path / 'logs'}" in capsys.readouterr().out
    run = open_run(tmp_path / "logs" / "cfg")
    assert run.config["preset"] == "readout-only" and run.config["probe_size"] == 32
    assert main(argv) == 2
    assert "already exists" in capsys.readouterr().err
    # A name may nest (sweep/seed0) but never leave the LOGDIR.
    for name in ("../escape", str(tmp_path / "abs"), "a/../../b", ""):
        assert main([*argv[:-3], "--name", name, "--quiet"]) == 2, name
        assert "must be a directory inside the LOGDIR" in capsys.readouterr().err
    assert not (tmp_path / "escape").exists() and not (tmp_path / "abs").exists()
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me")
    assert main(["train", "--config", str(toml), "--logdir", str(a_file), "--quiet"]) == 2
    assert f"--logdir {a_file} is a file" in capsys.readouterr().err
    assert a_file.read_text() == "keep me"
    assert main(["train", "--list-presets"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == list(PRESETS)


def _write_idx(path, magic, shape, data):
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", s) for s in shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + bytes(data))


def _write_split(root, split, images, labels, rng):
    """One split as gzip IDX: ``images`` 4x4 images and ``labels`` labels (may differ)."""
    _write_idx(root / IDX_FILES[f"{split}_images"], 2051, (images, 4, 4),
               rng.integers(0, 256, images * 16, dtype=np.uint8))
    _write_idx(root / IDX_FILES[f"{split}_labels"], 2049, (images,),
               rng.integers(0, 10, labels, dtype=np.uint8))


def test_idx_loader_and_its_errors(tmp_path):
    rng = np.random.default_rng(0)
    _write_split(tmp_path, "train", 50, 50, rng)
    _write_split(tmp_path, "test", 10, 10, rng)
    splits = load_idx_dataset("fashion-mnist", tmp_path)
    assert splits.train[0].shape == (40, 16) and splits.val[0].shape == (10, 16)
    assert splits.test[0].shape == (10, 16) and splits.image_shape == (4, 4)
    assert abs(float(splits.train[0].mean())) < 1e-5
    _write_split(tmp_path, "test", 10, 7, rng)  # a label file shorter than its header says
    with pytest.raises(InfomorphError, match="truncated or padded"):
        load_idx_dataset("mnist", tmp_path)
    (tmp_path / IDX_FILES["test_labels"]).write_bytes(b"not gzip")
    with pytest.raises(InfomorphError, match="not a readable gzip IDX file"):
        load_idx_dataset("mnist", tmp_path)
    (tmp_path / IDX_FILES["test_labels"]).unlink()
    with pytest.raises(InfomorphError, match=r"lacks t10k-labels-idx1-ubyte\.gz"):
        load_idx_dataset("mnist", tmp_path)


def test_idx_files_unpacked_or_in_torchvisions_layout(tmp_path):
    rng = np.random.default_rng(1)
    packed = tmp_path / "packed"
    packed.mkdir()
    _write_split(packed, "train", 50, 50, rng)
    _write_split(packed, "test", 10, 10, rng)
    reference = load_idx_dataset("mnist", packed)
    # unpacked files (the names without .gz), in torchvision's ROOT/<dataset>/raw
    for name, folder in (("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")):
        raw = tmp_path / f"tv-{name}" / folder / "raw"
        raw.mkdir(parents=True)
        for file in IDX_FILES.values():
            with gzip.open(packed / file, "rb") as handle:
                (raw / file.removesuffix(".gz")).write_bytes(handle.read())
        splits = load_idx_dataset(name, tmp_path / f"tv-{name}")
        for a, b in zip(splits.train + splits.test, reference.train + reference.test,
                        strict=True):
            np.testing.assert_array_equal(a, b)
    # a truncated unpacked file is still a one-line error naming it
    raw = tmp_path / "tv-mnist" / "MNIST" / "raw"
    (raw / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00")
    with pytest.raises(InfomorphError, match="t10k-labels-idx1-ubyte is truncated"):
        load_idx_dataset("mnist", tmp_path / "tv-mnist")
    # torchvision's folder of the other dataset is not taken for this one
    with pytest.raises(InfomorphError, match="gzip or unpacked"):
        load_idx_dataset("fashion-mnist", tmp_path / "tv-mnist")


@pytest.mark.skipif(not DEFAULT_MNIST_DIR.is_dir(), reason="../shared/data/mnist is absent")
def test_shared_mnist_loads_with_known_counts():
    splits = load_idx_dataset("mnist", None)
    assert len(splits.train[0]) == 48_000 and len(splits.val[0]) == 12_000
    assert splits.test[1][:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(splits.test[1]).tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]


def test_info_reports_a_trained_run(tmp_path, capsys):
    run_dir = train(make_config(FAST), tmp_path, "r", progress=False)
    assert main(["info", str(run_dir), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["preset"] == "trivariate-optimized" and summary["dataset"] == "digits"
    assert summary["layers"][0]["sources"] == ["F", "C", "L"]


def test_feedback_context_comes_from_the_readout_not_the_label():
    from training.trainer import build_model

    torch.manual_seed(0)
    x = torch.randn(32, 16)
    labels = torch.nn.functional.one_hot(torch.arange(32) % 4, 4).float()
    for name, same in (("trivariate-feedback", True), ("trivariate-optimized", False)):
        config = make_config({"preset": name, "hidden": "8"})
        model = build_model(config, 16, 4, "cpu", torch.Generator().manual_seed(0))
        c_map = model.hidden[0].maps["C"]
        a = model.run(x, labels, torch.Generator().manual_seed(1))["hidden"].sources[..., 1]
        b = model.run(x, torch.zeros_like(labels),
                      torch.Generator().manual_seed(1))["hidden"].sources[..., 1]
        assert torch.equal(a, b) is same
        if same:  # C = W_C r + b_C for a +-1 readout output r
            r = torch.linalg.lstsq(c_map.weight, (a - c_map.bias).T).solution.T
            assert torch.allclose(r.abs(), torch.ones_like(r), atol=1e-3)


@pytest.mark.parametrize("name", ["trivariate-sparse", "backprop"])
def test_evaluation_averages_stochastic_passes(name):
    from training.trainer import accuracy, build_model

    model = build_model(make_config({"preset": name, "hidden": "8"}), 16, 4, "cpu",
                        torch.Generator().manual_seed(0))
    x = torch.randn(50, 16, generator=torch.Generator().manual_seed(1))
    one = model.predict(x, torch.Generator().manual_seed(2))
    assert torch.equal(one, model.predict(x, torch.Generator().manual_seed(2), passes=1))
    with torch.no_grad():  # readout neurons 0 and 1 fire on most inputs
        model.readout.maps["F"].bias[:2] += 4.0
    gen = torch.Generator().manual_seed(3)
    theta = sum(model.run(x, torch.zeros(50, 4), gen)["readout"].theta for _ in range(5)) / 5
    flipped = torch.where(theta.mean(0) >= 0.5, 1 - theta, theta).argmax(1)
    # backprop's cross-entropy fixes each readout neuron's sign: no sign correction
    expected = theta.argmax(1) if name == "backprop" else flipped
    assert not torch.equal(theta.argmax(1), flipped)
    assert torch.equal(model.predict(x, torch.Generator().manual_seed(3), passes=5), expected)
    y = expected
    assert accuracy(model, x, y, torch.Generator().manual_seed(3), passes=5) == 1.0


def test_backprop_is_the_trivariate_architecture_trained_end_to_end():
    from training.trainer import _layer_specs, build_model, train_step
    from training.trainer import _optimizers as optimizers

    def built(name):
        config = make_config({"preset": name, "hidden": "8"})
        return config, build_model(config, 16, 4, "cpu", torch.Generator().manual_seed(0))

    config, model = built("backprop")
    _, local = built("trivariate-optimized")
    shapes = lambda m: [[(p.name, p.shape) for p in layer.params]  # noqa: E731
                        for layer in _layer_specs(m)]
    assert shapes(model) == shapes(local)
    assert [layer.source_names for layer in model.layers().values()] == [["F", "C", "L"],
                                                                         ["F", "C"]]
    assert all(layer.goal is None for layer in model.layers().values())
    # the infomorphic presets' Adam settings (docs/results.md)
    assert (config.lr_hidden, config.wd_hidden, config.lr_readout, config.wd_readout) == (
        2e-3, 3.5e-4, 3e-3, 1.5e-4)

    x = torch.randn(32, 16, generator=torch.Generator().manual_seed(1))
    y = torch.arange(32) % 4
    loss, passes = model.loss(x, y, torch.Generator().manual_seed(2))
    logits = passes["readout"].sources[..., 0]
    assert torch.allclose(torch.sigmoid(logits), passes["readout"].theta)  # k1 = 1
    assert torch.equal(loss, torch.nn.functional.cross_entropy(logits, y))
    loss.backward()
    hidden = model.layers()["hidden"]
    for source in ("F", "C", "L"):  # the gradient reaches every hidden map, through samples
        assert hidden.maps[source].weight.grad.abs().sum() > 0
    mask = hidden.lateral_mask
    assert (hidden.maps["L"].weight.grad * (1 - mask)).abs().sum() == 0  # no self-connections

    before = hidden.maps["F"].weight.detach().clone()
    opts = optimizers(model, config)
    step_loss, _ = train_step(model, opts, x, y, torch.Generator().manual_seed(2))
    assert not step_loss.requires_grad
    assert not torch.equal(before, hidden.maps["F"].weight)


def test_surrogate_output_has_the_slope_of_the_expected_sample():
    layer = InfomorphicLayer({"F": 3}, 3, "logistic", None, Binning("fixed", 4, (-1.0, 1.0)),
                             trainable=True)
    theta = torch.tensor([[0.1, 0.5, 0.9]], requires_grad=True)
    y = layer.output(theta, torch.Generator().manual_seed(0), surrogate=True)
    assert set(y.detach().flatten().tolist()) <= {-1.0, 1.0}
    y.sum().backward()
    assert torch.equal(theta.grad, torch.full((1, 3), 2.0))  # d E[y] / d theta, E[y] = 2 theta - 1
    plain = layer.output(theta.detach(), torch.Generator().manual_seed(0))
    assert torch.equal(plain, y.detach()) and not plain.requires_grad
    assert all(p.requires_grad for p in layer.parameters())
    frozen = InfomorphicLayer({"F": 3}, 3, "logistic", None, Binning("fixed", 4, (-1.0, 1.0)))
    assert not any(p.requires_grad for p in frozen.parameters())


def test_hidden_binning_overrides_the_preset(tmp_path):
    config = make_config({**FAST, "preset": "bivariate-context", "hidden_binning": "quantile"})
    run = open_run(train(config, tmp_path, "q", progress=False))
    spec = {layer.name: layer.binning["method"] for layer in run.layers}
    assert spec == {"hidden": "quantile", "readout": "maxnorm"}
    with pytest.raises(InfomorphError, match="Unknown hidden_binning 'discrete'"):
        make_config({"hidden_binning": "discrete"})


def test_custom_goals_from_set_and_toml_train_and_are_recorded(tmp_path, capsys):
    # --set takes JSON or LABEL=WEIGHT lists; labels may list sources in any order
    config = make_config({**FAST, "preset": "trivariate-heuristic",
                          "goal": "{C}{F}=1, {F}{L}=-0.5, H_res=0.1",
                          "readout_goal": '{"{F}{C}": 1, "{F}": -0.2}'})
    assert config.goal == {"{F}{C}": 1.0, "{F}{L}": -0.5, "H_res": 0.1}  # canonical labels
    run = open_run(train(config, tmp_path, "set", progress=False))
    goals = {layer.name: dict(layer.goal) for layer in run.layers}
    assert goals == {"hidden": config.goal, "readout": {"{F}{C}": 1.0, "{F}": -0.2}}
    logged = run.train_atoms("hidden")
    atoms = logged.train_atoms.astype("float64")
    # G = Pi{F}{C} - 0.5 Pi{F}{L} + 0.1 H_res, with 0 <= H_res <= H(Y) <= 1 bit
    atom_part = atoms.sel(atom="{F}{C}") - 0.5 * atoms.sel(atom="{F}{L}")
    residual_part = logged.train_goal.values - atom_part.values
    assert np.all(residual_part >= -1e-5) and np.all(residual_part <= 0.1 + 1e-5)
    assert residual_part.max() > 1e-3  # the H_res term is really in the goal
    # TOML: a [goal] table; info prints the goal
    toml = tmp_path / "goal.toml"
    toml.write_text('preset = "bivariate-context"\nepochs = 1\nhidden = 6\ncheckpoints = 2\n'
                    'probe_size = 32\n[goal]\n"{F}{C}" = 1\n"{FC}" = -0.25\n')
    assert main(["train", "--config", str(toml), "--logdir", str(tmp_path),
                 "--name", "toml", "--quiet"]) == 0
    assert dict(open_run(tmp_path / "toml").layers[0].goal) == {"{F}{C}": 1.0, "{FC}": -0.25}
    capsys.readouterr()
    assert main(["info", str(tmp_path / "toml")]) == 0
    assert "goal {F}{C} - 0.25 {FC}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"goal": "{F}{X}=1"}, "goal: atom label '{F}{X}': unknown source"),
        ({"goal": "{F}{X}=1"}, "atoms of sources FCL are: {F}{C}{L}, {F}{C}, {F}{L}"),
        ({"goal": "{F}{C}=big"}, "goal weight of '{F}{C}' must be a number, got 'big'"),
        ({"goal": {"{F}{C}": True}}, "goal weight of '{F}{C}' must be a number, got True"),
        ({"goal": "{F}{C}=0"}, "every weight is 0"),
        ({"goal": "{}"}, "goal names no atom"),
        ({"goal": "[1, 2]"}, "goal must map atom labels to weights"),
        ({"goal": "{F}{C}=1", "preset": "backprop"}, "backprop preset has no hidden layer"),
        ({"goal": "{F}{C}=1", "preset": "memory"}, "sources are: E, I"),
        ({"goal": "{FC}{F}=1"}, "is not an antichain"),
        ({"readout_goal": "{F}{L}=1"}, "readout_goal: atom label '{F}{L}'"),
        ({"readout_goal": "{F}{C}=1", "preset": "backprop"}, "has no infomorphic readout"),
    ],
)
def test_custom_goal_errors_name_what_is_allowed(overrides, message):
    with pytest.raises(InfomorphError) as err:
        make_config(overrides)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_custom_goal_survives_resume(tmp_path):
    config = make_config({**FAST, "preset": "trivariate-sparse", "goal": "{F}{C}=1,{F}{L}=-1"})
    run_dir = train(config, tmp_path, "r", progress=False)
    reread = make_config({k: v for k, v in open_run(run_dir).config.items()
                          if k in config.__dataclass_fields__})
    assert reread.goal == config.goal and reread == config


def test_logged_atoms_never_start_worker_threads(monkeypatch):
    # Worker threads with OpenMP teams slow every later training step of the process
    # (GNU OpenMP stops spin-waiting with more threads than cores): training must not split.
    import inspector.pid._isx as isx

    def no_pool():
        raise AssertionError("training started the PID engine's worker threads")

    monkeypatch.setattr(isx, "_pool", no_pool)
    layer = InfomorphicLayer({"F": 20, "C": 10, "L": 300}, 300, "trivariate",
                             GOALS["trivariate-sparse"], Binning("fixed", 20, (-20.0, 20.0)))
    g = torch.Generator().manual_seed(0)
    inputs = {"F": torch.randn(1024, 20, generator=g) * 10, "C": torch.randn(1024, 10, generator=g),
              "L": torch.zeros(1024, 300)}
    sources, theta = layer(inputs)
    assert 300 * 1024 * 3 >= isx._ROW_SPLIT_ELEMENTS  # big enough that analysis would split
    atoms, goal = layer.logged(sources, theta)
    assert goal.shape == (300,)
    assert atoms.shape == (300, 18) and torch.isfinite(atoms).all()
    codes, q, bins = layer._codes_and_target(sources, theta)
    monkeypatch.undo()
    threaded = pid_from_samples(codes, q.double(), bins)  # the same numbers with threads
    torch.testing.assert_close(atoms, threaded.atoms.float())


def test_format_goal_writes_the_weighted_sum():
    from inspector.pid import format_goal

    assert format_goal(GOALS["trivariate-sparse"]) == "{F}{C} - {F}{L} - {FC}{FL} + 0.33 {F}{C}{L}"
    assert format_goal({"{F}": -0.2, "H_res": 1}) == "-0.2 {F} + H_res"
    assert format_goal({}) == "0"


def test_random_projection_passes_on_threshold_units(tmp_path):
    """Paper (b)'s code uses deterministic threshold units for the random projection: the
    frozen hidden layer passes on +1 where theta > 0.5, never a sample (the sampled layer
    reached 21 % on MNIST, the threshold one 80 %: docs/results.md)."""
    from training.trainer import build_model

    config = make_config({"preset": "random-projection", "hidden": 30})
    model = build_model(config, 64, 10, torch.device("cpu"), torch.Generator().manual_seed(0))
    hidden = model.layers()["hidden"]
    assert hidden.deterministic and not any(p.requires_grad for p in hidden.parameters())
    x = torch.randn(200, 64, generator=torch.Generator().manual_seed(1))
    context = torch.zeros(200, 10)
    first = model.run(x, context, torch.Generator().manual_seed(2))["hidden"]
    again = model.run(x, context, torch.Generator().manual_seed(3))["hidden"]
    assert torch.equal(first.output, torch.where(first.theta > 0.5, 1.0, -1.0))
    assert torch.equal(first.output, again.output)  # no sampling
    trivariate_net = build_model(make_config({"hidden": 30}), 64, 10, torch.device("cpu"),
                                 torch.Generator().manual_seed(0))
    assert not trivariate_net.layers()["hidden"].deterministic  # the others still sample
    run = train(make_config({"preset": "random-projection", "hidden": 20, "epochs": 2,
                             "checkpoints": 2}), tmp_path, "rp", progress=False)
    assert "threshold units" in open_run(run).layers[0].activation
