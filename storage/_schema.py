"""What a run file holds: the specs a writer is created from, and the names inside the file.

The layout of schema version 1 is documented in docs/run-format.md; this module is its single
source of names. Specs are plain frozen dataclasses that round-trip through JSON (stored as root
attributes), so a reader rebuilds them without any pickles.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from inspector.errors import InfomorphError

FORMAT = "infomorph-run"
SCHEMA_VERSION = 1
RUN_FILE = "run.h5"
LOCK_FILE = "run.lock"

STATUS_RUNNING, STATUS_FINISHED = 0, 1
STATUSES = ("running", "finished", "crashed/incomplete")


@dataclass(frozen=True)
class SourceSpec:
    """One input class of a layer: name (F, C, L, E, I ...) and its input dimension."""

    name: str
    size: int


@dataclass(frozen=True)
class ParamSpec:
    """A trainable tensor recorded at every checkpoint, with a name for each of its dims."""

    name: str
    shape: tuple[int, ...]
    dims: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        object.__setattr__(self, "dims", tuple(str(d) for d in self.dims))
        if len(self.shape) != len(self.dims):
            raise InfomorphError(
                f"parameter {self.name!r}: {len(self.shape)} sizes but {len(self.dims)} dim names"
            )


@dataclass(frozen=True)
class LayerSpec:
    """A layer as the run file describes it.

    ``goal`` maps atom labels (and "H_res") to gamma; ``atoms`` lists the atom labels the
    training loss logs, in lattice order; ``binning`` is the loss's binning (method, bins,
    value_range); ``activation`` names the activation function with ``activation_params``.
    """

    name: str
    neurons: int
    sources: tuple[SourceSpec, ...]
    activation: str = ""
    activation_params: Mapping[str, float] = field(default_factory=dict)
    binning: Mapping[str, Any] = field(default_factory=dict)
    goal: Mapping[str, float] = field(default_factory=dict)
    atoms: tuple[str, ...] = ()
    params: tuple[ParamSpec, ...] = ()

    def __post_init__(self) -> None:
        sources = tuple(s if isinstance(s, SourceSpec) else SourceSpec(**s) for s in self.sources)
        params = tuple(p if isinstance(p, ParamSpec) else ParamSpec(**p) for p in self.params)
        object.__setattr__(self, "sources", sources)
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "atoms", tuple(self.atoms))
        _check_name("layer", self.name)
        if self.neurons < 1:
            raise InfomorphError(f"layer {self.name!r} needs >= 1 neuron, got {self.neurons}")
        names = [s.name for s in sources]
        if not names or len(set(names)) != len(names):
            raise InfomorphError(f"layer {self.name!r} needs distinct source names, got {names}")
        for name in names:
            _check_name("source", name)
        for p in params:
            _check_name("parameter", p.name.replace(".", "_"))

    @property
    def source_names(self) -> list[str]:
        return [s.name for s in self.sources]


@dataclass(frozen=True)
class ProbeSpec:
    """The fixed probe set replayed at every checkpoint: indices into ``dataset``'s held-out
    split (or, for synthetic data, the inputs themselves) and optional labels."""

    dataset: str
    indices: Sequence[int]
    split: str = "test"
    labels: Sequence[int] | None = None
    inputs: Any = field(default=None, repr=False, compare=False)
    """(sample, feature) array of the probe inputs themselves, for synthetic data that no
    dataset can reproduce from indices; stored as the ``probe_inputs`` dataset, not in JSON."""

    @property
    def size(self) -> int:
        return len(self.indices)


@dataclass(frozen=True)
class RunSpec:
    """Everything fixed before the first checkpoint: config, network, probe set, metric names."""

    config: Mapping[str, Any]
    layers: tuple[LayerSpec, ...]
    probe: ProbeSpec
    metrics: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        layers = tuple(x if isinstance(x, LayerSpec) else LayerSpec(**x) for x in self.layers)
        object.__setattr__(self, "layers", layers)
        probe = self.probe if isinstance(self.probe, ProbeSpec) else ProbeSpec(**self.probe)
        object.__setattr__(self, "probe", probe)
        object.__setattr__(self, "metrics", tuple(self.metrics))
        names = [x.name for x in layers]
        if not names or len(set(names)) != len(names):
            raise InfomorphError(f"a run needs layers with distinct names, got {names}")
        for m in self.metrics:
            _check_name("metric", m)
        if probe.size < 1:
            raise InfomorphError("the probe set needs at least one example")

    def layer(self, name: str) -> LayerSpec:
        for x in self.layers:
            if x.name == name:
                return x
        raise InfomorphError(
            f"Unknown layer {name!r}; choose one of: {', '.join(x.name for x in self.layers)}."
        )

    def to_attrs(self) -> dict[str, str]:
        probe = asdict(self.probe)
        probe.pop("inputs")
        probe["indices"] = [int(i) for i in probe["indices"]]
        if probe["labels"] is not None:
            probe["labels"] = [int(i) for i in probe["labels"]]
        return {
            "config": json.dumps(self.config, default=_jsonable),
            "network": json.dumps([asdict(x) for x in self.layers], default=_jsonable),
            "probe": json.dumps(probe),
            "metrics": json.dumps(list(self.metrics)),
        }

    @classmethod
    def from_attrs(cls, attrs: Mapping[str, Any]) -> RunSpec:
        return cls(
            config=json.loads(attrs["config"]),
            layers=tuple(LayerSpec(**x) for x in json.loads(attrs["network"])),
            probe=ProbeSpec(**json.loads(attrs["probe"])),
            metrics=tuple(json.loads(attrs["metrics"])),
        )


def _check_name(kind: str, name: str) -> None:
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise InfomorphError(
            f"{kind} name {name!r} must be non-empty letters, digits, '_' or '-'"
        )


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
