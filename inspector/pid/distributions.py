"""Canonical distributions with known I^sx atoms (bits), shared by docs, tests and the demo.

Each entry gives the joint table p(s_1, .., s_n, t) (sources uniform i.i.d. bits unless noted)
and the ground-truth atoms from SCIENCE.md section 3 / Makkeh, Gutknecht & Wibral (2021).
Atoms not listed are 0. Williams-Beer or BROJA values would differ: I^sx atoms can be negative.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from math import log2

import numpy as np

from inspector.errors import choose_one


@dataclass(frozen=True)
class Distribution:
    name: str
    description: str
    n_sources: int
    rule: Callable[..., int] = field(repr=False)
    n_targets: int
    atoms: dict[str, float]

    def pmf(self) -> np.ndarray:
        """Joint table (2, ..., 2, n_targets): uniform over source bits, t = rule(*s)."""
        table = np.zeros((2,) * self.n_sources + (self.n_targets,))
        for s in itertools.product((0, 1), repeat=self.n_sources):
            table[(*s, self.rule(*s))] += 1
        return table / table.sum()

    def samples(self) -> tuple[np.ndarray, np.ndarray]:
        """One sample per source pattern: (2**n, n) int sources and (2**n,) int targets."""
        s = np.array(list(itertools.product((0, 1), repeat=self.n_sources)))
        return s, np.array([self.rule(*row) for row in s])


def _trivariate_parity_atoms() -> dict[str, float]:
    atoms = {"{1}{2}{3}": log2(8 / 7), "{123}": log2(32 / 27), "{12}{13}{23}": log2(875 / 1024)}
    for i, j, k in (("1", "2", "3"), ("2", "1", "3"), ("3", "1", "2")):
        atoms[f"{{{i}}}"] = log2(5 / 4)
        atoms[f"{{{i}}}{{{j}{k}}}"] = log2(32 / 35)
    for a, b in itertools.combinations(("12", "13", "23"), 2):
        atoms[f"{{{a}}}{{{b}}}"] = log2(16 / 15)
    for i, j in itertools.combinations("123", 2):
        atoms[f"{{{i}}}{{{j}}}"] = log2(7 / 8)
        atoms[f"{{{i}{j}}}"] = log2(9 / 8)
    return atoms


CATALOGUE: dict[str, Distribution] = {
    d.name: d
    for d in (
        Distribution("xor", "t = s1 XOR s2", 2, lambda a, b: a ^ b, 2,
                     {"{1}{2}": log2(2 / 3), "{1}": log2(3 / 2), "{2}": log2(3 / 2),
                      "{12}": log2(4 / 3)}),
        Distribution("and", "t = s1 AND s2", 2, lambda a, b: a & b, 2,
                     {"{1}{2}": 0.5 * log2(32 / 27), "{1}": 0.25 * log2(27 / 16),
                      "{2}": 0.25 * log2(27 / 16), "{12}": 0.75 * log2(4 / 3)}),
        Distribution("unq", "t = s1 (unique information of source 1)", 2, lambda a, b: a, 2,
                     {"{1}{2}": log2(4 / 3), "{1}": log2(3 / 2), "{2}": log2(3 / 4),
                      "{12}": log2(4 / 3)}),
        Distribution("rdn", "s1 = s2 = t (pure redundancy)", 2, lambda a, b: a, 2,
                     {"{1}{2}": 1.0}),
        Distribution("copy", "t = (s1, s2)", 2, lambda a, b: 2 * a + b, 4,
                     {"{1}{2}": log2(4 / 3), "{1}": log2(3 / 2), "{2}": log2(3 / 2),
                      "{12}": log2(4 / 3)}),
        Distribution("trirnd", "s1 = s2 = s3 = t", 3, lambda a, b, c: a, 2,
                     {"{1}{2}{3}": 1.0}),
        Distribution("parity", "t = s1 XOR s2 XOR s3", 3, lambda a, b, c: a ^ b ^ c, 2,
                     _trivariate_parity_atoms()),
    )
}


def _rdn_pmf(n: int) -> np.ndarray:
    table = np.zeros((2,) * n + (2,))
    for v in (0, 1):
        table[(v,) * (n + 1)] = 0.5
    return table


def pmf(name: str) -> np.ndarray:
    """The joint table of a catalogue distribution (redundant ones put all mass on s = t)."""
    if name not in CATALOGUE:
        raise choose_one("distribution", name, CATALOGUE)
    d = CATALOGUE[name]
    return _rdn_pmf(d.n_sources) if name in ("rdn", "trirnd") else d.pmf()
