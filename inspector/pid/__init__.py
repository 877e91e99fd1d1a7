"""The one PID engine: I^sx redundancy lattices, atoms, estimators from samples.

Labelled API (numpy / torch / xarray in, xarray out, float64):
    decompose, decompose_dataset            joint tables (*batch, |S_1|..|S_n|, |T|)
    decompose_samples, decompose_samples_dataset   samples + a Binning
Tensor API (torch, any dtype/device, differentiable; used by training's losses):
    pid_from_pmf, pid_from_samples, pointwise_from_pmf, pointwise_from_samples, pmf_from_samples,
    goal_from_samples (a weighted sum of atoms and H_res, computing only what it needs)
Lattices: lattice(n) for n = 1..4 with atom labels such as "{F}{CL}".
"""

from inspector.pid._binning import BINNINGS, Binning
from inspector.pid._decompose import (
    ESTIMATORS,
    MEASURE,
    decompose,
    decompose_dataset,
    decompose_samples,
    decompose_samples_dataset,
)
from inspector.pid._goal import RESIDUAL, goal_vector
from inspector.pid._isx import (
    PIDTerms,
    PointwiseTerms,
    goal_from_samples,
    pid_from_pmf,
    pid_from_samples,
    pmf_from_samples,
    pointwise_from_pmf,
    pointwise_from_samples,
)
from inspector.pid._lattice import MAX_SOURCES, Lattice, lattice, source_names

__all__ = [
    "BINNINGS",
    "ESTIMATORS",
    "MAX_SOURCES",
    "MEASURE",
    "RESIDUAL",
    "Binning",
    "Lattice",
    "PIDTerms",
    "PointwiseTerms",
    "decompose",
    "decompose_dataset",
    "decompose_samples",
    "decompose_samples_dataset",
    "goal_from_samples",
    "goal_vector",
    "lattice",
    "pid_from_pmf",
    "pid_from_samples",
    "pmf_from_samples",
    "pointwise_from_pmf",
    "pointwise_from_samples",
    "source_names",
]
