"""When an atom beats the shuffle null: the threshold, its limit at few shuffles, and the
false-discovery-rate correction over a layer's neurons.

An analysis with ``--shuffles K`` stores, per neuron and atom, a permutation p value
(``analysis.p_value``). Counting the neurons with p < ``SIGNIFICANCE`` tests every neuron on
its own: with 100 neurons and no real effect about 5 of them pass. ``q_values`` adjusts the p
values of one atom over the layer's neurons with the Benjamini-Hochberg procedure, so that the
neurons with q < ``SIGNIFICANCE`` hold a false discovery rate of at most 5 % (valid for
independent or positively dependent tests, Benjamini & Yekutieli 2001).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import xarray as xr

SIGNIFICANCE = 0.05
"""p (or q) value under which an atom counts as beating the shuffle null."""


def too_few_shuffles(shuffles: int) -> str | None:
    """Why ``shuffles`` permutations cannot show significance (p >= 1/(K+1) never goes below
    ``SIGNIFICANCE`` for K < 20), or None when they can or none were run."""
    if not shuffles or 1 / (shuffles + 1) < SIGNIFICANCE:
        return None
    return (f"with {shuffles} shuffles no p value goes below 1/{shuffles + 1} = "
            f"{1 / (shuffles + 1):.2f}, so no atom can beat the null at p < {SIGNIFICANCE}: "
            "use --shuffles 20 or more")


def fdr_floor(shuffles: int, neurons: int) -> int:
    """The fewest of ``neurons`` that must reach the smallest p value, 1/(K+1), before any of
    them gets q < ``SIGNIFICANCE``: r neurons at that floor get q = m / (r (K+1)), so r must
    exceed m / (alpha (K+1)). 100 neurons need 96 at K = 20, 20 at K = 100, 2 at K = 1000."""
    alpha = Fraction(str(SIGNIFICANCE))
    return math.floor(Fraction(neurons) / (alpha * (shuffles + 1))) + 1


def fdr_note(shuffles: int, neurons: int) -> str | None:
    """What the false discovery rate can show with ``shuffles`` permutations over
    ``neurons`` tests, or None when a single neuron at the floor can pass (or no shuffles)."""
    if not shuffles:
        return None
    need = fdr_floor(shuffles, neurons)
    if need <= 1:
        return None
    floor = f"p = 1/{shuffles + 1}"
    if need > neurons:
        return (f"with {shuffles} shuffles and {neurons} neurons no atom can pass the false "
                f"discovery rate (every neuron at {floor} still gives q >= {SIGNIFICANCE})")
    single = math.floor(Fraction(neurons) / Fraction(str(SIGNIFICANCE)))
    return (f"with {shuffles} shuffles and {neurons} neurons, the false discovery rate counts "
            f"an atom only where at least {need} neurons reach {floor}; with --shuffles "
            f"{single} a single neuron can count")


def bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p values (q values) along the last axis.

    p: (..., tests) p values in [0, 1]; NaN marks a missing test (e.g. a neuron a smaller run
    of a collection does not have) and is left out of its row's family and kept NaN.
    Returns an array of p's shape: q >= p, q <= 1, monotone in p within a row.

    q_(i) = min over j >= i of p_(j) m / j, the p values sorted, m the row's tests. Written
    out in numpy, vectorised over rows, rather than scipy.stats.false_discovery_control
    (the tests hold it against that): importing scipy.stats took 0.6-0.8 s of every
    ``infomorph info``, export and first neuron page that shows a q value.
    """
    p = np.asarray(p, dtype=float)
    if p.size == 0:
        return p.copy()
    flat = p.reshape(-1, p.shape[-1])
    missing = np.isnan(flat)
    tests = (~missing).sum(axis=1, keepdims=True)
    # NaN sort last, so ranks 1..m are the tests; tied p values share their q in any order
    order = np.argsort(flat, axis=1)
    scaled = np.take_along_axis(flat, order, 1) * tests / np.arange(1, flat.shape[1] + 1)
    # running minimum from the largest p down; fmin passes over the NaN at the end
    q_sorted = np.minimum(np.fmin.accumulate(scaled[:, ::-1], axis=1)[:, ::-1], 1.0)
    q = np.empty_like(flat)
    np.put_along_axis(q, order, q_sorted, axis=1)
    q[missing] = np.nan
    return q.reshape(p.shape)


def q_values(p_value: xr.DataArray, dim: str = "neuron") -> xr.DataArray:
    """``bh_adjust`` of an analysis' ``p_value`` over ``dim`` (the family: one atom's test
    over the layer's neurons, separately at each checkpoint, run and atom)."""
    q = xr.apply_ufunc(bh_adjust, p_value, input_core_dims=[[dim]], output_core_dims=[[dim]])
    q = q.transpose(*p_value.dims)
    q.attrs["long_name"] = f"Benjamini-Hochberg q value over the {dim}s (FDR)"
    return q


def significant_share(p_value: xr.DataArray, dim: str = "neuron",
                      fdr: bool = False) -> xr.DataArray:
    """Share of the entries along ``dim`` (a layer's neurons) whose atom beats the shuffle null:
    p < ``SIGNIFICANCE``, or with ``fdr`` q < ``SIGNIFICANCE`` (Benjamini-Hochberg over
    ``dim``). Missing (NaN) p values count in neither the numerator nor the denominator."""
    tested = q_values(p_value, dim) if fdr else p_value
    return (tested < SIGNIFICANCE).where(p_value.notnull()).mean(dim, skipna=True)
