"""Local goals G = sum_i gamma_i Pi_i + gamma_res H_res, written by atom label.

A goal is data: a mapping from atom labels over the layer's source names ("{F}{C}", "{FC}",
"H_res") to weights. ``goal_vector`` validates it against the lattice and returns gamma in
lattice order; the loss is ``-goal_from_samples(...)`` of the one PID engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from inspector.errors import InfomorphError
from inspector.pid import lattice

RESIDUAL = "H_res"

OPTIMIZED_TRIVARIATE_ORDER = (
    "{F}{C}{L}",
    "{F}{C}",
    "{F}{L}",
    "{C}{L}",
    "{F}{CL}",
    "{C}{FL}",
    "{L}{FC}",
    "{F}",
    "{C}",
    "{L}",
    "{FC}{FL}{CL}",
    "{FC}{FL}",
    "{FC}{CL}",
    "{FL}{CL}",
    "{FC}",
    "{FL}",
    "{CL}",
    "{FCL}",
    RESIDUAL,
)
OPTIMIZED_TRIVARIATE_VALUES = (
    0.33073,
    0.97808,
    -0.99350,
    0.40173,
    0.24278,
    0.62554,
    0.47128,
    0.02121,
    0.06054,
    -0.94698,
    -0.01985,
    -0.96766,
    -0.69245,
    0.42701,
    0.97364,
    0.73696,
    -0.12183,
    -0.21512,
    0.03500,
)

GOALS: dict[str, dict[str, float]] = {
    "context-heuristic": {"{F}{C}": 1.0},
    "lateral-heuristic": {"{F}": 1.0},
    "readout": {"{F}": -0.2, "{C}": 0.1, "{F}{C}": 1.0, "{FC}": 0.1},
    "trivariate-heuristic": {"{F}{C}": 1.0},
    "trivariate-sparse": {"{F}{C}": 1.0, "{F}{L}": -1.0, "{FC}{FL}": -1.0, "{F}{C}{L}": 0.33},
    "trivariate-optimized": dict(
        zip(OPTIMIZED_TRIVARIATE_ORDER, OPTIMIZED_TRIVARIATE_VALUES, strict=True)
    ),
    "memory-redundancy": {"{E}{I}": 1.0},
}


def goal_vector(goal: Mapping[str, float], names: Sequence[str]) -> tuple[np.ndarray, float]:
    """(gamma over atoms in lattice order, gamma_res) for sources ``names``.

    Labels may list sets and sources in any order; unknown sources, non-antichains and repeated
    atoms are one-line errors naming what is allowed.
    """
    lat = lattice(len(names))
    gamma = np.zeros(len(lat))
    residual = 0.0
    seen: dict[int, str] = {}
    for label, weight in goal.items():
        try:
            weight = float(weight)
        except (TypeError, ValueError):
            raise InfomorphError(
                f"goal weight of {label!r} must be a number, got {weight!r}"
            ) from None
        if not np.isfinite(weight):
            raise InfomorphError(f"goal weight of {label!r} must be finite, got {weight}")
        if label == RESIDUAL:
            residual = weight
            continue
        try:
            index = lat.index(label, names)
        except InfomorphError as err:
            raise InfomorphError(
                f"{err}; atoms of sources {''.join(names)} are: {', '.join(lat.labels(names))}, "
                f"and {RESIDUAL}"
            ) from None
        if index in seen:
            raise InfomorphError(f"goal names atom {label!r} twice (also as {seen[index]!r})")
        seen[index] = label
        gamma[index] = weight
    return gamma, residual
