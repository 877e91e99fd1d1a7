"""Chart builders and figure export: aggregated data, class colours, files that open."""

import numpy as np
import pytest
from test_analysis import gate_run

from inspector.analysis import analyze
from inspector.charts import (
    BLANK_COLOR,
    CLASS_COLORS,
    HEATMAP_PICK,
    HEATMAP_ROWS,
    atom_composition,
    atom_heatmap,
    class_simplex,
    finite_max,
    save_chart,
    smooth,
)
from inspector.cli import main
from inspector.errors import InfomorphError


@pytest.fixture(scope="module")
def layer(tmp_path_factory):
    return analyze(gate_run(tmp_path_factory.mktemp("g") / "run", checkpoints=3))["hidden"].ds


def test_composition_is_aggregated_and_coloured_by_class(layer):
    import colorsys

    from inspector.atom_classes import atom_classes

    spec = atom_composition(layer).to_dict()
    data = next(iter(spec["datasets"].values()))
    assert len(data) == 3 * 4  # checkpoints x atoms, not neurons
    scale = spec["layer"][1]["encoding"]["color"]["scale"]
    atoms, classes = [str(a) for a in layer.atom.values], atom_classes(len(layer.source))
    assert scale["domain"] == atoms and len(set(scale["range"])) == len(atoms)

    def hue(color):
        return colorsys.rgb_to_hsv(*(int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)))[0]

    for cls, shade in zip(classes, scale["range"], strict=True):  # a shade of its class
        assert abs(hue(shade) - hue(CLASS_COLORS[cls])) < 0.02
    assert "probe samples" in spec["title"]["subtitle"]


def test_composition_draws_at_most_max_checkpoints_first_and_last_kept():
    import xarray as xr

    steps = np.arange(0, 700, 7)  # 100 checkpoints
    pid = np.random.default_rng(0).normal(size=(100, 5, 4))
    ds = xr.Dataset({"pid": (("checkpoint", "neuron", "atom"), pid)},
                    coords={"checkpoint": steps, "atom": ["{1}{2}", "{1}", "{2}", "{12}"],
                            "source": ["1", "2"]})
    full = next(iter(atom_composition(ds).to_dict()["datasets"].values()))
    assert len(full) == 100 * 4
    thin = next(iter(atom_composition(ds, 0.0, 50).to_dict()["datasets"].values()))
    drawn = sorted({row["checkpoint"] for row in thin})
    assert len(drawn) == 50 and drawn[0] == 0 and drawn[-1] == 693 and len(thin) == 50 * 4
    by_key = {(r["checkpoint"], r["atom"]): r for r in full}
    for col in ("mean", "q25", "q75", "class"):  # same values, quartiles computed at fewer
        assert all(by_key[(r["checkpoint"], r["atom"])][col] == r[col] for r in thin)
    smooth_full = next(iter(atom_composition(ds, 0.6).to_dict()["datasets"].values()))
    smooth_thin = next(iter(atom_composition(ds, 0.6, 50).to_dict()["datasets"].values()))
    by_key = {(r["checkpoint"], r["atom"]): r["q75"] for r in smooth_full}
    assert len(smooth_thin) == 50 * 4  # smoothed over all 100, then thinned
    assert all(by_key[(r["checkpoint"], r["atom"])] == r["q75"] for r in smooth_thin)
    few = atom_composition(ds.isel(checkpoint=slice(0, 30)), 0.0, 50).to_dict()
    assert len(next(iter(few["datasets"].values()))) == 30 * 4  # nothing dropped below the cap


def test_atom_shades_and_the_class_colours_of_large_lattices(layer):
    import xarray as xr

    from inspector.atom_classes import atom_classes
    from inspector.charts import atom_shades
    from inspector.pid import lattice

    shades = atom_shades(["a", "b", "c", "d"], ["unique", "redundant", "redundant", "redundant"])
    assert shades[0] == CLASS_COLORS["unique"] and len(set(shades[1:])) == 3
    labels = lattice(4).labels()
    pid = np.random.default_rng(0).normal(size=(2, 3, len(labels)))
    big = xr.Dataset({"pid": (("checkpoint", "neuron", "atom"), pid)},
                     coords={"checkpoint": [0, 1], "atom": labels, "source": list("1234")})
    color = atom_composition(big).to_dict()["layer"][1]["encoding"]["color"]
    assert color["field"] == "class" and color["scale"]["range"] == list(CLASS_COLORS.values())
    assert len(atom_classes(4)) == 166


