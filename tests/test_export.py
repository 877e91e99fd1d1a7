"""Collections of analysed runs and the paper tables."""

import io

import numpy as np
import pandas as pd
import pytest
from test_analysis import gate_run

from inspector.analysis import analyze_run
from inspector.cli import main
from inspector.collection import load
from inspector.errors import InfomorphError
from inspector.export import atom_table, class_table, neuron_table
from storage import open_analysis


@pytest.fixture
def logdir(tmp_path):
    for seed_dir in ("s0", "s1"):
        analyze_run(gate_run(tmp_path / "logs" / seed_dir))
    gate_run(tmp_path / "logs" / "unanalysed")
    return tmp_path / "logs"


def test_load_stacks_runs_with_metadata(logdir):
    tree = load(logdir)
    ds = tree["hidden"].ds
    assert ds.pid.dims == ("run", "checkpoint", "neuron", "atom")
    assert ds.run.values.tolist() == ["s0", "s1"]  # the unanalysed run is left out
    assert ds.preset.values.tolist() == ["gates", "gates"]
    assert ds.groupby("preset").mean().pid.shape[0] == 1
    assert tree.ds.loss.dims == ("run", "checkpoint")


def test_tables_from_the_table_variables_alone_are_the_same(logdir):
    from inspector.collection import TABLE_VARIABLES

    full, part = load(logdir), load(logdir, variables=TABLE_VARIABLES)
    assert set(part["hidden"].ds.data_vars) == {"pid", "entropy", "neuron_class"}
    assert set(part.ds.data_vars) == set(full.ds.data_vars)  # the root (metrics) stays whole
    assert part["hidden"].ds.source.values.tolist() == ["F", "C"]  # coordinates stay
    for build in (atom_table, class_table, neuron_table):
        pd.testing.assert_frame_equal(build(full), build(part))


def test_atom_table_means_over_runs(logdir):
    table = atom_table(load(logdir))
    row = table[(table.layer == "hidden") & (table.atom == "{FC}")].iloc[0]
    assert row.n == 2 and row.sd_bits == pytest.approx(0.0, abs=1e-12)
    # layer mean over the 4 gate neurons of the synergy atom, in bits
    expected = np.mean([np.log2(4 / 3), 0.75 * np.log2(4 / 3), np.log2(4 / 3), np.log2(4 / 3)])
    assert row.mean_bits == pytest.approx(expected, abs=1e-9)
    assert row.steps == "1,1"


