"""The false-discovery-rate correction of shuffle-null p values over a layer's neurons."""

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from inspector.significance import (
    SIGNIFICANCE,
    bh_adjust,
    fdr_floor,
    fdr_note,
    q_values,
    significant_share,
    too_few_shuffles,
)

# Benjamini & Hochberg (1995), section 4: 15 p values of a clinical trial; at q = 0.05 the
# procedure rejects the 4 smallest (Bonferroni only 3).
BH_1995 = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240,
           0.4262, 0.5719, 0.6528, 0.7590, 1.0]


def test_the_published_example_rejects_four():
    q = bh_adjust(np.array(BH_1995))
    assert (q < SIGNIFICANCE).sum() == 4
    # q_(i) = min over j >= i of p_(j) m / j
    assert q[3] == pytest.approx(0.0095 * 15 / 4)
    assert q[4] == pytest.approx(0.0201 * 15 / 5)  # 0.0603: the fifth is not rejected
    assert q[-1] == 1.0


@settings(max_examples=80, deadline=None)
@given(arrays(float, st.tuples(st.integers(1, 5), st.integers(1, 30)),
              elements=st.floats(0, 1) | st.sampled_from([0.0, 0.05, 1.0, np.nan])))
def test_q_values_are_scipys(p):
    from scipy.stats import false_discovery_control

    q = bh_adjust(p)
    for row_p, row_q in zip(p, q, strict=True):
        have = ~np.isnan(row_p)
        assert np.isnan(row_q[~have]).all()
        if have.any():
            np.testing.assert_allclose(row_q[have],
                                       false_discovery_control(row_p[have], method="bh"),
                                       rtol=1e-12, atol=1e-15)


def test_missing_tests_leave_the_family():
    p = np.array([[0.01, np.nan, 0.04, 0.2], [0.01, 0.04, 0.2, np.nan]])
    q = bh_adjust(p)
    expected = bh_adjust(np.array([0.01, 0.04, 0.2]))
    np.testing.assert_allclose(q[0, [0, 2, 3]], expected)
    np.testing.assert_allclose(q[1, :3], expected)
    assert np.isnan(q[0, 1]) and np.isnan(q[1, 3])
    assert np.isnan(bh_adjust(np.full((2, 3), np.nan))).all()
    assert bh_adjust(np.zeros((0, 4))).shape == (0, 4)


@settings(max_examples=60, deadline=None)
@given(arrays(float, st.tuples(st.integers(1, 4), st.integers(1, 12)),
              elements=st.floats(0, 1)), st.randoms(use_true_random=False))
def test_q_values_bound_and_follow_the_p_values(p, random):
    q = bh_adjust(p)
    assert (q >= p - 1e-12).all() and (q <= 1).all()
    for row_p, row_q in zip(p, q, strict=True):
        order = np.argsort(row_p, kind="stable")
        assert (np.diff(row_q[order]) >= -1e-12).all()  # monotone in p
        perm = list(range(len(row_p)))
        random.shuffle(perm)
        np.testing.assert_allclose(bh_adjust(row_p[perm]), row_q[perm])  # order-free


def test_data_arrays_keep_their_dims_and_families_are_per_atom():
    p = xr.DataArray(np.array([[0.01, 0.5], [0.04, 0.5], [0.2, 0.01]]),
                     dims=("neuron", "atom"), coords={"atom": ["{F}", "{C}"]})
    q = q_values(p)
    assert q.dims == p.dims and list(q.atom.values) == ["{F}", "{C}"]
    np.testing.assert_allclose(q.sel(atom="{F}"), bh_adjust(np.array([0.01, 0.04, 0.2])))
    np.testing.assert_allclose(q.sel(atom="{C}"), [0.5, 0.5, 0.03])
    assert significant_share(p).values.tolist() == pytest.approx([2 / 3, 1 / 3])
    assert significant_share(p, fdr=True).values.tolist() == pytest.approx([1 / 3, 1 / 3])


def test_too_few_shuffles_names_the_floor():
    assert too_few_shuffles(0) is None and too_few_shuffles(20) is None
    assert "1/6 = 0.17" in too_few_shuffles(5)


def test_how_many_neurons_the_fdr_needs_at_the_p_floor():
    # r neurons at p = 1/(K+1) get q = m / (r (K+1)); q < 0.05 needs r > 20 m / (K+1)
    assert fdr_floor(20, 100) == 96 and fdr_floor(99, 100) == 21  # 20 exactly is not enough
    assert fdr_floor(1999, 100) == 2 and fdr_floor(2000, 100) == 1
    for shuffles, neurons in ((20, 100), (99, 100), (57, 13)):
        need = fdr_floor(shuffles, neurons)
        for r, passes in ((need, True), (need - 1, False)):
            p = np.r_[np.full(r, 1 / (shuffles + 1)), np.ones(neurons - r)]
            assert ((bh_adjust(p) < SIGNIFICANCE).sum() > 0) == passes, (shuffles, r)
    assert "at least 96 neurons reach p = 1/21" in fdr_note(20, 100)
    assert "--shuffles 2000 a single neuron" in fdr_note(20, 100)
    assert "no atom can pass" in fdr_note(5, 100)
    assert fdr_note(2000, 100) is None and fdr_note(0, 100) is None
