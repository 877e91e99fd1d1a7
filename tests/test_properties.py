"""Invariants of I^sx on random distributions (hypothesis), for n = 2, 3, 4."""

import itertools
from unittest import mock

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import inspector.pid._isx as isx
import inspector.pid._samples as from_samples
from inspector.pid import (
    decompose_dataset,
    goal_from_samples,
    lattice,
    pid_from_pmf,
    pid_from_samples,
    pmf_from_samples,
    pointwise_from_pmf,
    pointwise_from_samples,
)

TOL = 1e-9


@st.composite
def pmfs(draw, n_sources=None):
    n = draw(st.integers(2, 4)) if n_sources is None else n_sources
    max_k = {2: 4, 3: 3, 4: 2}[n]
    shape = (*tuple(draw(st.integers(1, max_k)) for _ in range(n)), draw(st.integers(1, 3)))
    seed = draw(st.integers(0, 2**32 - 1))
    zeros = draw(st.sampled_from([0.0, 0.3, 0.7]))
    rng = np.random.default_rng(seed)
    p = rng.random(shape) * (rng.random(shape) >= zeros)
    if p.sum() == 0:
        p.flat[rng.integers(p.size)] = 1.0
    return n, p / p.sum()


def entropy(p):
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def mutual_information(joint_st):
    """I(T; S) in bits from a table (S, T), computed from entropies."""
    return entropy(joint_st.sum(0)) + entropy(joint_st.sum(1)) - entropy(joint_st)


@settings(max_examples=60, deadline=None)
@given(pmfs())
def test_sums_and_entropies(case):
    n, p = case
    ds = decompose_dataset(p, n)
    lat = lattice(n)
    flat = p.reshape(-1, p.shape[-1])
    assert abs(float(ds.pid.sum()) - mutual_information(flat)) < TOL
    assert abs(float(ds.mutual_information) - mutual_information(flat)) < TOL
    assert abs(float(ds.entropy) - entropy(p.sum(tuple(range(n))))) < TOL
    assert abs(float(ds.pid.sum() + ds.residual_entropy) - float(ds.entropy)) < TOL
    for i in range(n):
        below = lat.below(lat.antichains.index(((i,),)))
        axes = tuple(a for a in range(n) if a != i)
        marginal = p.sum(axes)  # (|S_i|, T)
        assert abs(float(ds.pid.values[below].sum()) - mutual_information(marginal)) < TOL
        assert abs(float(ds.source_information[i]) - mutual_information(marginal)) < TOL
    # the informative and misinformative parts add up to the atoms
    np.testing.assert_allclose(ds.pid_informative - ds.pid_misinformative, ds.pid, atol=TOL)


@settings(max_examples=40, deadline=None)
@given(pmfs(), st.randoms(use_true_random=False))
def test_permuting_sources_permutes_labels(case, random):
    n, p = case
    perm = list(range(n))
    random.shuffle(perm)
    names = [str(i + 1) for i in range(n)]
    original = decompose_dataset(p, n, names=names).pid
    # Source axis k of the permuted table is original source perm[k]; name it accordingly.
    permuted = decompose_dataset(np.transpose(p, [*perm, n]), n,
                                 names=[names[k] for k in perm]).pid
    lat = lattice(n)
    for label, value in zip(permuted.atom.values, permuted.values, strict=True):
        canonical = lat.labels(names)[lat.index(label, names)]
        assert abs(value - float(original.sel(atom=canonical))) < TOL


@settings(max_examples=40, deadline=None)
@given(pmfs())
def test_pointwise_atoms_average_to_the_atoms(case):
    n, p = case
    table = torch.from_numpy(p)
    local = pointwise_from_pmf(table, n)
    avg = (local.atoms * table.unsqueeze(-1)).sum(dim=tuple(range(n + 1)))
    np.testing.assert_allclose(avg.numpy(), pid_from_pmf(table, n).atoms.numpy(), atol=TOL)
    assert torch.isfinite(local.atoms).all()


