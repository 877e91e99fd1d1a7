"""Estimating atoms from samples: binning methods, the two estimators, labelled output."""

import numpy as np
import pytest
import torch
import xarray as xr

from inspector.errors import InfomorphError
from inspector.pid import (
    Binning,
    decompose,
    decompose_samples,
    decompose_samples_dataset,
    pmf_from_samples,
)


def test_fixed_bins_edges_and_clamping():
    b = Binning("fixed", bins=4, value_range=(-2, 2))
    x = torch.tensor([[[-9.0], [-2.0], [-1.0001], [-1.0], [0.0], [1.99], [2.0], [7.0]]])
    assert b.codes(x).flatten().tolist() == [0, 0, 0, 1, 2, 3, 3, 3]
    # training bins (neuron, batch, source) views of (batch, neuron, source) sources: the
    # codes come out contiguous, so the estimator's reshapes need no copy
    sources = torch.randn(6, 4, 3) * 3
    for method in ("fixed", "maxnorm"):
        codes = Binning(method, bins=4).codes(sources.transpose(0, 1))
        assert codes.is_contiguous()
        assert torch.equal(codes, Binning(method, bins=4).codes(sources.transpose(0, 1)
                                                                .contiguous()))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("method", ["fixed", "maxnorm", "quantile"])
def test_one_non_finite_value_among_many_is_an_error(bad, method):
    x = torch.randn(3, 50, 2, dtype=torch.float64)
    x[1, 17, 1] = bad
    with pytest.raises(InfomorphError, match="must be finite"):
        Binning(method, bins=4).codes(x)
    assert Binning(method, bins=4).codes(x[:, :0]).shape == (3, 0, 2)  # no samples: no error
    # views as training passes them: transposed (checked in memory order), and strided
    for view in (x.transpose(0, 1).contiguous().transpose(0, 1), x[:, ::2], x[:, 1::2]):
        if bool(torch.isfinite(view).all()):
            np.testing.assert_array_equal(Binning(method, bins=4).codes(view),
                                          Binning(method, bins=4).codes(view.contiguous()))
        else:
            with pytest.raises(InfomorphError, match="must be finite"):
                Binning(method, bins=4).codes(view)


def test_maxnorm_is_per_neuron_and_source():
    b = Binning("maxnorm", bins=2)
    x = torch.tensor([[[1.0, -10.0], [-2.0, 5.0]], [[0.0, 0.0], [0.0, 0.0]]])
    codes = b.codes(x)
    assert codes[0].tolist() == [[1, 0], [0, 1]]
    assert codes[1].tolist() == [[1, 1], [1, 1]]  # all-zero source: no division by zero


def test_quantile_bins_are_equal_frequency_and_respect_ties():
    b = Binning("quantile", bins=4)
    x = torch.arange(100, dtype=torch.float64).reshape(1, 100, 1)
    counts = torch.bincount(b.codes(x).flatten(), minlength=4)
    assert counts.tolist() == [25, 25, 25, 25]
    tied = torch.tensor([[[0.0], [0.0], [0.0], [0.0], [1.0], [2.0]]])
    codes = b.codes(tied).flatten().tolist()
    assert len(set(codes[:4])) == 1  # equal values share a bin


def test_discrete_checks_codes():
    b = Binning("discrete", bins=3)
    assert b.codes(torch.tensor([[[0], [2]]])).flatten().tolist() == [0, 2]
    with pytest.raises(InfomorphError, match=r"must lie in 0..2"):
        b.codes(torch.tensor([[[0], [3]]]))
    with pytest.raises(InfomorphError, match="integer codes"):
        b.codes(torch.tensor([[[0.5]]]))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "kmeans"}, "Unknown binning 'kmeans'; choose one of: fixed, maxnorm, "
                               "quantile, discrete."),
        ({"bins": 1}, "bins must be an integer >= 2, got 1"),
        ({"bins": 2.5}, "bins must be an integer >= 2, got 2.5"),
        ({"value_range": (1, 1)}, "value_range must have low < high"),
        ({"value_range": (0, float("inf"))}, "value_range must be finite, got (0, inf)"),
        ({"value_range": (float("nan"), 1)}, "value_range must be finite"),
    ],
)
def test_binning_validation_messages(kwargs, message):
    with pytest.raises(InfomorphError) as err:
        Binning(**kwargs)
    assert message in str(err.value)