def test_atom_table_share_of_neurons_beating_the_shuffle_null(logdir, tmp_path):
    from inspector.analysis import AnalysisSettings

    assert atom_table(load(logdir)).significant_share.isna().all()  # analysed without shuffles
    run = gate_run(tmp_path / "sig" / "g")
    analyze_run(run, AnalysisSettings(shuffles=20))  # smallest p: 1 / 21 < 0.05
    table = atom_table(load(tmp_path / "sig")).set_index("atom")
    p = open_analysis(run)["hidden"].ds.p_value.isel(checkpoint=-1)  # (neuron, atom)
    expected = (p < 0.05).mean("neuron")
    for atom in p.atom.values:
        share = float(expected.sel(atom=atom))
        assert table.loc[str(atom)].significant_share == pytest.approx(share)
    assert (table.significant_share == 1.0).all()  # deterministic gates: far from the null
    assert (table.significant_share_fdr == 1.0).all()  # 4 neurons at p = 1/21: q = 1/21
    bias = open_analysis(run)["hidden"].ds.pid_null_mean.isel(checkpoint=-1).mean("neuron")
    for atom in bias.atom.values:
        assert table.loc[str(atom)].null_mean_bits == pytest.approx(float(bias.sel(atom=atom)))
    assert atom_table(load(logdir)).null_mean_bits.isna().all()  # no shuffles, no null
    neurons = neuron_table(load(tmp_path / "sig")).set_index(["neuron", "atom"])
    for atom in p.atom.values:
        for n in p.neuron.values:
            row = neurons.loc[(n, str(atom))]
            assert row.p_value == pytest.approx(float(p.sel(neuron=n, atom=atom)))
            assert row.q_value == pytest.approx(1 / 21)  # every gate neuron at the floor
    assert neuron_table(load(logdir))[["p_value", "q_value"]].isna().all().all()

    # shares over the neurons a run has (padding NaN), then over the group's runs
    import xarray as xr

    pid = np.ones((2, 1, 4, 1))
    pvals = np.array([[0.01, 0.2, 0.04, np.nan], [0.5, 0.5, 0.01, 0.01]])[:, None, :, None]
    ds = xr.Dataset(
        {"pid": (("run", "checkpoint", "neuron", "atom"), pid),
         "p_value": (("run", "checkpoint", "neuron", "atom"), pvals),
         "entropy": (("run", "checkpoint", "neuron"), np.where(np.isnan(pvals[..., 0]),
                                                               np.nan, 1.0))},
        coords={"run": ["s0", "s1"], "checkpoint": [3], "atom": ["{F}"],
                "preset": ("run", ["p", "p"]), "goal": ("run", ["{}"] * 2),
                "settings": ("run", ["{}"] * 2)})
    row = atom_table(xr.DataTree.from_dict({"/": xr.Dataset(), "hidden": ds})).iloc[0]
    assert row.significant_share == pytest.approx((2 / 3 + 2 / 4) / 2)
    # Benjamini-Hochberg over each run's own neurons: s0's q = 0.03, 0.2, 0.06 (one of 3
    # discoveries, not 2); s1's q = 0.5, 0.5, 0.02, 0.02 (2 of 4)
    assert row.significant_share_fdr == pytest.approx((1 / 3 + 2 / 4) / 2)


def test_class_table_shares_of_neurons_per_group(logdir):
    # I^sx: XOR's unique atoms (0.585 bits each) outweigh its synergy (0.415) and its
    # redundancy is negative, so the XOR neuron is "unique"; AND, UNQ and COPY are "mixed".
    table = class_table(load(logdir))
    shares = table.set_index("neuron_class").mean_share.to_dict()
    assert shares == {"unique": 0.25, "redundant": 0.0, "synergistic": 0.0, "mixed": 0.75,
                      "none": 0.0}
    assert (table.n == 2).all() and (table.sd_share == 0).all() and set(table.steps) == {"1,1"}


def test_class_table_counts_only_the_neurons_a_run_has():
    """Runs of other hidden sizes share the neuron dimension, padded with NaN: a run's
    shares are of its own neurons; seeds give mean and s.d."""
    import xarray as xr

    classes = np.array([["unique", "unique", "redundant", "none"],  # s0: 4 neurons
                        ["unique", "redundant", "nan", "nan"],      # s1: 2 neurons
                        ["synergistic", "mixed", "mixed", "mixed"]], dtype=object)  # other
    entropy = np.where(classes == "nan", np.nan, 1.0)
    ds = xr.Dataset(
        {"neuron_class": (("run", "neuron"), classes), "entropy": (("run", "neuron"), entropy)},
        coords={"run": ["s0", "s1", "o"], "preset": ("run", ["p", "p", "q"]),
                "goal": ("run", ["{}"] * 3), "settings": ("run", ["{}"] * 3)},
    ).expand_dims(checkpoint=[7]).transpose("run", "checkpoint", "neuron")
    tree = xr.DataTree.from_dict({"/": xr.Dataset(), "hidden": ds})
    table = class_table(tree).set_index(["group", "neuron_class"])
    assert table.loc[("p", "unique")].mean_share == pytest.approx((0.5 + 0.5) / 2)
    assert table.loc[("p", "redundant")].mean_share == pytest.approx((0.25 + 0.5) / 2)
    assert table.loc[("p", "redundant")].sd_share == pytest.approx(np.std([0.25, 0.5], ddof=1))
    assert table.loc[("p", "none")].mean_share == pytest.approx(0.125)
    assert table.loc[("q", "mixed")].mean_share == 0.75 and table.loc[("q", "mixed")].n == 1
    for group in ("p", "q"):  # every class listed, shares of a run sum to one
        assert table.loc[group].mean_share.sum() == pytest.approx(1.0)


