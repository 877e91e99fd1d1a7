"""The redundancy lattice of n sources, computed in code.

An antichain is a collection of non-empty source sets none of which contains another; it names
the information that is shared by (redundant across) all of its sets. The lattice order
(Williams & Beer; Gutknecht, Wibral & Makkeh 2021) is

    beta <= alpha  iff  every set a in alpha contains some set b in beta.

Sizes: 1 (n=1), 4 (n=2), 18 (n=3), 166 (n=4). Atoms are the Moebius inversion of the redundancy
function over this order. Everything here is small integer bookkeeping; the information theory
lives in ``_isx.py``.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from inspector.errors import InfomorphError

MAX_SOURCES = 4

Antichain = tuple[tuple[int, ...], ...]
"""Source sets (tuples of 0-based source indices), each sorted, sets ordered by size then index."""


def _canonical(sets: Sequence[Sequence[int]]) -> Antichain:
    return tuple(sorted((tuple(sorted(s)) for s in sets), key=lambda s: (len(s), s)))


def _sort_key(antichain: Antichain) -> tuple:
    # Bottom-up reading order used by the field's tables: {1}{2}{3}, {1}{2}, ..., {1}{23}, ...,
    # {1}, ..., {12}{13}{23}, ..., {12}, ..., {123}. Sizes compared lexicographically with an
    # end marker larger than any size, so that {1}{2}{3} < {1}{2} < {1}{23} < {1}.
    return ((*tuple(len(a) for a in antichain), math.inf), antichain)


def _is_below(beta: Antichain, alpha: Antichain) -> bool:
    return all(any(set(b) <= set(a) for b in beta) for a in alpha)


@dataclass(frozen=True, eq=False)
class Lattice:
    """The redundancy lattice of ``n_sources`` sources.

    Attributes
    ----------
    n_sources : number of sources n.
    antichains : the A antichains in canonical order (the order of every atom table).
    order : (A, A) bool, ``order[a, b]`` is True iff antichain b <= antichain a.
    moebius : (A, A) int, the inverse of ``order``: atoms = moebius @ redundancies.
    subsets : the 2**n - 1 non-empty source sets as bit masks 1 .. 2**n - 1 (index = mask - 1).
    union_terms : (A, 2**n - 1) int, inclusion-exclusion coefficients: for antichain alpha,
        p(A_1 or ... or A_m) = sum_U union_terms[alpha, U] * p(S_U = s_U).
    union_mask : (A,) int, bit mask of the union of the antichain's sets.
    union_groups : antichains grouped by that union, as (union mask, antichain indices, subset
        indices inside the union). A group only needs the marginals of its union's sources, so
        it is evaluated on that union's cells: {1}{2} of three sources needs the (s1, s2) cells.
    """

    n_sources: int
    antichains: tuple[Antichain, ...]
    order: np.ndarray = field(repr=False)
    moebius: np.ndarray = field(repr=False)
    union_terms: np.ndarray = field(repr=False)
    union_mask: np.ndarray = field(repr=False)
    union_groups: tuple[tuple[int, tuple[int, ...], tuple[int, ...]], ...] = field(repr=False)

    def __len__(self) -> int:
        return len(self.antichains)

    def labels(self, names: Sequence[str] | None = None) -> list[str]:
        """Atom labels such as ``"{1}{2}"`` or ``"{F}{CL}"``, in canonical order."""
        names = source_names(self.n_sources, names)
        return [format_antichain(a, names) for a in self.antichains]

    def index(self, label: str, names: Sequence[str] | None = None) -> int:
        """Position of an atom label (any set order and any order inside a set is accepted)."""
        names = source_names(self.n_sources, names)
        antichain = parse_antichain(label, names)
        try:
            return self.antichains.index(antichain)
        except ValueError:
            raise InfomorphError(
                f"'{label}' is not an antichain of sources {', '.join(names)}: "
                "no set in it may contain another"
            ) from None

    def below(self, label_or_index: str | int, names: Sequence[str] | None = None) -> np.ndarray:
        """Boolean mask (A,) of the antichains at or below the given one."""
        i = (
            label_or_index
            if isinstance(label_or_index, int)
            else self.index(label_or_index, names)
        )
        return self.order[i].copy()


def source_names(n_sources: int, names: Sequence[str] | None = None) -> list[str]:
    """Validated source names; default "1", "2", ... ."""
    if names is None:
        return [str(i + 1) for i in range(n_sources)]
    names = [str(x) for x in names]
    if len(names) != n_sources:
        raise InfomorphError(f"expected {n_sources} source names, got {len(names)}: {names}")
    for name in names:
        if not name or any(c in name for c in "{}") or name.isspace():
            raise InfomorphError(f"source name {name!r} must be non-empty and contain no braces")
    if len(set(names)) != len(names):
        raise InfomorphError(f"source names must be distinct, got {names}")
    return names


def format_antichain(antichain: Antichain, names: Sequence[str]) -> str:
    return "".join("{" + "".join(names[i] for i in a) + "}" for a in antichain)


def parse_antichain(label: str, names: Sequence[str]) -> Antichain:
    """Parse ``"{F}{CL}"`` into ``((0,), (1, 2))`` given source names ``["F", "C", "L"]``."""
    text = label.replace(" ", "")
    blocks = re.findall(r"\{([^{}]*)\}", text)
    if not blocks or "".join("{" + b + "}" for b in blocks) != text:
        raise InfomorphError(f"atom label {label!r} is not of the form '{{..}}{{..}}'")
    # Longest names first so that multi-letter names are not split.
    by_length = sorted(range(len(names)), key=lambda i: -len(names[i]))
    sets = []
    for block in blocks:
        members: list[int] = []
        rest = block
        while rest:
            for i in by_length:
                if rest.startswith(names[i]):
                    members.append(i)
                    rest = rest[len(names[i]) :]
                    break
            else:
                raise InfomorphError(
                    f"atom label {label!r}: unknown source in '{{{block}}}'; "
                    f"sources are: {', '.join(names)}"
                )
        if not members or len(set(members)) != len(members):
            raise InfomorphError(f"atom label {label!r}: empty or repeated source in a set")
        sets.append(members)
    return _canonical(sets)


@cache
def lattice(n_sources: int) -> Lattice:
    """The redundancy lattice for ``n_sources`` in 1..4 (cached; the object is immutable)."""
    if not isinstance(n_sources, int | np.integer) or not 1 <= n_sources <= MAX_SOURCES:
        raise InfomorphError(
            f"the number of sources must be 1..{MAX_SOURCES}, got {n_sources!r}"
        )
    n = int(n_sources)
    sets = [s for r in range(1, n + 1) for s in itertools.combinations(range(n), r)]
    antichains = []
    for r in range(1, len(sets) + 1):
        for combo in itertools.combinations(sets, r):
            if all(
                not set(a) <= set(b) for a, b in itertools.permutations(combo, 2)
            ):
                antichains.append(_canonical(combo))
    antichains.sort(key=_sort_key)

    size = len(antichains)
    order = np.array(
        [[_is_below(beta, alpha) for beta in antichains] for alpha in antichains], dtype=bool
    )
    moebius = np.rint(np.linalg.inv(order.astype(np.float64))).astype(np.int64)
    assert np.array_equal(moebius @ order.astype(np.int64), np.eye(size, dtype=np.int64))

    def mask(s: Sequence[int]) -> int:
        return sum(1 << i for i in s)

    union_terms = np.zeros((size, 2**n - 1), dtype=np.int64)
    union_mask = np.zeros(size, dtype=np.int64)
    for k, alpha in enumerate(antichains):
        masks = [mask(a) for a in alpha]
        union_mask[k] = np.bitwise_or.reduce(masks)
        for r in range(1, len(masks) + 1):
            for beta in itertools.combinations(masks, r):
                union_terms[k, np.bitwise_or.reduce(beta) - 1] += (-1) ** (r - 1)
    groups = tuple(
        (
            union,
            tuple(int(a) for a in np.flatnonzero(union_mask == union)),
            tuple(v for v in range(2**n - 1) if (v + 1) & ~union == 0),
        )
        for union in sorted(set(union_mask.tolist()))
    )
    for arr in (order, moebius, union_terms, union_mask):
        arr.flags.writeable = False
    return Lattice(n, tuple(antichains), order, moebius, union_terms, union_mask, groups)