def test_simplex_points_lie_in_the_triangle(layer):
    spec = class_simplex(layer).to_dict()
    points = list(spec["datasets"].values())[-1]
    for p in points:
        assert -1e-9 <= p["y"] <= np.sqrt(3) / 2 + 1e-9
        assert p["y"] / np.sqrt(3) - 1e-9 <= p["x"] <= 1 - p["y"] / np.sqrt(3) + 1e-9
        assert abs(p["unique"] + p["redundant"] + p["synergistic"] - 1) < 1e-9
    with pytest.raises(InfomorphError, match="no checkpoint at step 9"):
        class_simplex(layer, 9)


def test_heatmap_is_one_image_sorted_and_blocked(layer):
    from test_raster import decode

    from inspector.raster import diverging_rgba

    def image(chart):
        spec = chart.to_dict()
        return decode(next(d for d in spec["datasets"].values() if "url" in d[0])[0]["url"])

    values = layer.pid.sel(atom="{FC}").transpose("neuron", "checkpoint").values
    ordered = values[np.argsort(-values[:, -1], kind="stable")]
    np.testing.assert_array_equal(image(atom_heatmap(layer, "{FC}")),
                                  diverging_rgba(ordered, finite_max(ordered)))
    hover = atom_heatmap(layer, "{FC}", select=True).to_dict()
    rows = next(d for d in hover["datasets"].values() if "neurons" in d[0])
    order = np.argsort(-values[:, -1], kind="stable")
    assert [r["neuron"] for r in rows] == [int(layer.neuron[i]) for i in order]
    assert [r["last_bits"] for r in rows] == pytest.approx(ordered[:, -1].tolist())
    params = hover.get("params", []) + hover["layer"][-1].get("params", [])
    assert [p["name"] for p in params] == [HEATMAP_PICK]
    big = layer.isel(neuron=np.arange(30_000) % layer.sizes["neuron"])  # 30k neurons
    chart = atom_heatmap(big, "{FC}")
    assert image(chart).shape == (HEATMAP_ROWS, 3, 4)
    assert chart.to_dict()["layer"][0]["encoding"]["y"]["title"] == "neuron blocks of 100"
    with pytest.raises(InfomorphError, match="Unknown atom"):
        atom_heatmap(layer, "{X}")
    # only cells beating the null: q >= 0.05 blank (transparent), same colours otherwise
    with pytest.raises(InfomorphError, match="ran without shuffles"):
        atom_heatmap(layer, "{FC}", significant_only=True)
    p = np.full(layer.pid.shape, 0.001)
    p[:, 1, :] = 0.5  # neuron 1 (AND) never beats the null
    p[-1, :, :] = np.array([0.01, 0.5, 0.04, 0.2])[:, None]  # BH at the last checkpoint
    tested = layer.assign(p_value=(layer.pid.dims, p))
    masked = image(atom_heatmap(tested, "{FC}", significant_only=True))
    q_last = np.array([0.04, 0.5, 0.0533, 0.2])  # BH of 0.01, 0.5, 0.04, 0.2 over 4 neurons
    keep = np.ones(values.shape, bool)
    keep[1, :] = False
    keep[:, -1] = q_last < 0.05
    expected = diverging_rgba(np.where(keep, values, np.nan)[order], finite_max(ordered))
    np.testing.assert_array_equal(masked, expected)
    assert (masked[..., 3][~keep[order]] == 0).all()  # blank cells are transparent
    spec = atom_heatmap(tested, "{FC}", significant_only=True).to_dict()
    assert "grey: not beating the shuffle null" in spec["title"]["subtitle"][1]
    assert spec["layer"][0]["mark"] == {"type": "rect", "color": BLANK_COLOR}  # behind it
    assert "rect" not in str(atom_heatmap(tested, "{FC}").to_dict()["layer"][0]["mark"])


def test_smoothing_is_debiased_ema():
    np.testing.assert_allclose(smooth(np.array([1.0, 1.0, 1.0]), 0.9), [1, 1, 1])
    assert smooth(np.array([0.0, 10.0]), 0.5)[1] == pytest.approx(10 * 0.5 / 0.75)
    with pytest.raises(InfomorphError):
        smooth(np.ones(2), 1.0)


@pytest.mark.parametrize(("fmt", "magic"), [("svg", b"<svg"), ("png", b"\x89PNG"),
                                            ("pdf", b"%PDF")])
def test_save_chart_formats(layer, tmp_path, fmt, magic):
    path = save_chart(atom_composition(layer), tmp_path / f"c.{fmt}")
    assert path.read_bytes()[:5].startswith(magic) or magic in path.read_bytes()[:200]


