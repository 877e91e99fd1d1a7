"""The training configuration: one dataclass, validated; overrides from --set and TOML."""

from __future__ import annotations

import dataclasses
import json
import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path

from inspector.errors import InfomorphError, choose_one
from inspector.pid import RESIDUAL, lattice
from training.data import DATASETS
from training.goals import goal_vector
from training.presets import MEMORY_EXTERNAL_SCALE, MEMORY_INTERNAL_SCALE, PRESETS

HIDDEN_BINNINGS = ("fixed", "maxnorm", "quantile")


@dataclass
class TrainConfig:
    """Every knob of a training run (SCIENCE.md section 5 defaults)."""

    preset: str = "trivariate-optimized"
    data: str | None = None  # None: "digits", or "patterns" for the memory presets
    data_dir: str | None = None
    hidden: int = 100
    epochs: int = 100
    batch_size: int | None = None  # None: 1024 (paper (b)), 256 for the small digits set
    # Adam, paper (b)'s settings for every classification preset, backprop included (see
    # docs/results.md: its code's 1e-3 without weight decay leaves digits undertrained)
    lr_hidden: float | None = None  # None: 2e-3 (paper (b)), 0.05 for the memory (paper (c))
    wd_hidden: float = 3.5e-4
    lr_readout: float = 3e-3
    wd_readout: float = 1.5e-4
    bins: int | None = None  # None: 20 (paper (b)), 60 for the memory (paper (c))
    lateral_steps: int = 2
    lateral_partners: int | None = None
    seed: int = 0
    device: str = "cpu"
    checkpoints: int = 30
    probe_size: int = 2048
    hidden_binning: str | None = None  # None: the preset's (fixed, maxnorm or quantile)
    load: float = 0.2  # memory presets: patterns per neuron
    cue_noise: float = 0.05  # memory presets: share of a cue's bits flipped for recall
    train_noise: float = 0.0  # memory preset: share of the recurrent state's bits flipped
    external_scale: float = MEMORY_EXTERNAL_SCALE  # memory: fixed weight of the pattern input
    internal_scale: float = MEMORY_INTERNAL_SCALE  # memory: factor on initial recurrent weights
    eval_passes: int = 1  # stochastic test passes averaged per prediction (1: paper (b))
    # Goals by atom label over the layer's sources, e.g. {"{F}{C}": 1, "{F}{L}": -1, "H_res": 0.1}.
    goal: dict[str, float] | None = None  # None: the preset's goal for its hidden layers
    readout_goal: dict[str, float] | None = None  # None: paper (b)'s readout goal (sources F, C)

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise choose_one("preset", self.preset, PRESETS)
        memory = PRESETS[self.preset].task == "memory"
        if self.data is None:
            self.data = "patterns" if memory else "digits"
        if memory and self.data != "patterns":
            raise InfomorphError(
                f"the {self.preset} preset stores synthetic random patterns (data=patterns), "
                f"not {self.data!r}")
        if not memory and self.data not in DATASETS:
            raise choose_one("dataset", self.data, DATASETS)
        if self.lr_hidden is None:
            self.lr_hidden = 0.05 if memory else 2e-3
        if self.bins is None:
            self.bins = 60 if memory else 20
        if self.hidden_binning is not None and self.hidden_binning not in HIDDEN_BINNINGS:
            raise choose_one("hidden_binning", self.hidden_binning, HIDDEN_BINNINGS)
        if memory:
            from training.memory import MemoryTask  # validates the memory keys

            MemoryTask(neurons=self.hidden, load=self.load, cue_noise=self.cue_noise,
                       train_noise=self.train_noise, epochs=self.epochs, lr=self.lr_hidden,
                       bins=self.bins, external_scale=self.external_scale,
                       internal_scale=self.internal_scale)
        if self.batch_size is None:
            self.batch_size = 256 if self.data == "digits" else 1024
        for name in (
            "hidden",
            "epochs",
            "batch_size",
            "bins",
            "lateral_steps",
            "checkpoints",
            "probe_size",
            "eval_passes",
        ):
            if getattr(self, name) < 1:
                raise InfomorphError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.bins < 2:
            raise InfomorphError(f"bins must be >= 2, got {self.bins}")
        for name in ("lr_hidden", "lr_readout", "wd_hidden", "wd_readout"):
            if not getattr(self, name) >= 0:
                raise InfomorphError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.device not in ("cpu", "cuda") and not self.device.startswith("cuda:"):
            raise choose_one("device", self.device, ("cpu", "cuda", "cuda:N"))
        self._check_goals()

    def _check_goals(self) -> None:
        """Custom goals must name atoms of the layers they replace the goal of."""
        spec = PRESETS[self.preset]
        if self.goal is not None:
            if spec.task == "memory":
                sources = [("E", "I")] if self.preset == "memory" else []
            else:
                sources = [h.sources for h in spec.hidden if h.goal is not None]
            if not sources:
                raise InfomorphError(
                    f"goal: the {self.preset} preset has no hidden layer that learns from a "
                    "goal; presets with one: " + ", ".join(_presets_with_hidden_goal()))
            checked = [_check_goal("goal", self.goal, names) for names in sources]  # each layer
            self.goal = checked[0]
        if self.readout_goal is not None:
            if spec.task == "memory" or spec.backprop:
                raise InfomorphError(
                    f"readout_goal: the {self.preset} preset has no infomorphic readout")
            self.readout_goal = _check_goal("readout_goal", self.readout_goal, ("F", "C"))


