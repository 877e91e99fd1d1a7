"""The one PID engine: I^sx redundancy lattices, atoms, estimators from samples.

Labelled API (numpy / torch / xarray in, xarray out, float64):
    decompose, decompose_dataset            joint tables (*batch, |S_1|..|S_n|, |T|)
    decompose_samples, decompose_samples_dataset   samples + a Binning
Tensor API (torch, any dtype/device, differentiable; used by training's losses):
    pid_from_pmf, pid_from_samples, pointwise_from_pmf, pointwise_from_samples, pmf_from_samples,
    goal_from_samples (a weighted sum of atoms and H_res, computing only what it needs)
Lattices: lattice(n) for n = 1..4 with atom labels such as "{F}{CL}".
"""

from importlib import import_module

from inspector.pid._goal import RESIDUAL, format_goal, goal_vector
from inspector.pid._lattice import MAX_SOURCES, Lattice, lattice, source_names

# The torch-backed parts load on first use (PEP 562), so that lattices, atom labels and goals
# (the app's charts need nothing more) do not pay for importing torch.
_LAZY = {
    "BINNINGS": "_binning", "Binning": "_binning",
    "ESTIMATORS": "_decompose", "MEASURE": "_decompose", "decompose": "_decompose",
    "decompose_dataset": "_decompose", "decompose_samples": "_decompose",
    "decompose_samples_dataset": "_decompose",
    "PIDTerms": "_isx", "PointwiseTerms": "_isx", "pid_from_pmf": "_isx",
    "pointwise_from_pmf": "_isx", "goal_from_samples": "_samples",
    "pid_from_samples": "_samples", "pmf_from_samples": "_samples",
    "pointwise_from_samples": "_samples",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(f"inspector.pid.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'inspector.pid' has no attribute {name!r}")


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
    "format_goal",
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
