"""Regenerate dit_four_sources.json: dit's PID_SX on a random pmf of 4 binary sources and a
binary target (about 3 minutes). Run from the repository root:
``.venv/bin/python tests/data/make_dit_four_sources.py``."""

import json
import sys
from pathlib import Path

import dit
import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))
from test_dit_crosscheck import dit_atoms

from inspector.pid import lattice

SHAPE = (2, 2, 2, 2, 2)

rng = np.random.default_rng(7)
p = rng.random(SHAPE)
p[rng.random(SHAPE) < 0.2] = 0
p /= p.sum()
theirs = dit_atoms(p, 4)
lat = lattice(4)
out = {
    "about": "I^sx atoms (bits) of a random pmf of 4 binary sources and a binary target, "
    f"computed by dit {dit.__version__} dit.pid.PID_SX (an independent implementation; "
    "minutes, too slow to run in the suite), by make_dit_four_sources.py",
    "shape": list(SHAPE),
    "pmf": p.ravel().tolist(),
    "atoms": {lat.labels()[i]: theirs[tuple(sorted(a))] for i, a in enumerate(lat.antichains)},
}
(Path(__file__).parent / "dit_four_sources.json").write_text(json.dumps(out, indent=1))