def _presets_with_hidden_goal() -> list[str]:
    return [name for name, p in PRESETS.items()
            if any(h.goal is not None for h in p.hidden) or name == "memory"]


def _check_goal(key: str, goal: dict, names: tuple[str, ...]) -> dict[str, float]:
    """The goal with canonical labels ("{C}{F}" -> "{F}{C}") and float weights, so that runs
    of the same goal written differently record the same goal."""
    if not goal:
        raise InfomorphError(f"{key} names no atom; give at least one, e.g. "
                             f'{{"{{{names[0]}}}{{{names[1]}}}": 1}}')
    try:
        gamma, residual = goal_vector(goal, names)
    except InfomorphError as err:
        raise InfomorphError(f"{key}: {err}") from None
    if not gamma.any() and residual == 0:
        raise InfomorphError(f"{key}: every weight is 0, so nothing would be learned")
    lat = lattice(len(names))
    labels = lat.labels(names)
    return {(label if label == RESIDUAL else labels[lat.index(label, names)]): float(weight)
            for label, weight in goal.items()}


def _field_types() -> dict[str, type | tuple]:
    hints = typing.get_type_hints(TrainConfig)
    return {f.name: hints[f.name] for f in dataclasses.fields(TrainConfig)}


def _parse_goal(key: str, raw) -> dict[str, float]:
    """A goal from TOML (a table) or from ``--set``: JSON (``{"{F}{C}": 1, "{F}{L}": -1}``) or
    ``LABEL=WEIGHT[,LABEL=WEIGHT...]`` (``{F}{C}=1,{F}{L}=-1``). Weights are checked later,
    against the layer's atoms."""
    if isinstance(raw, dict):
        return dict(raw)
    if isinstance(raw, str):
        text = raw.strip()
        try:
            value = json.loads(text)
        except ValueError:
            value = {}
            for item in filter(None, (part.strip() for part in text.split(","))):
                label, sep, weight = item.rpartition("=")
                if not sep or not label.strip():
                    value = None
                    break
                value[label.strip()] = weight.strip()
        if isinstance(value, dict):
            return value
    raise InfomorphError(
        f"{key} must map atom labels to weights, e.g. '{{\"{{F}}{{C}}\": 1, \"{{F}}{{L}}\": -1}}'"
        f" or '{{F}}{{C}}=1,{{F}}{{L}}=-1', got {raw!r}")


def _base(kind):
    """``X`` of ``X | None``."""
    if isinstance(kind, types.UnionType) and type(None) in kind.__args__:
        return next(a for a in kind.__args__ if a is not type(None))
    return kind


def _coerce(key: str, raw, kind):
    base = _base(kind)
    optional = base is not kind
    if optional and (raw is None or (isinstance(raw, str) and raw.lower() in ("none", ""))):
        return None
    if typing.get_origin(base) is dict:
        return _parse_goal(key, raw)
    try:
        if base is bool:
            raise TypeError
        if base is int:
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError
            return int(raw)
        if base is float:
            if isinstance(raw, bool):
                raise ValueError
            return float(raw)
        if not isinstance(raw, str):
            raise ValueError
        return raw
    except (TypeError, ValueError):
        name = getattr(base, "__name__", str(base))
        raise InfomorphError(
            f"{key} must be {'an' if name == 'int' else 'a'} {name}"
            f"{' or none' if optional else ''}, got {raw!r}"
        ) from None


def make_config(overrides: dict | None = None) -> TrainConfig:
    """A validated config from a mapping of field -> value (strings are converted)."""
    types_ = _field_types()
    values = {}
    for key, raw in (overrides or {}).items():
        if key not in types_:
            raise choose_one("config key", key, types_)
        values[key] = _coerce(key, raw, types_[key])
    return TrainConfig(**values)


def parse_sets(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InfomorphError(f"--set takes key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def read_toml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise InfomorphError(f"no such config file: {path}")
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise InfomorphError(f"{path} is not valid TOML: {err}") from None
    tables = {k for k, kind in _field_types().items() if typing.get_origin(_base(kind)) is dict}
    nested = [k for k, v in data.items() if isinstance(v, dict) and k not in tables]
    if nested:
        raise InfomorphError(f"{path}: tables are not config keys: {', '.join(nested)}")
    return data