@settings(max_examples=30, deadline=None)
@given(pmfs(), st.sampled_from([0.5, 0.8, 0.95]))
def test_compacted_grids_give_the_numbers_of_whole_grids(case, zeros):
    # Without gradients, mostly empty union grids are compacted to their occupied cells.
    n, p = case
    rng = np.random.default_rng(0)
    tables = []
    for _ in range(3):  # a batch: rows with different occupied cells
        table = p * (rng.random(p.shape) >= zeros)
        tables.append(table / table.sum() if table.sum() > 0 else p)
    table = torch.from_numpy(np.stack(tables))
    compacted = pid_from_pmf(table, n)
    whole = pid_from_pmf(table.clone().requires_grad_(True), n)  # never compacted
    for a, b in zip(compacted, whole, strict=True):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), atol=1e-12)


def test_sparse_tables_take_the_compacted_path():
    # The hypothesis test above only compares; this one makes sure the path it guards runs.
    rng = np.random.default_rng(1)
    p = rng.random((4, 3, 3, 3, 2)) * (rng.random((4, 3, 3, 3, 2)) < 0.1)
    p[:, 0, 0, 0, 0] += 0.01  # no empty row
    table = torch.from_numpy(p / p.sum(axis=(1, 2, 3, 4), keepdims=True))
    with mock.patch.object(isx, "_ravel", wraps=isx._ravel) as spy:
        compacted = pid_from_pmf(table, 3)
    assert spy.called
    whole = pid_from_pmf(table.clone().requires_grad_(True), 3)
    torch.testing.assert_close(compacted.atoms, whole.atoms.detach(), rtol=0, atol=1e-12)


@st.composite
def sample_sets(draw):
    n = draw(st.integers(1, 4))
    bins = draw(st.integers(2, 6))
    samples = draw(st.integers(1, 60))
    rows = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    soft = draw(st.booleans())
    rng = np.random.default_rng(seed)
    # few distinct values per source, so cells repeat
    codes = rng.integers(0, draw(st.integers(1, bins)), size=(rows, samples, n))
    if soft:
        theta = rng.random((rows, samples))
        theta[rng.random((rows, samples)) < 0.2] = 0.0
        target = np.stack([1 - theta, theta], -1)
    else:
        states = draw(st.integers(1, 3))
        target = np.eye(states)[rng.integers(0, states, size=(rows, samples))]
    return torch.from_numpy(codes), torch.from_numpy(target), [bins] * n


@settings(max_examples=80, deadline=None)
@given(sample_sets())
def test_sparse_and_dense_estimators_agree(case):
    codes, target, n_bins = case
    n = codes.shape[-1]
    # Small grids normally go through the table too; force the occupied-cells path.
    with mock.patch.object(from_samples, "_TABLE_CELLS_PER_SAMPLE", 0.0):
        sparse = pid_from_samples(codes, target, n_bins)
    dense = pid_from_pmf(pmf_from_samples(codes, target, n_bins), n)
    np.testing.assert_allclose(pid_from_samples(codes, target, n_bins).atoms.numpy(),
                               dense.atoms.numpy(), atol=TOL)
    for a, b in zip(sparse, dense, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=TOL)
    local = pointwise_from_samples(codes, target, n_bins)
    avg = (local.atoms * (target / codes.shape[-2]).unsqueeze(-1)).sum((-3, -2))
    np.testing.assert_allclose(avg.numpy(), sparse.atoms.numpy(), atol=TOL)


@settings(max_examples=25, deadline=None)
@given(pmfs(n_sources=2) | pmfs(n_sources=3))
def test_gradients_match_finite_differences(case):
    n, p = case
    # strictly positive cells: finite differences are defined everywhere
    table = torch.from_numpy((p + 0.05) / (p + 0.05).sum()).requires_grad_(True)
    weights = torch.linspace(-1, 1, len(lattice(n)), dtype=torch.float64)

    def goal(t):
        terms = pid_from_pmf(t, n)
        return (terms.atoms * weights).sum() + terms.residual_entropy

    assert torch.autograd.gradcheck(goal, (table,), eps=1e-6, atol=1e-5)