@pytest.mark.parametrize("method", ["fixed", "maxnorm", "quantile"])
def test_estimators_agree_on_a_realistic_layer(method, rng):
    # 5 neurons, 2048 samples, 3 continuous sources, soft target: paper (b)'s setting.
    sources = rng.normal(0, 6, size=(5, 2048, 3))
    theta = 1 / (1 + np.exp(-sources[..., 0] / 4 - 0.3 * sources[..., 1]))
    binning = Binning(method, bins=20)
    sparse = decompose_samples_dataset(sources, theta, binning=binning)
    dense = decompose_samples_dataset(sources, theta, binning=binning, estimator="dense")
    for var in ("pid", "entropy", "residual_entropy", "source_information"):
        np.testing.assert_allclose(sparse[var], dense[var], atol=1e-9)
    assert sparse.attrs["bins"] == 20 and sparse.attrs["n_samples"] == 2048
    assert sparse.attrs["binning"] == method
    # ... and the table the dense estimator decomposes is the documented one
    codes = binning.codes(torch.from_numpy(sources))
    q = torch.from_numpy(np.stack([1 - theta, theta], -1))
    table = pmf_from_samples(codes, q, [20] * 3)
    np.testing.assert_allclose(decompose(table, 3).values, sparse.pid.values, atol=1e-9)


def test_soft_target_is_a_mixture_of_hard_ones():
    # A sample with theta = 0.5 is half a sample of each class.
    sources = np.array([[[0.0], [1.0]]])
    soft = decompose_samples(sources, np.array([[0.5, 1.0]]), binning=Binning("discrete", 2))
    hard = decompose_samples(np.array([[[0.0], [0.0], [1.0], [1.0]]]),
                             np.array([[0, 1, 1, 1]]), binning=Binning("discrete", 2))
    np.testing.assert_allclose(soft.values, hard.values, atol=1e-12)


def test_xarray_input_keeps_dims_and_coords(rng):
    values = rng.normal(size=(3, 4, 50, 2))
    sources = xr.DataArray(values, dims=("checkpoint", "neuron", "sample", "source"),
                           coords={"checkpoint": [0, 10, 20], "neuron": list("abcd")})
    theta = rng.random((3, 4, 50))
    atoms = decompose_samples(sources, theta, binning="quantile", names=["F", "C"])
    assert atoms.dims == ("checkpoint", "neuron", "atom")
    assert atoms.checkpoint.values.tolist() == [0, 10, 20]
    assert atoms.atom.values.tolist() == ["{F}{C}", "{F}", "{C}", "{FC}"]
    assert atoms.mutual_information.dims == ("checkpoint", "neuron")
    np.testing.assert_allclose(atoms.sum("atom"), atoms.mutual_information, atol=1e-12)


def test_pointwise_samples(rng):
    sources = rng.integers(0, 3, size=(2, 30, 2)).astype(float)
    theta = rng.random((2, 30))
    ds = decompose_samples_dataset(sources, theta, binning=Binning("discrete", 3),
                                   pointwise=True)
    assert ds.pid.dims == ("dim_0", "sample", "target", "atom")
    averaged = decompose_samples(sources, theta, binning=Binning("discrete", 3))
    np.testing.assert_allclose((ds.pid * ds.probability).sum(("sample", "target")),
                               averaged, atol=1e-12)


def test_torch_inputs_and_hard_multistate_targets(rng):
    sources = torch.from_numpy(rng.normal(size=(40, 2)))
    target = torch.from_numpy(rng.integers(0, 3, size=40))
    atoms = decompose_samples(sources, target, binning="quantile")
    assert atoms.dims == ("atom",)
    assert float(atoms.entropy) <= np.log2(3) + 1e-12


