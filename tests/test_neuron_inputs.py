"""What a neuron sees: its binned inputs and firing probability, the table its atoms are
computed from."""

import numpy as np
import pytest
from test_analysis import GATES, gate_run

from inspector.analysis import analyze
from inspector.errors import InfomorphError
from inspector.neuron_inputs import input_cells, input_map, layer_binning
from inspector.pid import Binning
from storage import open_run


def _entropy(p):
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def test_cells_are_the_table_the_analysis_decomposes(tmp_path):
    """I(Y; F, C) computed from the cells equals the analysis' mutual information of every
    gate neuron: the map shows exactly what the atoms are computed from."""
    run_dir = gate_run(tmp_path / "g")
    ds = analyze(run_dir)["hidden"].ds
    binning = layer_binning(ds.attrs)
    assert binning == Binning("fixed", 20, (-20.0, 20.0))
    run = open_run(run_dir)
    for k, gate in enumerate(GATES):
        one = run.neuron("hidden", k).isel(step=-1)
        cells = input_cells(np.stack([one.source_F.values, one.source_C.values], -1),
                            one.theta.values, ["F", "C"], binning)
        assert set(cells.pair) == {"F x C"} and cells.samples.sum() == 64
        # sources at -10 / +10: bins 5 and 15 of 2 units each on [-20, 20]
        assert set(cells.x) == set(cells.y) == {"[-10, -8)", "[10, 12)"} and len(cells) == 4
        assert set(cells.x_bin) == {5, 15} and (cells.x_end == cells.x_bin + 1).all()
        p_cell = cells.share.to_numpy()
        joint = np.concatenate([p_cell * (1 - cells.p_fire), p_cell * cells.p_fire])
        p_fire = float((p_cell * cells.p_fire).sum())
        mi = _entropy(np.array([p_fire, 1 - p_fire])) + _entropy(p_cell) - _entropy(joint)
        assert mi == pytest.approx(float(ds.mutual_information.isel(checkpoint=-1)
                                         .sel(neuron=k)), abs=1e-9), gate
    xor = input_cells(np.array([[-10, -10], [-10, 10], [10, -10], [10, 10.0]]),
                      np.array([0, 1, 1, 0.0]), ["F", "C"], binning)
    assert xor.set_index(["x_bin", "y_bin"]).p_fire.to_dict() == {
        (5, 5): 0.0, (5, 15): 1.0, (15, 5): 1.0, (15, 15): 0.0}
    assert xor.share.sum() == pytest.approx(1.0)


def test_first_source_against_each_other_and_per_neuron_binnings():
    rng = np.random.default_rng(0)
    sources = rng.normal(size=(500, 3)) * [1.0, 5.0, 50.0]
    theta = rng.random(500)
    cells = input_cells(sources, theta, ["F", "C", "L"], Binning("maxnorm", 10))
    assert list(dict.fromkeys(cells.pair)) == ["F x C", "F x L"]
    for _, pair in cells.groupby("pair"):
        assert pair.samples.sum() == 500
        # maxnorm: each source divided by its own max |x|, so every source fills its range
        assert pair.y_bin.min() <= 2 and pair.y_bin.max() >= 7
    quantile = input_cells(sources, theta, ["F", "C", "L"], Binning("quantile", 4))
    per_bin = quantile[quantile.pair == "F x C"].groupby("x_bin").samples.sum()
    assert per_bin.tolist() == [125, 125, 125, 125]
    assert Binning("quantile", 4).labels() == ["bin 0", "bin 1", "bin 2", "bin 3"]
    assert Binning("maxnorm", 4).labels()[0] == "[-1, -0.5)"
    assert Binning("fixed", 4, (0, 2)).labels() == ["[0, 0.5)", "[0.5, 1)", "[1, 1.5)",
                                                    "[1.5, 2)"]
    chart = input_map(cells, "F x L", Binning("maxnorm", 10), "t").to_dict()
    # bins on a quantitative scale over their edges, labelled in the binning's units
    assert chart["encoding"]["x"]["scale"]["domain"] == [0, 10]
    assert chart["encoding"]["x"]["axis"]["labelExpr"] == "format(-1.0 + datum.value * 0.2, '~g')"
    assert chart["encoding"]["color"]["scale"]["domain"] == [0, 1]
    # any number of bins: a spec whose size does not grow with them
    many = input_cells(sources, theta, ["F", "C", "L"], Binning("fixed", 100_000))
    assert len(str(input_map(many, "F x C", Binning("fixed", 100_000), "t").to_dict())) < 2e5
    # Python users lay maps and a receptive field side by side (no sub-chart autosize)
    import altair as alt

    from inspector.neuron_charts import receptive_field

    row = alt.hconcat(input_map(cells, "F x C", Binning("maxnorm", 10), "a"),
                      input_map(cells, "F x L", Binning("maxnorm", 10), "b"),
                      receptive_field(np.arange(12.0), (3, 4), "rf")).to_dict()
    assert len(row["hconcat"]) == 3
    with pytest.raises(InfomorphError, match="at least two sources"):
        input_cells(sources[:, :1], theta, ["F"], Binning())
    with pytest.raises(InfomorphError, match="one value per sample"):
        input_cells(sources, theta[:10], ["F", "C", "L"], Binning())
    with pytest.raises(InfomorphError, match="no cells for the pair"):
        input_map(cells, "C x L", Binning("maxnorm", 10), "t")


@pytest.mark.parametrize("method", ["fixed", "maxnorm", "quantile"])
def test_cells_bin_like_the_estimator_even_on_bin_edges(method):
    """float32 values on and next to the edges: the cells' I(Y; F, C) is the estimator's."""
    from inspector.pid import decompose_samples_dataset

    rng = np.random.default_rng(1)
    edges = np.arange(-20, 21, 2.0)
    values = rng.choice(edges, size=(400, 2)) + rng.choice([0, 1e-6, -1e-6], size=(400, 2))
    sources = values.astype(np.float32)
    theta = rng.random(400).astype(np.float32)
    binning = Binning(method, 20)
    cells = input_cells(sources, theta, ["F", "C"], binning)
    p_cell = cells.share.to_numpy()
    joint = np.concatenate([p_cell * (1 - cells.p_fire), p_cell * cells.p_fire])
    p_fire = float((p_cell * cells.p_fire).sum())
    mi = _entropy(np.array([p_fire, 1 - p_fire])) + _entropy(p_cell) - _entropy(joint)
    ds = decompose_samples_dataset(sources[None], theta[None], binning=binning,
                                   names=["F", "C"])
    assert mi == pytest.approx(float(ds.mutual_information[0]), abs=1e-9)