def test_sample_gradients_match_finite_differences(rng):
    codes = torch.from_numpy(rng.integers(0, 3, size=(2, 40, 3)))
    theta = torch.from_numpy(rng.uniform(0.05, 0.95, size=(2, 40))).requires_grad_(True)
    weights = torch.linspace(-1, 1, 18, dtype=torch.float64)

    def goal(th):
        terms = pid_from_samples(codes, torch.stack([1 - th, th], -1), [3, 3, 3])
        return (terms.atoms * weights).sum() - 0.5 * terms.residual_entropy.sum()

    assert torch.autograd.gradcheck(goal, (theta,), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_no_nan_for_degenerate_distributions(n):
    cases = {
        "deterministic": np.eye(2)[np.arange(2**n) % 2].reshape((2,) * n + (2,)),
        "constant target": np.stack([np.ones((2,) * n), np.zeros((2,) * n)], -1),
        "single cell": np.pad(np.ones((1,) * (n + 1)), [(0, 1)] * (n + 1)),
    }
    for name, p in cases.items():
        table = torch.from_numpy(p / p.sum()).requires_grad_(True)
        terms = pid_from_pmf(table, n)
        (terms.atoms.sum() + terms.residual_entropy).backward()
        assert torch.isfinite(terms.atoms).all(), name
        assert torch.isfinite(table.grad).all(), name
        local = pointwise_from_pmf(table.detach(), n)
        assert torch.isfinite(local.atoms).all(), name
    # constant target: no information anywhere
    zero = pid_from_pmf(torch.from_numpy(cases["constant target"] / 2**n), n)
    assert torch.allclose(zero.atoms, torch.zeros_like(zero.atoms))


def test_sample_gradients_are_finite_for_saturated_outputs():
    codes = torch.tensor([[[0, 0, 0], [0, 1, 1], [1, 1, 0], [1, 0, 1]]])
    theta = torch.tensor([[0.0, 1.0, 1.0, 0.0]], requires_grad=True)
    terms = pid_from_samples(codes, torch.stack([1 - theta, theta], -1), [2, 2, 2])
    (terms.atoms.sum() + terms.entropy.sum()).backward()
    assert torch.isfinite(theta.grad).all()


def test_batched_equals_one_at_a_time(rng):
    tables = np.stack([np.stack([rng.random((3, 2, 2)) for _ in range(4)]) for _ in range(2)])
    tables /= tables.sum(axis=(2, 3, 4), keepdims=True)
    batched = decompose_dataset(tables, 2).pid
    assert batched.dims == ("dim_0", "dim_1", "atom")
    for i, j in itertools.product(range(2), range(4)):
        single = decompose_dataset(tables[i, j], 2).pid
        np.testing.assert_allclose(batched[i, j].values, single.values, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(sample_sets(), st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.035, -1.0]))
def test_goal_equals_weighted_atoms(case, seed, residual):
    codes, target, n_bins = case
    size = len(lattice(codes.shape[-1]))
    rng = np.random.default_rng(seed)
    gamma = rng.uniform(-1, 1, size) * (rng.random(size) < 0.3)  # sparse goals too
    gamma = torch.from_numpy(gamma)
    target = target.clone().requires_grad_(True)
    goal = goal_from_samples(codes, target, n_bins, gamma, residual)
    (grad_goal,) = torch.autograd.grad(goal.sum(), target)
    terms = pid_from_samples(codes, target, n_bins)
    reference = terms.atoms @ gamma + residual * terms.residual_entropy
    (grad_ref,) = torch.autograd.grad(reference.sum(), target)
    np.testing.assert_allclose(goal.detach().numpy(), reference.detach().numpy(), atol=TOL)
    np.testing.assert_allclose(grad_goal.numpy(), grad_ref.numpy(), atol=1e-8)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sets(st.sampled_from("FCL"), min_size=1), min_size=1, max_size=4),
       st.randoms(use_true_random=False))
def test_merged_order_keeps_every_lattice_in_its_own_order(source_sets, rnd):
    """Runs whose layers have any of the sources F, C, L (bivariate-context's F, C beside
    bivariate-lateral's F, L, trivariate F, C, L) in one collection: every label once, and
    each run's labels in its own lattice's order."""
    from inspector.collection import merged_order
    from inspector.pid import lattice

    runs = []
    for sources in source_sets:
        names = [x for x in "FCL" if x in sources]
        runs.append(lattice(len(names)).labels(names))
    rnd.shuffle(runs)
    merged = merged_order(runs)
    assert len(merged) == len(set(merged)) == len({a for r in runs for a in r})
    for labels in runs:
        positions = [merged.index(a) for a in labels]
        assert positions == sorted(positions)