@pytest.mark.parametrize(
    ("sources", "target", "kwargs", "message"),
    [
        (np.zeros((5, 2)), np.zeros(4), {}, "target must have shape (*batch, sample) = (5,)"),
        (np.zeros(5), np.zeros(5), {}, "sources must have shape (*batch, sample, source)"),
        (np.zeros((5, 5)), np.zeros(5), {}, "n_sources must be 1..4, got 5"),
        (np.zeros((5, 2)), np.full(5, 1.5), {}, "must lie in [0, 1]"),
        (np.zeros((5, 2)), np.zeros(5), {"estimator": "knn"},
         "Unknown estimator 'knn'; choose one of: sparse, dense."),
        (np.zeros((5, 2)), np.zeros(5), {"binning": "kde"}, "Unknown binning 'kde'"),
        (np.full((5, 2), np.nan), np.zeros(5), {}, "sources must be finite"),
        (np.zeros((0, 2)), np.zeros(0), {}, "no samples"),
        (np.array([["a", "b"]]), np.zeros(1), {}, "sources must be numeric"),
    ],
)
def test_sample_input_errors(sources, target, kwargs, message):
    with pytest.raises(InfomorphError) as err:
        decompose_samples(sources, target, **kwargs)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("pmf", "n", "message"),
    [
        (np.ones((2, 2)), 2, "at least 3 axes"),
        (-np.ones((2, 2, 2)), 2, "pmf entries must be >= 0"),
        (np.zeros((2, 2, 2)), 2, "pmf sums to 0"),
        (np.ones((2, 0, 2)), 2, "empty axis"),
        (np.ones((2, 2, 2)), 5, "n_sources must be 1..4"),
        (np.ones((2, 2, 2)), 2.0, "n_sources must be an integer"),
        (np.full((2, 2, 2), np.inf), 2, "pmf must be finite"),
    ],
)
def test_table_input_errors(pmf, n, message):
    with pytest.raises(InfomorphError, match=None) as err:
        decompose(pmf, n)
    assert message in str(err.value)


def test_counts_are_normalised_per_batch_element():
    a = np.ones((2, 2, 2))
    atoms = decompose(np.stack([a, 7 * a]), 2)
    np.testing.assert_allclose(atoms[0], atoms[1])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu(rng):
    from inspector.pid import pid_from_samples

    codes = torch.from_numpy(rng.integers(0, 20, size=(8, 512, 3)))
    theta = torch.from_numpy(rng.random((8, 512)))
    q = torch.stack([1 - theta, theta], -1)
    cpu = pid_from_samples(codes, q, [20] * 3).atoms
    gpu = pid_from_samples(codes.cuda(), q.cuda(), [20] * 3).atoms.cpu()
    np.testing.assert_allclose(cpu.numpy(), gpu.numpy(), atol=1e-9)


def goal_and_gradient(codes, logit, n_bins, gamma, residual, reduction="none"):
    """goal_from_samples of soft targets sigma(logit), and its gradient w.r.t. the logits."""
    from inspector.pid import goal_from_samples

    x = logit.clone().requires_grad_(True)
    theta = torch.sigmoid(x)
    goal = goal_from_samples(codes, torch.stack([1 - theta, theta], -1), n_bins, gamma,
                             residual, reduction=reduction)
    goal.sum().backward()
    return goal.detach(), x.grad


def test_backward_is_the_same_whether_forward_kept_its_logs(monkeypatch):
    import inspector.pid._isx as isx
    import inspector.pid._samples as from_samples
    from inspector.pid import lattice

    gen = torch.Generator().manual_seed(3)
    codes = torch.randint(0, 6, (5, 300, 3), generator=gen)
    logit = torch.randn(5, 300, generator=gen, dtype=torch.float64)
    gamma = torch.randn(len(lattice(3)), generator=gen, dtype=torch.float64)
    monkeypatch.setattr(from_samples, "_TABLE_CELLS_PER_SAMPLE", 0.0)  # the occupied cells' route

    def grad():
        return goal_and_gradient(codes, logit, [6, 6, 6], gamma, 0.3)

    kept = grad()
    monkeypatch.setattr(isx, "_CHUNK_ELEMENTS", 512)  # many chunks, each kept
    chunked = grad()
    monkeypatch.setattr(isx, "_KEEP_ELEMENTS", 0)  # backward rebuilds unions and logs
    rebuilt = grad()
    for other in (chunked, rebuilt):
        torch.testing.assert_close(kept[0], other[0], rtol=0, atol=1e-12)
        torch.testing.assert_close(kept[1], other[1], rtol=0, atol=1e-12)