def test_figure_export_cli(tmp_path, capsys):
    from inspector.analysis import AnalysisSettings, analyze_run

    analyze_run(gate_run(tmp_path / "logs" / "g"))
    out = tmp_path / "figs"
    assert main(["export", str(tmp_path / "logs"), "--format", "svg", "-o", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["classes-hidden.svg", "g-hidden-classes.svg", "g-hidden-composition.svg",
                     "g-hidden-heatmap.svg", "g-hidden-simplex.svg"]  # no test_accuracy.svg:
    # gate runs record none
    (tmp_path / "file").write_text("x")
    assert main(["export", str(tmp_path / "logs"), "--format", "png", "-o",
                 str(tmp_path / "file")]) == 2
    assert "figures need an output directory" in capsys.readouterr().err
    # the heatmap of cells beating the null needs shuffles, in every run, checked first
    only = ["export", str(tmp_path / "logs"), "--format", "svg", "--significant-only", "-o"]
    assert main([*only, str(tmp_path / "sig")]) == 2
    assert "--significant-only needs runs analysed with --shuffles; g was not" in (
        capsys.readouterr().err)
    assert not (tmp_path / "sig").exists()
    assert main(["export", str(tmp_path / "logs"), "--format", "csv", "--significant-only"]) == 2
    assert "shapes the heatmap figure" in capsys.readouterr().err
    analyze_run(tmp_path / "logs" / "g", AnalysisSettings(shuffles=19), force=True)
    # a run whose layer the others lack (padded with NaN in the collection) is no "run
    # without shuffles" for their layer
    analyze_run(gate_run(tmp_path / "logs" / "m", layer_name="memory"),
                AnalysisSettings(shuffles=19))
    assert main([*only, str(tmp_path / "sig")]) == 0
    assert (tmp_path / "sig" / "m-memory-significance.svg").exists()
    assert (tmp_path / "sig" / "g-hidden-significance.svg").exists()  # with shuffles only
    svg = (tmp_path / "sig" / "g-hidden-heatmap.svg").read_text()
    assert "grey: not beating the shuffle null" in svg
    assert "not beating" not in (out / "g-hidden-heatmap.svg").read_text()


def _canonical(spec: dict) -> str:
    """A spec with its datasets as JSON records, renamed by order of first use."""
    import json

    import pandas as pd

    def rounded(x):  # to_json prints 15 digits, altair 17
        if isinstance(x, float):
            return float(f"{x:.12g}")
        if isinstance(x, list):
            return [rounded(v) for v in x]
        return {k: rounded(v) for k, v in x.items()} if isinstance(x, dict) else x

    import pyarrow as pa

    def records(frame):
        if isinstance(frame, pa.Table):  # the app's finished specs carry Arrow tables
            frame = frame.to_pandas()
        if isinstance(frame, pd.DataFrame):
            return json.loads(frame.to_json(orient="records", double_precision=15))
        return frame

    data = {name: rounded(records(frame)) for name, frame in spec.get("datasets", {}).items()}
    text = json.dumps({k: v for k, v in spec.items() if k != "datasets"}, sort_keys=True)
    order = sorted(data, key=lambda name: text.find(f'"{name}"'))
    for i, name in enumerate(order):
        text = text.replace(f'"{name}"', f'"dataset-{i}"')
    return text + json.dumps([data[name] for name in order], sort_keys=True)


def test_the_apps_finished_specs_are_altairs_validated_specs(layer):
    """The app converts each chart once without validation (inspector.app.vega): the result
    must be what altair's validated to_dict gives, data included, apart from dataset names."""
    import altair as alt
    import pyarrow as pa

    from inspector.app import vega
    from inspector.neuron_charts import goal_terms_chart, neuron_atoms

    step = int(layer.checkpoint[-1])
    for chart in (atom_composition(layer, 0.5, 2), class_simplex(layer, step, True),
                  atom_heatmap(layer, str(layer.atom[0].values), True),
                  neuron_atoms(layer, 1, True), goal_terms_chart(layer, 0)):
        finished = vega.spec(chart)
        assert finished["datasets"], "the data travel as frames, not inline values"
        assert all(isinstance(t, pa.Table) for t in finished["datasets"].values())
        with alt.theme.enable("none"):
            assert _canonical(finished) == _canonical(chart.to_dict())
        assert alt.data_transformers.active != "infomorph-named-frames"


def test_seed_bands_colour_a_group_alike_in_every_chart():
    import pandas as pd

    from inspector.curves import seed_bands

    frame = pd.DataFrame({"group": ["b", "b", "c", "c"], "run": ["r1", "r1", "r2", "r2"],
                          "checkpoint": [0, 1, 0, 1], "value": [0.1, 0.2, 0.3, 0.4]})
    groups = ["a", "b", "c"]
    one = seed_bands(frame, "value", groups=groups).to_dict()["layer"][1]["encoding"]["color"]
    other = seed_bands(frame[frame.group == "c"], "value",
                       groups=groups).to_dict()["layer"][1]["encoding"]["color"]
    assert one["scale"] == other["scale"] and one["scale"]["domain"] == groups
    assert one["legend"]["labelLimit"] == 0  # names that differ at their end stay apart
    alone = seed_bands(frame, "value").to_dict()["layer"][1]["encoding"]["color"]
    assert alone["scale"]["domain"] == ["b", "c"]  # without groups: the frame's own, sorted


def test_goal_terms_take_their_atoms_shades(layer):
    from inspector.atom_classes import atom_classes
    from inspector.charts import atom_shades
    from inspector.neuron_charts import goal_terms_chart

    color = goal_terms_chart(layer, 0).to_dict()["encoding"]["color"]
    atoms = [str(a) for a in layer.atom.values]
    shade = dict(zip(atoms, atom_shades(atoms, atom_classes(len(layer.source))), strict=True))
    terms = [str(t) for t in layer.goal_term.values]
    assert color["scale"]["domain"][-1] == "goal (sum)"
    for term, colour in zip(color["scale"]["domain"], color["scale"]["range"], strict=True):
        assert term in [*terms, "goal (sum)"]
        assert colour == shade.get(term, colour)  # atoms: their shade; H_res, sum: grey, black
    assert len(set(color["scale"]["range"])) == len(color["scale"]["range"])


def test_neuron_lines_label_only_the_largest_atoms():
    import pandas as pd

    from inspector.neuron_charts import LINE_LABELS, _labelled

    bits = [0.5, -0.4, 0.3, 0.2, 0.1, 0.06, 0.055, 0.04, 0.001, -0.0001]
    last = pd.DataFrame({"atom": [f"a{i}" for i in range(10)], "bits": bits})
    kept = list(_labelled(last).atom)
    assert kept == [f"a{i}" for i in range(LINE_LABELS)]
    assert list(_labelled(last[last.atom.isin(["a0", "a8"])]).atom) == ["a0"]  # < 10 %


def test_class_shares_stack_each_groups_classes_in_class_order(tmp_path):
    import pandas as pd

    from inspector.charts import class_shares

    table = pd.DataFrame({"group": ["a"] * 2 + ["b"] * 2, "layer": "hidden",
                          "neuron_class": ["unique", "mixed"] * 2,
                          "mean_share": [0.25, 0.75, 1.0, 0.0], "sd_share": 0.0, "n": 1})
    spec = class_shares(table, "hidden").to_dict()
    assert spec["encoding"]["color"]["scale"]["range"] == list(CLASS_COLORS.values())
    assert spec["encoding"]["x"]["scale"]["domain"] == [0, 1]
    assert spec["encoding"]["y"]["sort"] == ["a", "b"]
    rows = next(iter(spec["datasets"].values()))
    assert spec["encoding"]["order"]["field"] == "order"
    assert {r["neuron_class"]: r["order"] for r in rows} == {"unique": 0, "mixed": 3}
    with pytest.raises(InfomorphError, match="no runs with a layer 'readout'"):
        class_shares(table, "readout")


def test_figure_export_draws_test_accuracy_across_runs(trained_logdir, tmp_path):
    out = tmp_path / "figs"
    assert main(["export", str(trained_logdir), "--format", "svg", "-o", str(out)]) == 0
    svg = (out / "test_accuracy.svg").read_text()
    assert "mean ± s.d. over runs of each group" in svg and "trivariate" in svg
    assert not (out / "recall_cosine.svg").exists()  # no memory run here


def test_class_timeline_shares_per_checkpoint(layer):
    from inspector.charts import class_timeline

    spec = class_timeline(layer).to_dict()
    rows = next(iter(spec["datasets"].values()))
    steps = [int(c) for c in layer.checkpoint.values]
    assert len(rows) == len(steps) * 5  # every class at every checkpoint
    for step in steps:  # the gate neurons: XOR unique, AND / UNQ / COPY mixed
        shares = {r["neuron_class"]: r["share"] for r in rows if r["checkpoint"] == step}
        assert shares == {"unique": 0.25, "redundant": 0.0, "synergistic": 0.0,
                          "mixed": 0.75, "none": 0.0}
    assert spec["encoding"]["color"]["scale"]["range"] == list(CLASS_COLORS.values())


def test_neuron_atoms_hollow_where_the_null_is_not_beaten(layer):
    from inspector.neuron_charts import neuron_atoms, neuron_frame
    from inspector.significance import q_values

    plain = neuron_atoms(layer, 1).to_dict()
    assert "q_value" not in neuron_frame(layer, 1)
    assert [lay["mark"]["type"] for lay in plain["layer"]] == ["line", "text"]
    p = np.full(layer.pid.shape, 0.001)
    p[:, :, 0] = 0.5  # the first atom beats the null nowhere
    tested = layer.assign(p_value=(layer.pid.dims, p))
    frame = neuron_frame(tested, 1)
    expected = q_values(tested.p_value).sel(neuron=1).transpose("checkpoint", "atom")
    np.testing.assert_allclose(frame.q_value, expected.values.ravel())
    spec = neuron_atoms(tested, 1).to_dict()
    assert [lay["mark"]["type"] for lay in spec["layer"]] == ["line", "point", "text"]
    points = spec["layer"][1]
    rows = spec["datasets"][points["data"]["name"]]
    first = str(layer.atom.values[0])
    assert {r["beats_null"] for r in rows if r["atom"] == first} == {False}  # drawn, hollow
    assert all(r["beats_null"] for r in rows if r["atom"] != first)
    assert points["encoding"]["fill"]["condition"]["test"] == "datum.beats_null"
    assert "hollow points" in spec["title"]["subtitle"][1]
    assert "q_value" not in neuron_frame(tested, 1, significance=False)  # the shares' bars


def test_significance_timeline_is_the_fdr_share_per_checkpoint(layer):
    from inspector.charts import layer_figure_names, significance_timeline
    from inspector.significance import significant_share

    assert "significance" not in layer_figure_names(layer)
    with pytest.raises(InfomorphError, match="ran without shuffles"):
        significance_timeline(layer)
    rng = np.random.default_rng(0)
    tested = layer.assign(p_value=(layer.pid.dims, rng.random(layer.pid.shape) * 0.1))
    assert layer_figure_names(tested)[-1] == "significance"
    spec = significance_timeline(tested).to_dict()
    rows = next(iter(spec["datasets"].values()))
    expected = significant_share(tested.p_value, fdr=True)
    for r in rows:
        assert r["share"] == pytest.approx(float(expected.sel(checkpoint=r["checkpoint"],
                                                              atom=r["atom"])))
    assert len(rows) == layer.sizes["checkpoint"] * layer.sizes["atom"]
    assert spec["encoding"]["y"]["scale"]["domain"] == [0, 1]


def test_checkpoints_without_a_null_are_not_marked_as_failing_it(layer):
    from test_raster import decode

    from inspector.charts import significance_timeline
    from inspector.neuron_charts import neuron_atoms
    from inspector.raster import diverging_rgba

    p = np.full(layer.pid.shape, 0.5)  # nothing beats the null where it was run ...
    p[:-1] = np.nan  # ... which is the last checkpoint only
    tested = layer.assign(p_value=(layer.pid.dims, p))
    spec = atom_heatmap(tested, "{FC}", significant_only=True).to_dict()
    image = decode(next(d for d in spec["datasets"].values() if "url" in d[0])[0]["url"])
    values = layer.pid.sel(atom="{FC}").transpose("neuron", "checkpoint").values
    order = np.argsort(-values[:, -1], kind="stable")
    expected = values[order].copy()
    expected[:, -1] = np.nan  # grey at the tested step, in full before it
    np.testing.assert_array_equal(
        image, diverging_rgba(expected, finite_max(values[order])))
    assert spec["title"]["subtitle"][2] == "checkpoints without a null: drawn in full"
    rows = next(d for d in neuron_atoms(tested, 0).to_dict()["datasets"].values()
                if "beats_null" in d[0])
    last = int(layer.checkpoint[-1])
    assert all(r["beats_null"] == (r["checkpoint"] != last) for r in rows)
    timeline = significance_timeline(tested).to_dict()
    shares = next(iter(timeline["datasets"].values()))
    assert {r["checkpoint"] for r in shares} == {last}
    assert timeline["title"]["subtitle"][2] == (
        f"1 of {layer.sizes['checkpoint']} checkpoints have a null")
