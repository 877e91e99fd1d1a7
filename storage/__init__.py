"""Every byte on disk: the HDF5 run format (writer, reader, schema, validation).

- ``RunWriter.create(run_dir, spec)`` / ``RunWriter.resume(run_dir)``: the one writer of a run.
- ``open_run(path)`` -> ``Run``: config, provenance, layers, checkpoints, ``probe``,
  ``neuron``, ``weights``, ``train_atoms``, ``metrics``, ``status``.
- ``find_runs(logdir)``: the run directories below a LOGDIR.
- ``write_analysis`` / ``open_analysis``: the atomic analysis.nc beside run.h5.
The format is documented in docs/run-format.md. Only this package imports h5py.
"""

from storage._analysis import ANALYSIS_FILE, analysis_attrs, open_analysis, write_analysis
from storage._logdir import find_runs
from storage._reader import Run, is_hdf5, open_run, resolve_run_file
from storage._schema import (
    FORMAT,
    RUN_FILE,
    SCHEMA_VERSION,
    STATUSES,
    LayerSpec,
    ParamSpec,
    ProbeSpec,
    RunSpec,
    SourceSpec,
)
from storage._writer import LayerRecord, RunWriter, default_provenance

__all__ = [
    "ANALYSIS_FILE",
    "FORMAT",
    "RUN_FILE",
    "SCHEMA_VERSION",
    "STATUSES",
    "LayerRecord",
    "LayerSpec",
    "ParamSpec",
    "ProbeSpec",
    "Run",
    "RunSpec",
    "RunWriter",
    "SourceSpec",
    "analysis_attrs",
    "default_provenance",
    "find_runs",
    "is_hdf5",
    "open_analysis",
    "open_run",
    "resolve_run_file",
    "write_analysis",
]