def test_groups_side_by_side_give_the_same_goal_and_gradient(monkeypatch):
    import inspector.pid._isx as isx
    import inspector.pid._samples as from_samples
    from inspector.pid import lattice

    gen = torch.Generator().manual_seed(5)
    codes = torch.randint(0, 7, (4, 400, 3), generator=gen)
    codes[1, :, 2] = 0  # a constant source in one row: unions with fewer points than others
    logit = torch.randn(4, 400, generator=gen, dtype=torch.float64)
    gamma = torch.randn(len(lattice(3)), generator=gen, dtype=torch.float64)
    calls = []
    kernel = isx._UnionInformation.apply

    def counted(*args):
        calls.append(args[4])  # the rows of this call
        return kernel(*args)

    monkeypatch.setattr(isx._UnionInformation, "apply", counted)
    monkeypatch.setattr(from_samples, "_TABLE_CELLS_PER_SAMPLE", 0.0)  # the occupied cells' route
    monkeypatch.setattr(isx, "_MERGE_GOALS", False)  # groups as a decomposition has them

    def grad():
        return goal_and_gradient(codes, logit, [7, 7, 7], gamma, 0.1)

    together = grad()
    assert sorted(calls) == [4, 12, 12]  # the full union; three singles; three pairs
    calls.clear()
    monkeypatch.setattr(isx, "_SIDE_BY_SIDE_ELEMENTS", 0)
    apart = grad()
    assert calls == [4] * 7
    torch.testing.assert_close(together[0], apart[0], rtol=0, atol=1e-12)
    torch.testing.assert_close(together[1], apart[1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("goal", ["all", "one"])
def test_summed_goal_equals_the_sum_of_per_row_goals(n, goal, monkeypatch):
    import inspector.pid._samples as from_samples
    from inspector.pid import goal_from_samples, lattice

    gen = torch.Generator().manual_seed(11 + n)
    codes = torch.randint(0, 5, (6, 300, n), generator=gen)
    codes[2, :, 0] = 3  # a constant source in one row
    logit = torch.randn(6, 300, generator=gen, dtype=torch.float64)
    gamma = torch.randn(len(lattice(n)), generator=gen, dtype=torch.float64)
    if goal == "one":  # one antichain: few groups, evaluated as one
        gamma = torch.zeros_like(gamma).index_fill_(0, torch.tensor([0]), 1.0)

    def rows_and_sum():
        return [goal_and_gradient(codes, logit, [5] * n, gamma, 0.2, reduction)
                for reduction in ("none", "sum")]

    table = rows_and_sum()  # 5^n cells, 300 samples: through the dense table
    monkeypatch.setattr(from_samples, "_TABLE_CELLS_PER_SAMPLE", 0.0)  # the occupied cells' route
    rows, summed = rows_and_sum()
    assert rows[0].shape == (6,) and summed[0].shape == ()
    torch.testing.assert_close(summed[0], rows[0].sum(), rtol=0, atol=1e-10)
    torch.testing.assert_close(summed[1], rows[1], rtol=0, atol=1e-12)
    for route, other in zip(table, (rows, summed), strict=True):  # same goal and gradient
        torch.testing.assert_close(route[0], other[0], rtol=0, atol=1e-10)
        torch.testing.assert_close(route[1], other[1], rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="reduction"):
        goal_from_samples(codes, torch.stack([1 - logit, logit], -1), [5] * n, gamma,
                          reduction="mean")


def test_row_blocks_in_threads_give_the_same_numbers(monkeypatch):
    import inspector.pid._isx as isx
    from inspector.pid import pid_from_pmf, pid_from_samples

    gen = torch.Generator().manual_seed(5)
    codes = torch.randint(0, 5, (7, 200, 3), generator=gen)
    q = torch.rand(7, 200, 1, generator=gen, dtype=torch.float64)
    q = torch.cat([1 - q, q], -1)
    pmf = torch.rand(7, 4, 4, 2, generator=gen, dtype=torch.float64)
    pmf /= pmf.sum(dim=(1, 2, 3), keepdim=True)
    monkeypatch.setattr(isx, "_ROW_SPLIT_ELEMENTS", 1 << 40)  # one call
    one = pid_from_samples(codes, q, [5, 5, 5]), pid_from_pmf(pmf, 2)
    monkeypatch.setattr(isx, "_ROW_SPLIT_ELEMENTS", 1)  # row blocks in threads
    monkeypatch.setattr(isx, "_ROW_THREADS", 3)
    split = pid_from_samples(codes, q, [5, 5, 5]), pid_from_pmf(pmf, 2)
    for a, b in zip(one, split, strict=True):
        for x, y in zip(a, b, strict=True):
            torch.testing.assert_close(x, y, rtol=0, atol=1e-12)


@pytest.mark.parametrize("estimator", ["sparse", "dense"])
def test_threads_false_gives_the_same_numbers_without_worker_threads(estimator, monkeypatch):
    import inspector.pid._isx as isx
    from inspector.pid import decompose, decompose_samples

    rng = np.random.default_rng(3)
    sources = rng.normal(0, 6, size=(300, 400, 3))  # big enough to be split into row blocks
    theta = rng.random((300, 400))
    threaded = decompose_samples(sources, theta, estimator=estimator)
    tables = rng.random((300, 20, 20, 2))
    threaded_tables = decompose(tables, 2)

    def no_pool():
        raise AssertionError("worker threads started")

    monkeypatch.setattr(isx, "_pool", no_pool)
    serial = decompose_samples(sources, theta, estimator=estimator, threads=False)
    np.testing.assert_allclose(serial.values, threaded.values, atol=1e-12)
    np.testing.assert_allclose(decompose(tables, 2, threads=False).values,
                               threaded_tables.values, atol=1e-12)
    with pytest.raises(AssertionError, match="worker threads"):  # the default does split
        decompose_samples(sources, theta, estimator=estimator)


def test_row_blocks_of_whole_grids_give_the_same_numbers_and_gradients(monkeypatch):
    """Whole grids are copied in blocks of rows that fit the cache: values, pointwise
    values and gradients must not depend on where the blocks fall."""
    import inspector.pid._isx as isx
    from inspector.pid import pid_from_pmf, pointwise_from_pmf

    gen = torch.Generator().manual_seed(11)
    pmf = torch.rand(7, 4, 3, 5, 2, generator=gen, dtype=torch.float64)
    pmf[0, 1] = 0.0  # empty cells in one row
    pmf /= pmf.sum(dim=(1, 2, 3, 4), keepdim=True)

    def run():
        x = pmf.clone().requires_grad_(True)
        terms = pid_from_pmf(x, 3, threads=False)
        (terms.atoms * torch.arange(18.0, dtype=x.dtype)).sum().backward()
        return terms.atoms.detach(), x.grad, pointwise_from_pmf(pmf, 3).atoms, \
            pid_from_pmf(pmf, 3, threads=False).atoms

    whole = run()
    monkeypatch.setattr(isx, "_CHUNK_ELEMENTS", 200)  # blocks of 1-2 rows, uneven ends
    blocks = run()
    for a, b in zip(whole, blocks, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    one = [pointwise_from_pmf(pmf[i], 3).atoms for i in range(7)]
    torch.testing.assert_close(blocks[2], torch.stack(one), rtol=0, atol=1e-12)


@pytest.mark.parametrize("goal", ["4-term", "all 18 atoms"])
@pytest.mark.parametrize("route", ["cells", "table"])
@pytest.mark.parametrize("reduction", ["none", "sum"])
def test_goals_evaluated_as_one_group_give_the_same_values(goal, route, reduction,
                                                           monkeypatch):
    """Training's loss evaluates a goal's antichains at the cells of all sources: the same
    goal and gradient as group by group (p(s, t)-weighted sums marginalise), on either
    route from samples."""
    import inspector.pid._isx as isx
    import inspector.pid._samples as from_samples
    from inspector.pid import lattice

    lat = lattice(3)
    gen = torch.Generator().manual_seed(2)
    gamma = torch.zeros(len(lat), dtype=torch.float64)  # paper (b)'s 4-term goal
    for label, value in (("{1}{2}", 1.0), ("{1}{3}", -1.0), ("{12}{13}", -1.0),
                         ("{1}{2}{3}", 0.33)):
        gamma[lat.index(label)] = value
    if goal == "all 18 atoms":
        gamma = torch.rand(len(lat), generator=gen, dtype=torch.float64) * 2 - 1
    needed = (gamma @ torch.tensor(lat.moebius, dtype=torch.float64) != 0).tolist()
    assert len(list(isx._groups(lat, needed))) == (4 if goal == "4-term" else 7)
    codes = torch.randint(0, 6, (4, 500, 3), generator=gen)
    codes[1, :, 2] = 0  # a constant source in one row
    logit = torch.randn(4, 500, generator=gen, dtype=torch.float64)
    if route == "cells":  # 216 cells from 500 samples would go through the table
        monkeypatch.setattr(from_samples, "_TABLE_CELLS_PER_SAMPLE", 0.0)

    merged = goal_and_gradient(codes, logit, [6, 6, 6], gamma, 0.1, reduction)
    monkeypatch.setattr(isx, "_MERGE_GOALS", False)  # group by group
    grouped = goal_and_gradient(codes, logit, [6, 6, 6], gamma, 0.1, reduction)
    torch.testing.assert_close(merged[0], grouped[0], rtol=0, atol=1e-12)
    torch.testing.assert_close(merged[1], grouped[1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("bins", [3, 20])  # the dense table's route and the occupied cells'
def test_an_empty_batch_gives_empty_results_and_no_samples_is_an_error(bins):
    from inspector.pid import (
        goal_from_samples,
        lattice,
        pid_from_pmf,
        pid_from_samples,
        pmf_from_samples,
        pointwise_from_samples,
    )

    codes, n_bins = torch.randint(0, bins, (0, 5, 3)), [bins] * 3
    theta = torch.rand(0, 5, dtype=torch.float64, requires_grad=True)
    q = torch.stack([1 - theta, theta], -1)
    assert pid_from_samples(codes, q, n_bins).atoms.shape == (0, 18)
    assert pointwise_from_samples(codes, q, n_bins).atoms.shape == (0, 5, 2, 18)
    assert pid_from_pmf(pmf_from_samples(codes, q, n_bins), 3).atoms.shape == (0, 18)
    gamma = torch.ones(len(lattice(3)), dtype=torch.float64)
    assert goal_from_samples(codes, q, n_bins, gamma).shape == (0,)
    total = goal_from_samples(codes, q, n_bins, gamma, reduction="sum")
    total.backward()
    assert float(total.detach()) == 0.0 and theta.grad.shape == (0, 5)
    with pytest.raises(ValueError, match="no samples"):
        pid_from_samples(torch.zeros(2, 0, 3, dtype=torch.long), torch.zeros(2, 0, 2), n_bins)


def test_marginal_tables_by_key_or_by_sorted_ids_give_the_same_goal(monkeypatch):
    """A goal evaluated as one group indexes its pair and single marginals by key when the
    key space is small next to the cells, else by sorted ids: the same goal and gradient."""
    import inspector.pid._samples as from_samples
    from inspector.pid import lattice

    gen = torch.Generator().manual_seed(8)
    codes = torch.randint(0, 20, (3, 60, 3), generator=gen)  # <= 60 cells a row, 400 pair keys
    codes[2, :, 1] = 4  # a constant source in one row
    logit = torch.randn(3, 60, generator=gen, dtype=torch.float64)
    gamma = torch.rand(len(lattice(3)), generator=gen, dtype=torch.float64) * 2 - 1
    cell_ids, ways = from_samples._cell_ids, []

    def recorded(*args):
        ids = cell_ids(*args)
        ways.append(ids[2] is None)  # True: the keys index the table directly
        return ids

    monkeypatch.setattr(from_samples, "_cell_ids", recorded)
    by_key = goal_and_gradient(codes, logit, [20] * 3, gamma, 0.1, "sum")
    assert ways == [False] + [True] * 6  # the cells sorted; the 6 sub-masks by key
    ways.clear()
    monkeypatch.setattr(from_samples, "_TABLE_KEYS_PER_CELL", 2)
    sorted_ids = goal_and_gradient(codes, logit, [20] * 3, gamma, 0.1, "sum")
    assert ways.count(False) == 4  # the cells and the three pairs sorted, singles by key
    torch.testing.assert_close(by_key[0], sorted_ids[0], rtol=0, atol=1e-12)
    torch.testing.assert_close(by_key[1], sorted_ids[1], rtol=0, atol=1e-12)


def _null_one_shuffle_at_a_time(sources, target, shuffles, seed, **kwargs):
    """The shuffle null by its definition: every shuffle decomposed on its own."""
    rng = np.random.default_rng(seed)
    observed = decompose_samples_dataset(sources, target, **kwargs).pid.values
    flat = target.reshape(-1, target.shape[-1])
    hits, total = np.zeros(observed.shape), np.zeros(observed.shape)
    for _ in range(shuffles):
        order = np.argsort(rng.random(flat.shape), axis=1)
        moved = np.take_along_axis(flat, order, 1).reshape(target.shape)
        null = decompose_samples_dataset(sources, moved, **kwargs).pid.values
        hits += np.abs(null) >= np.abs(observed) - 1e-12
        total += null
    return (1 + hits) / (1 + shuffles), total / shuffles


@pytest.mark.parametrize(("estimator", "binning", "hard"),
                         [("sparse", Binning("fixed", 6, (-2, 2)), False),
                          ("dense", Binning("quantile", 4), True),
                          ("sparse", Binning("maxnorm", 5), False)])
def test_shuffle_null_is_its_definition_batched(estimator, binning, hard, rng, monkeypatch):
    sources = rng.normal(size=(2, 3, 40, 3))  # batch dims (2, 3)
    theta = 1 / (1 + np.exp(-2 * sources[..., 0] * (1 + sources[..., 1])))
    target = (rng.random(theta.shape) < theta).astype(np.int64) if hard else theta
    kwargs = {"binning": binning, "estimator": estimator, "names": ["F", "C", "L"]}
    p, mean = _null_one_shuffle_at_a_time(sources, target, 23, 7, **kwargs)
    import inspector.pid._decompose as decompose_module

    for chunk in (1 << 23, 4000):  # all 23 shuffles in one batch, or one per batch
        monkeypatch.setattr(decompose_module, "_CHUNK_ELEMENTS", chunk)
        ds = decompose_samples_dataset(sources, target, shuffles=23, rng=7, **kwargs)
        assert ds.p_value.dims == ds.pid.dims == ("dim_0", "dim_1", "atom")
        np.testing.assert_array_equal(ds.p_value.values, p)
        np.testing.assert_allclose(ds.pid_null_mean.values, mean, atol=1e-15)
    assert ds.attrs["shuffles"] == 23 and ds.pid_null_mean.attrs["units"] == "bits"
    assert ((ds.p_value >= 1 / 24) & (ds.p_value <= 1)).all()
    # the bias: the null's I(Y; S) (the sum of its atoms) is a mutual information, >= 0
    assert (ds.pid_null_mean.sum("atom") >= -1e-12).all()


def test_shuffle_null_of_a_deterministic_gate_sits_at_its_floor():
    codes = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 16, dtype=float)
    xor = (codes[:, 0] != codes[:, 1]).astype(np.int64)
    ds = decompose_samples_dataset(codes, xor, binning="discrete", shuffles=99, rng=0)
    # every atom of XOR is far from what a shuffled target carries: p = 1 / (K + 1)
    np.testing.assert_allclose(ds.p_value, 1 / 100)
    again = decompose_samples_dataset(codes, xor, binning="discrete", shuffles=99, rng=0)
    np.testing.assert_array_equal(again.pid_null_mean, ds.pid_null_mean)
    assert "p_value" not in decompose_samples_dataset(codes, xor, binning="discrete")
    atoms = decompose_samples(codes, xor, binning="discrete", shuffles=99, rng=0)
    np.testing.assert_array_equal(atoms.p_value, ds.p_value)  # coordinates of the atoms
    np.testing.assert_array_equal(atoms.pid_null_mean, ds.pid_null_mean)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"shuffles": -1}, "shuffles must be an integer >= 0, got -1"),
    ({"shuffles": 2.5}, "shuffles must be an integer >= 0, got 2.5"),
    ({"shuffles": True}, "shuffles must be an integer >= 0, got True"),
    ({"shuffles": 3, "pointwise": True}, "shuffle null is of the averaged atoms"),
    ({"shuffles": 3, "rng": -1}, "rng must be a numpy Generator or a seed >= 0, got -1"),
    ({"shuffles": 3, "rng": "abc"}, "rng must be a numpy Generator or a seed >= 0"),
])
def test_shuffle_null_input_errors(kwargs, message):
    with pytest.raises(InfomorphError) as err:
        decompose_samples_dataset(np.zeros((5, 2)), np.zeros(5), **kwargs)
    assert message in str(err.value)
