"""Local goals G = sum_i gamma_i Pi_i + gamma_res H_res, written by atom label.

A goal is data: a mapping from atom labels over the layer's source names ("{F}{C}", "{FC}",
"H_res") to weights; ``inspector.pid.goal_vector`` validates it against the lattice. The loss is
``-goal_from_samples(...)`` of the one PID engine.
"""

from __future__ import annotations

from inspector.pid import RESIDUAL, goal_vector

__all__ = ["GOALS", "RESIDUAL", "goal_vector"]

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