def test_neuron_table_and_checkpoint_choice(logdir):
    table = neuron_table(load(logdir), checkpoint=0)
    assert set(table.step) == {0}
    assert len(table) == 2 * 4 * 4  # runs x neurons x atoms
    with pytest.raises(InfomorphError, match="no checkpoint at step 5"):
        neuron_table(load(logdir), checkpoint=5)


@pytest.mark.parametrize("fmt", ["csv", "markdown", "latex"])
def test_export_cli_text_formats(fmt, logdir, capsys):
    assert main(["export", str(logdir), "--format", fmt]) == 0
    out = capsys.readouterr().out
    if fmt == "csv":
        frame = pd.read_csv(io.StringIO(out), comment="#")
        assert {"preset", "layer", "atom", "mean_bits", "sd_bits", "n"} <= set(frame.columns)
        assert out.startswith("# generator: ")
    elif fmt == "latex":
        assert "\\toprule" in out and "\\Pi_{\\{F\\}\\{C\\}}" in out
        out.encode("ascii")  # ASCII-safe source
    else:
        assert out.startswith("| preset | layer | n |")


@pytest.mark.parametrize("fmt", ["csv", "markdown", "latex"])
def test_export_cli_class_tables(fmt, logdir, capsys):
    assert main(["export", str(logdir), "--format", fmt, "--classes"]) == 0
    out = capsys.readouterr().out
    if fmt == "csv":
        frame = pd.read_csv(io.StringIO(out), comment="#")
        assert list(frame.neuron_class) == ["unique", "redundant", "synergistic", "mixed",
                                            "none"]
        assert frame.mean_share.tolist() == [0.25, 0.0, 0.0, 0.75, 0.0]
    elif fmt == "latex":
        assert "& unique & redundant & synergistic & mixed & none \\\\" in out
        assert "$0.750 \\pm 0.000$" in out and "more than half" in out
        out.encode("ascii")
    else:
        assert out.startswith("| preset | layer | n | unique | redundant | synergistic | "
                              "mixed | none |")
        assert "| gates | hidden | 2 | 0.250 ± 0.000 |" in out


def test_export_parquet_round_trip(logdir, tmp_path):
    target = tmp_path / "atoms.parquet"
    assert main(["export", str(logdir), "--format", "parquet", "-o", str(target)]) == 0
    frame = pd.read_parquet(target)
    assert set(frame.layer) == {"hidden"} and frame.n.max() == 2


