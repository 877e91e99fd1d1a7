"""Which atoms are unique, redundant or synergistic, and which neurons act how.

Atom classes (by the antichain's shape):
- unique: one set holding one source, e.g. {F};
- redundant: several sets, each one source, e.g. {F}{C}, {F}{C}{L};
- synergistic: one set of several sources, e.g. {FC}, {FCL};
- mixed: everything else, e.g. {F}{CL} or {FC}{FL} (redundancy between synergies).

Neuron class: the atom class holding more than half of the neuron's *positive* atom mass;
"mixed" when none does, "none" when the positive mass is below ``min_bits``. I^sx atoms can
be negative; shares are of the positive mass only, and the negative mass is reported beside
them (``negative_bits``) instead of being clipped away silently.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from inspector.pid import lattice

ATOM_CLASSES = ("unique", "redundant", "synergistic", "mixed")
CLASS_RULE = ("a neuron's class holds more than half of its positive atom mass; mixed when "
              "none does, none under 1 mbit")
"""The neuron-class rule in words, for captions (``classify``'s default ``min_bits``)."""
NEURON_CLASSES = (*ATOM_CLASSES[:3], "mixed", "none")


def atom_class(antichain: Sequence[Sequence[int]]) -> str:
    if len(antichain) == 1:
        return "unique" if len(antichain[0]) == 1 else "synergistic"
    if all(len(a) == 1 for a in antichain):
        return "redundant"
    return "mixed"


def atom_classes(n_sources: int) -> list[str]:
    """Class of each atom of the n-source lattice, in lattice order."""
    return [atom_class(a) for a in lattice(n_sources).antichains]


def classify(pid: xr.DataArray, n_sources: int, min_bits: float = 1e-3) -> xr.Dataset:
    """Class fractions and the neuron class from atoms ``pid`` (..., atom) in bits.

    Returns ``class_fraction`` (..., atom_class): shares of the positive mass,
    ``negative_bits`` (...): the summed negative atoms, ``neuron_class`` (...) as strings.
    """
    classes = np.array(atom_classes(n_sources))
    positive = pid.clip(min=0)
    mass = xr.concat(
        [positive.isel(atom=np.flatnonzero(classes == c)).sum("atom") for c in ATOM_CLASSES],
        dim="atom_class",
    )
    mass = mass.assign_coords(atom_class=list(ATOM_CLASSES)).transpose(..., "atom_class")
    total = mass.sum("atom_class")
    fraction = (mass / total.where(total > 0)).fillna(0.0)
    best = fraction.argmax("atom_class")
    label = np.array(ATOM_CLASSES, dtype=object)[best.values]
    label = np.where(fraction.max("atom_class").values > 0.5, label, "mixed")
    label = np.where(total.values < min_bits, "none", label).astype(str)
    return xr.Dataset(
        {
            "class_fraction": fraction,
            "negative_bits": pid.clip(max=0).sum("atom"),
            "neuron_class": (best.dims, label),
        }
    )


def neuron_class_shares(neuron_class: np.ndarray, present: np.ndarray) -> dict[str, np.ndarray]:
    """Share of the neurons in each of ``NEURON_CLASSES`` along the last axis (neurons):
    ``neuron_class`` (..., neuron) labels, ``present`` (..., neuron) bool, the neurons that
    exist (collections pad runs of other sizes with NaN). NaN where no neuron is present."""
    counts = present.sum(axis=-1)
    return {c: np.where(counts > 0, ((neuron_class == c) & present).sum(axis=-1)
                        / np.maximum(counts, 1), np.nan) for c in NEURON_CLASSES}
