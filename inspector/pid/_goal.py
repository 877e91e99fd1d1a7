"""Goals written by atom label, turned into the gamma vector of the lattice.

A goal is data: a mapping from atom labels over the sources' names ("{F}{C}", "{FC}") and
"H_res" to weights. ``goal_vector`` validates it and returns gamma in lattice order; training's
losses and the analysis both read goals through it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from inspector.errors import InfomorphError
from inspector.pid._lattice import lattice

RESIDUAL = "H_res"


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
            if isinstance(weight, bool):  # float(True) would pass as 1.0
                raise TypeError
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


def format_goal(goal: Mapping[str, float]) -> str:
    """A goal as the weighted sum it stands for: ``{F}{C} - {F}{L} + 0.33 {F}{C}{L}``
    (weights shown with up to 5 significant digits; "0" for an empty goal)."""
    text = ""
    for label, weight in goal.items():
        weight = float(weight)
        size = "" if abs(weight) == 1 else f"{abs(weight):.5g} "
        if not text:
            text = f"{'-' if weight < 0 else ''}{size}{label}"
        else:
            text += f" {'-' if weight < 0 else '+'} {size}{label}"
    return text or "0"