def test_export_errors(logdir, tmp_path, capsys):
    cases = [
        (["export", str(tmp_path / "empty"), "--format", "csv"], "no such directory"),
        (["export", str(logdir), "--format", "parquet"], "parquet is binary"),
        (["export", str(logdir), "--format", "csv", "--checkpoint", "x"], "--checkpoint takes"),
        (["export", str(logdir), "--format", "latex", "--neurons"], "export them as csv"),
        (["export", str(logdir), "--format", "svg", "--classes"], "writes figures"),
        (
            ["export", str(logdir), "--format", "csv", "-o", str(tmp_path / "no" / "f.csv")],
            "does not exist",
        ),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (argv, err)
    (tmp_path / "plain").mkdir()
    assert main(["export", str(tmp_path / "plain"), "--format", "csv"]) == 2
    assert "no analysed runs" in capsys.readouterr().err
    # a table never replaces a run or an analysis named as its output
    for name in ("run.h5", "analysis.nc"):
        target = logdir / "s0" / name
        before = target.read_bytes()
        for fmt in ("csv", "parquet"):
            assert main(["export", str(logdir), "--format", fmt, "-o", str(target)]) == 2
            err = capsys.readouterr().err
            assert "holds HDF5 data" in err and err.count("\n") == 1
        assert target.read_bytes() == before


def test_runs_with_different_layers_load_together(logdir, capsys):
    from inspector.export import common_steps

    assert common_steps(load(logdir)) == [0, 1]
    analyze_run(gate_run(logdir / "other", checkpoints=3, layer_name="readout"))
    tree = load(logdir)
    assert common_steps(tree) == [0, 1]  # the readout-only run's step 2 is not everyone's
    for step in common_steps(tree):
        assert set(class_table(tree, step).steps) == {str(step), f"{step},{step}"}
    assert set(tree.children) == {"hidden", "readout"}
    hidden, readout = tree["hidden"].ds, tree["readout"].ds
    assert hidden.run.values.tolist() == readout.run.values.tolist() == ["other", "s0", "s1"]
    assert bool(hidden.pid.sel(run="other").isnull().all())  # no hidden layer in that run
    assert readout.goal.sel(run="s0").item() == ""
    table = atom_table(tree)
    assert table.groupby("layer").n.max().to_dict() == {"hidden": 2, "readout": 1}
    assert main(["export", str(logdir), "--format", "markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| preset | layer | n | {F}{C} | {F} | {C} | {FC} |")


def test_runs_with_other_lattices_keep_the_lattice_order(tmp_path, capsys):
    """Two- and three-source runs in one layer group: atoms, sources and goal terms keep the
    lattice's order (an outer join alone sorts them alphabetically), in every table too."""
    from inspector.pid import lattice

    analyze_run(gate_run(tmp_path / "two"))
    analyze_run(gate_run(tmp_path / "three", lateral=True, config={"preset": "tri"}))
    ds = load(tmp_path)["hidden"].ds
    three = lattice(3).labels(["F", "C", "L"])
    assert ds.atom.values.tolist() == three and ds.source.values.tolist() == ["F", "C", "L"]
    assert ds.goal_term.values.tolist() == ["{F}{C}", "{FC}", "H_res"]
    np.testing.assert_allclose(  # the values moved with their labels
        ds.pid.sel(run="two", atom=["{F}{C}", "{F}", "{C}", "{FC}"]).values,
        open_analysis(tmp_path / "two")["hidden"].ds.pid.values)
    table = atom_table(load(tmp_path))
    assert table[table.preset == "tri"].atom.tolist() == three
    assert table[table.preset == "gates"].atom.tolist() == ["{F}{C}", "{F}", "{C}", "{FC}"]
    assert main(["export", str(tmp_path), "--format", "markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Layers with sources F, C, L:"
    assert lines[2] == "| preset | layer | n | " + " | ".join(three) + " |"


def test_runs_analysed_with_other_binnings_are_not_pooled(logdir, capsys):
    """Atoms estimated with other bins are other numbers: such runs form their own groups,
    named by what differs, and the provenance lists both binnings."""
    from inspector.analysis import AnalysisSettings

    analyze_run(logdir / "s1", AnalysisSettings(binning="quantile", bins=4), force=True)
    tree = load(logdir)
    table = atom_table(tree)
    assert sorted(set(table.group)) == ["gates [hidden: fixed, 20 bins]",
                                        "gates [hidden: quantile, 4 bins]"]
    assert (table.n == 1).all()
    assert set(class_table(tree).group) == set(table.group)
    assert main(["export", str(logdir), "--format", "csv"]) == 0
    header = capsys.readouterr().out.splitlines()
    layers = next(line for line in header if line.startswith("# layers: "))
    assert '"binning": ["fixed", "quantile"], "bins": [20, 4]' in layers
    # figures across these runs name every binning they pool from (DESIGN: samples and
    # bins beside every figure)
    from inspector.charts import class_shares, estimates_text

    text = estimates_text(tree["hidden"].ds, "hidden")
    assert text == "64 probe samples, 20, 4 bins per source (fixed, quantile), I^sx in bits"
    chart = class_shares(class_table(tree), "hidden", text).to_dict()
    assert chart["title"]["subtitle"][-1] == text


def test_runs_of_one_preset_with_other_goals_form_their_own_groups(tmp_path):
    from inspector.curves import layer_means, metric_frame

    for name in ("a0", "a1"):
        analyze_run(gate_run(tmp_path / name))
    analyze_run(gate_run(tmp_path / "b0", goal={"{C}{F}": 1.0}))
    tree = load(tmp_path)
    assert tree.ds.goal.values.tolist()[2] == '{"{C}{F}": 1.0}'  # the first layer's goal
    groups = dict(zip(*(metric_frame(tree.ds, "loss")[c] for c in ("run", "group")),
                      strict=False))
    assert groups == {"a0": "gates: {F}{C} - 0.5 {FC} + 0.25 H_res",
                      "a1": "gates: {F}{C} - 0.5 {FC} + 0.25 H_res", "b0": "gates: {C}{F}"}
    atoms = layer_means(tree["hidden"].ds, "{FC}")
    assert set(atoms.group) == set(groups.values())
    table = atom_table(tree)
    assert sorted(table[table.atom == "{FC}"].n.tolist()) == [1, 2]


def test_runs_of_one_preset_with_other_settings_form_their_own_groups(tmp_path, capsys):
    """Only the seed makes replicates: runs that differ in a setting (here the learning rate
    in the run's config) are other experiments, in the curves and in every table format."""
    from inspector.curves import group_names, layer_means

    for name, seed, lr in (("a0", 0, 0.1), ("a1", 1, 0.1), ("b0", 0, 0.5)):
        config = {"seed": seed, "lr_hidden": lr, "device": "cpu" if seed else "cuda"}
        if name == "a1":
            config["new_key"] = 3  # a key older runs lack is no difference
        analyze_run(gate_run(tmp_path / name, config=config))
    tree = load(tmp_path)
    names = dict(zip(tree.ds.run.values, group_names(tree.ds), strict=True))
    assert names == {"a0": "gates (lr_hidden=0.1)", "a1": "gates (lr_hidden=0.1)",
                     "b0": "gates (lr_hidden=0.5)"}  # seed and device do not split groups
    assert set(layer_means(tree["hidden"].ds, "{FC}").group) == set(names.values())
    table = atom_table(tree)
    assert sorted(table[table.atom == "{FC}"].n.tolist()) == [1, 2]
    assert main(["export", str(tmp_path), "--format", "markdown"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| gates")]
    assert [r.split(" | ")[0] for r in rows] == ["| gates (lr_hidden=0.1)",
                                                  "| gates (lr_hidden=0.5)"]
    assert [r.split(" | ")[2] for r in rows] == ["2", "1"]


def test_group_names_say_only_how_the_analyses_differ():
    import json

    import xarray as xr

    from inspector.curves import group_names

    def analysis(binning, bins, value_range=None, n=256):
        return json.dumps({"hidden": {"binning": binning, "bins": bins, "n_samples": n,
                                      "target": "soft", "value_range": value_range}})

    runs = [analysis("fixed", 20, [-20, 20]), analysis("fixed", 20, [-10, 10]),
            analysis("quantile", 10), analysis("quantile", 10), analysis("quantile", 10, n=512)]
    ds = xr.Dataset(coords={"run": list("abcde"), "preset": ("run", ["p"] * 5),
                            "analysis": ("run", runs)})
    assert group_names(ds) == [
        "p [hidden: fixed, 20 bins, range [-20, 20], 256 samples]",
        "p [hidden: fixed, 20 bins, range [-10, 10], 256 samples]",
        "p [hidden: quantile, 10 bins, 256 samples]",
        "p [hidden: quantile, 10 bins, 256 samples]",
        "p [hidden: quantile, 10 bins, 512 samples]",
    ]
    same = ds.isel(run=[2, 3])  # one analysis: no label
    assert group_names(same) == ["p", "p"]


def test_tables_say_when_a_groups_runs_were_taken_at_other_steps(logdir, capsys):
    analyze_run(gate_run(logdir / "s2", checkpoints=3))  # last step 2; s0, s1 end at 1
    assert main(["export", str(logdir), "--format", "markdown"]) == 0
    assert capsys.readouterr().out.rstrip().endswith(
        "Runs taken at different steps: gates (1, 2).")
    assert main(["export", str(logdir), "--format", "latex", "--classes"]) == 0
    assert "Runs taken at different steps: gates (1, 2).}" in capsys.readouterr().out


def test_latex_escapes_group_labels(tmp_path, capsys):
    analyze_run(gate_run(tmp_path / "a"))
    analyze_run(gate_run(tmp_path / "b", goal={"{C}{F}": 1.0}))
    assert main(["export", str(tmp_path), "--format", "latex"]) == 0
    out = capsys.readouterr().out
    assert "gates: \\{F\\}\\{C\\} - 0.5 \\{FC\\} + 0.25 H\\_res & hidden & 1" in out
    assert "Runs taken" not in out


def test_info_reports_the_analysis_and_its_classes(logdir, capsys):
    import json

    assert main(["info", str(logdir / "s0"), "--json"]) == 0
    analysis = json.loads(capsys.readouterr().out)["analysis"]
    assert analysis["state"] == "up to date"
    hidden = analysis["layers"]["hidden"]
    assert hidden["step"] == 1
    assert hidden["binning"] == "fixed, 20 bins, range [-20, 20], 64 samples"
    assert hidden["classes"] == {"unique": 0.25, "redundant": 0.0, "synergistic": 0.0,
                                 "mixed": 0.75, "none": 0.0}
    assert hidden["shuffles"] == 0
    assert main(["info", str(logdir / "s0")]) == 0
    assert ("hidden     neurons at step 1: unique 25 %, redundant 0 %, synergistic 0 %, "
            "mixed 75 %, none 0 % (fixed, 20 bins, range [-20, 20], 64 samples)"
            ) in capsys.readouterr().out
    gate_run(logdir / "sweep" / "s2")
    assert main(["info", str(logdir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.rsplit("; ", 1)[1] for line in lines] == [
        "analysis up to date", "analysis up to date", "analysis missing", "analysis missing"]
    # runs named as the inspector names them: their path below the LOGDIR
    assert [line.split(":")[0] for line in lines] == ["s0", "s1", "sweep/s2", "unanalysed"]
    from inspector.analysis import AnalysisSettings

    analyze_run(logdir / "s1", AnalysisSettings(shuffles=2), force=True)
    assert main(["info", str(logdir / "s1")]) == 0
    out = capsys.readouterr().out
    assert "64 samples, shuffle null of 2)" in out
    # p >= 1/3 with 2 shuffles: no atom beats the null; with 99, the gates' atoms all do
    assert "beating the null (5 % FDR): {F}{C} 0 %, {F} 0 %, {C} 0 %, {FC} 0 %" in out
    assert "(with 2 shuffles and 4 neurons no atom can pass the false discovery rate" in out
    analyze_run(logdir / "s1", AnalysisSettings(shuffles=99), force=True)
    assert main(["info", str(logdir / "s1"), "--json"]) == 0
    shares = json.loads(capsys.readouterr().out)["analysis"]["layers"]["hidden"]
    assert shares["significant_fdr"] == {"{F}{C}": 1.0, "{F}": 1.0, "{C}": 1.0, "{FC}": 1.0}
    assert "significant_fdr" not in hidden  # s0 has no shuffle null
    analyze_run(logdir / "s1", AnalysisSettings(shuffles=3, shuffle_steps="last"), force=True)
    assert main(["info", str(logdir / "s1")]) == 0
    assert "64 samples, shuffle null of 3 at the last step)" in capsys.readouterr().out
    # a damaged analysis file: said, not raised
    analysis_file = logdir / "s0" / "analysis.nc"
    analysis_file.write_bytes(analysis_file.read_bytes()[:4096])
    assert main(["info", str(logdir / "s0")]) == 0
    assert "analysis   unreadable" in capsys.readouterr().out


def test_load_metrics_reads_runs_with_or_without_an_analysis(logdir):
    from inspector.collection import load_metrics
    from inspector.curves import group_names

    runs = [logdir / name for name in ("s0", "s1", "unanalysed")]
    ds = load_metrics(*runs)
    assert ds.run.values.tolist() == ["s0", "s1", "unanalysed"]
    assert ds.loss.dims == ("run", "checkpoint") and ds.loss.notnull().all()
    analysed = load(logdir).ds
    assert group_names(ds) == ["gates"] * 3 == [*group_names(analysed), "gates"]
    assert ds.goal.values.tolist()[:2] == analysed.goal.values.tolist()
    with pytest.raises(InfomorphError, match="no runs"):
        load_metrics()


def test_export_atom_choice_for_tables_and_figures(tmp_path, capsys):
    logs = tmp_path / "logs"
    analyze_run(gate_run(logs / "tri", lateral=True))
    analyze_run(gate_run(logs / "bi"))
    assert main(["export", str(logs), "--format", "csv", "--atom", "{FC}", "--atom", "{F}"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out), comment="#")
    assert set(table.atom) == {"{F}", "{FC}"} and len(table) == 4  # 2 atoms x 2 groups
    # a {F} of sources F, C is not the {F} of F, C, L: never pooled
    assert set(table.group) == {"gates [hidden: sources F, C]", "gates [hidden: sources F, C, L]"}
    assert table.set_index("group").sources.to_dict() == {
        "gates [hidden: sources F, C]": "F,C", "gates [hidden: sources F, C, L]": "F,C,L"}
    # wide tables: one block (with its own atom columns) per lattice
    assert main(["export", str(logs), "--format", "markdown"]) == 0
    text = capsys.readouterr().out
    blocks = text.split("Layers with sources ")[1:]
    assert [b.split(":")[0] for b in blocks] == ["F, C", "F, C, L"]
    assert blocks[0].splitlines()[2] == "| preset | layer | n | {F}{C} | {F} | {C} | {FC} |"
    assert "-0.000" not in text
    assert main(["export", str(logs), "--format", "latex"]) == 0
    text = capsys.readouterr().out
    assert text.count("\\multicolumn{21}{l}{Sources F, C") == 2
    assert text.count("Preset & Layer & $n$") == 2
    assert main(["export", str(logs / "tri"), "--format", "latex"]) == 0
    assert "Sources" not in capsys.readouterr().out  # one lattice: one plain table
    assert set(neuron_table(load(logs)).sources) == {"F,C", "F,C,L"}
    for argv, message in (
        (["--format", "csv", "--atom", "{Z}"], "Unknown atom '{Z}'; choose one of: {F}{C}{L},"),
        (["--format", "csv", "--classes", "--atom", "{F}"], "--classes tables have none"),
        (["--format", "svg", "--atom", "{F}", "--atom", "{C}"], "figures take one --atom"),
    ):
        assert main(["export", str(logs), *argv]) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    # a three-source atom: a heatmap for the run that has it, the other figures for both
    out = tmp_path / "figs"
    argv = ["export", str(logs), "--format", "svg", "--atom", "{F}{C}{L}", "-o", str(out)]
    assert main(argv) == 0
    assert (out / "tri-hidden-heatmap.svg").exists()
    assert not (out / "bi-hidden-heatmap.svg").exists()
    assert (out / "bi-hidden-composition.svg").exists()


def test_runs_of_one_name_in_other_directories_keep_apart(tmp_path, capsys):
    for seed in ("seed0", "seed1"):
        analyze_run(gate_run(tmp_path / "logs" / seed / "a"))
    assert load(tmp_path / "logs").ds.run.values.tolist() == ["seed0/a", "seed1/a"]
    out = tmp_path / "figs"
    assert main(["export", str(tmp_path / "logs"), "--format", "svg", "-o", str(out)]) == 0
    assert (out / "seed0-a-hidden-composition.svg").exists()
    assert (out / "seed1-a-hidden-composition.svg").exists()


def test_export_figures_of_chosen_neurons(tmp_path, capsys):
    logs = tmp_path / "logs"
    analyze_run(gate_run(logs / "tri", lateral=True))
    analyze_run(gate_run(logs / "bi"))
    out = tmp_path / "figs"
    assert main(["export", str(logs), "--format", "svg", "--neuron", "1", "-o", str(out)]) == 0
    drawn = {p.name for p in out.glob("*neuron1*")}
    assert drawn == {f"{run}-hidden-neuron1-{what}.svg" for run, whats in (
        ("tri", ("atoms", "goal", "sees-F-C", "sees-F-L")),
        ("bi", ("atoms", "goal", "sees-F-C"))) for what in whats}
    assert "F x C of neuron 1 at step 1" in (out / "bi-hidden-neuron1-sees-F-C.svg").read_text()
    from inspector.neuron_charts import neuron_figure_names

    tri = open_analysis(logs / "tri")["hidden"].ds
    assert {f"tri-hidden-neuron1-{n}.svg" for n in neuron_figure_names(tri)} == {
        p for p in drawn if p.startswith("tri-")}  # the names, known before drawing
    capsys.readouterr()
    for argv, message in (
        (["--format", "svg", "--neuron", "4"], "no layer has a neuron 4; the largest has 0..3"),
        (["--format", "csv", "--neuron", "1"], "choose svg, png or pdf"),
        (["--format", "svg", "--checkpoint", "7"], "run bi has no checkpoint at step 7"),
    ):
        fresh = tmp_path / "none"
        assert main(["export", str(logs), *argv, "-o", str(fresh)]) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
        assert not fresh.exists()  # checked before anything is written
    # without a readable run.h5: the neuron's atoms, no input maps, a warning
    run_h5 = logs / "bi" / "run.h5"
    run_h5.write_bytes(run_h5.read_bytes()[:4000])
    again = tmp_path / "again"
    assert main(["export", str(logs / "bi"), "--format", "svg", "--neuron", "1",
                 "-o", str(again)]) == 0
    assert (again / "bi-hidden-neuron1-atoms.svg").exists()
    assert not list(again.glob("*sees*"))
    assert "no input maps of neuron 1" in capsys.readouterr().err


def test_export_checks_every_run_before_writing_and_warns_about_changed_runs(logdir, tmp_path,
                                                                           capsys):
    # a run whose run.h5 was lost after its analysis: exported, with a warning
    run_h5 = logdir / "s1" / "run.h5"
    run_h5.write_bytes(run_h5.read_bytes()[:4000])
    assert main(["export", str(logdir), "--format", "csv"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: cannot open") and "exported as it was written" in err
    # a damaged analysis: one line, and not a single figure written
    (logdir / "s0" / "analysis.nc").write_bytes(b"not netcdf")
    out = tmp_path / "figs"
    assert main(["export", str(logdir), "--format", "svg", "-o", str(out)]) == 2
    assert "s0/analysis.nc is not a readable analysis file" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_share_of_neurons_beating_the_null_per_run_over_training(tmp_path):
    from inspector.analysis import AnalysisSettings
    from inspector.curves import layer_significance
    from inspector.significance import significant_share

    analyze_run(gate_run(tmp_path / "a", checkpoints=3), AnalysisSettings(shuffles=19))
    analyze_run(gate_run(tmp_path / "b", checkpoints=3))  # no null: left out
    tree = load(tmp_path)
    frame = layer_significance(tree["hidden"].ds, "{FC}")
    assert set(frame.run) == {"a"} and len(frame) == 3
    expected = significant_share(open_analysis(tmp_path / "a")["hidden"].ds.p_value
                                 .sel(atom="{FC}"), fdr=True)
    np.testing.assert_allclose(frame.value, expected.values)
    with pytest.raises(InfomorphError, match="Unknown atom"):
        layer_significance(tree["hidden"].ds, "{X}")
    with pytest.raises(InfomorphError, match="none of these runs was analysed with --shuffles"):
        layer_significance(load(tmp_path / "b")["hidden"].ds, "{FC}")
