"""Cross-check against an independent implementation of I^sx: dit.pid.PID_SX."""

import itertools

import numpy as np
import pytest

from inspector.pid import decompose, lattice

dit = pytest.importorskip("dit", reason="the dit package (a dev dependency) is not installed")
from dit.pid import PID_SX  # noqa: E402


def dit_atoms(p: np.ndarray, n: int) -> dict:
    outcomes, probs = [], []
    for idx in itertools.product(*[range(k) for k in p.shape]):
        if p[idx] > 0:
            outcomes.append(tuple(int(i) for i in idx))
            probs.append(float(p[idx]))
    dist = dit.Distribution(outcomes, probs)
    result = PID_SX(dist, [[i] for i in range(n)], [n])
    return {tuple(sorted(tuple(sorted(a)) for a in k)): v for k, v in result._pis.items()}


@pytest.mark.parametrize(
    ("shape", "seed"),
    [((2, 2, 2), 0), ((3, 2, 2), 1), ((2, 3, 3), 2), ((3, 3, 2), 3), ((2, 2, 2, 2), 4),
     ((2, 2, 2, 3), 5), ((3, 2, 2, 2), 6)],
)
def test_matches_dit_on_random_pmfs(shape, seed):
    rng = np.random.default_rng(seed)
    p = rng.random(shape)
    p[rng.random(shape) < 0.2] = 0
    p /= p.sum()
    n = len(shape) - 1
    ours = decompose(p, n)
    theirs = dit_atoms(p, n)
    lat = lattice(n)
    assert len(theirs) == len(lat)
    for antichain, value in zip(lat.antichains, ours.values, strict=True):
        key = tuple(sorted(antichain))
        assert abs(value - theirs[key]) < 1e-9, (lat.labels()[lat.antichains.index(antichain)])
