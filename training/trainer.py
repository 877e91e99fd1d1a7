"""The trainer: per-layer Adam on local goals, a checkpoint schedule, evaluation with the label
context zeroed and the sign correction, every checkpoint written through ``storage``."""

from __future__ import annotations

import dataclasses
import math
import os
import pickle
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import torch
from torch import nn

from inspector.allocator import keep_freed_memory
from inspector.errors import InfomorphError
from inspector.pid import Binning
from storage import (
    LayerRecord,
    LayerSpec,
    ParamSpec,
    ProbeSpec,
    RunSpec,
    RunWriter,
    SourceSpec,
    default_provenance,
    open_run,
)
from training.config import TrainConfig
from training.data import Splits, load_dataset
from training.goals import GOALS
from training.layers import InfomorphicLayer
from training.models import InfomorphicNetwork, one_hot
from training.presets import preset

METRICS = ("loss", "train_accuracy", "val_accuracy", "test_accuracy")
EVAL_BATCH = 4096
RESUME_FILE = "resume.pt"
"""Beside run.h5 while a run trains: what its last checkpoint does not hold (Adam's moments,
the sampling generator), so that a resumed run continues exactly where it stopped."""


def checkpoint_steps(total: int, count: int) -> list[int]:
    """``count`` steps from 0 to ``total``, log-spaced: dense early, sparse later."""
    if total <= 0:
        return [0]
    points = np.unique(np.round(np.geomspace(1, total + 1, num=max(count, 2)) - 1).astype(int))
    return sorted({0, total, *points.tolist()})


def build_model(config: TrainConfig, features: int, classes: int, device, generator):
    spec = preset(config.preset)
    hidden, size = [], features
    for h in spec.hidden:
        sizes = {"F": size, "C": classes, "L": config.hidden}
        inputs = {name: sizes[name] for name in h.sources}
        method = config.hidden_binning or h.binning
        binning = (
            Binning("fixed", config.bins, (-20.0, 20.0))
            if method == "fixed"
            else Binning(method, config.bins)
        )
        partners = (
            config.lateral_partners if config.lateral_partners is not None else h.lateral_partners
        )
        hidden.append(
            InfomorphicLayer(
                inputs,
                config.hidden,
                h.activation,
                (config.goal or GOALS[h.goal]) if h.goal else None,
                binning,
                activation_params=h.activation_params,
                lateral_partners=partners,
                deterministic=h.deterministic,
                trainable=True if spec.backprop else None,  # else: when it has a goal
                generator=generator,
                device=device,
            )
        )
        size = config.hidden
    readout = InfomorphicLayer(
        {"F": size, "C": classes},
        classes,
        "bivariate",
        None if spec.backprop else config.readout_goal or GOALS["readout"],
        Binning("maxnorm", config.bins),
        activation_params={"k1": 1.0, "k2": 2.0},
        fixed_identity=("C",),
        trainable=True,
        device=device,
    )
    return InfomorphicNetwork(hidden, readout, config.lateral_steps, feedback=spec.feedback,
                              end_to_end=spec.backprop)


def _layer_specs(model: InfomorphicNetwork) -> tuple[LayerSpec, ...]:
    specs = []
    for name, layer in model.layers().items():
        params = []
        for source, linear in layer.maps.items():
            params.extend(_param_specs(linear, source))
        specs.append(
            LayerSpec(
                name,
                layer.neurons,
                tuple(SourceSpec(s, _input_size(layer, s)) for s in layer.source_names),
                activation=layer.activation_name
                + (" (threshold units, not sampled)" if layer.deterministic else ""),
                activation_params=layer.activation_params,
                binning={
                    "method": layer.binning.method,
                    "bins": layer.binning.bins,
                    "value_range": list(layer.binning.value_range),
                },
                goal=layer.goal or {},
                atoms=tuple(layer.atom_labels),
                params=tuple(params),
            )
        )
    return tuple(specs)


def _input_size(layer: InfomorphicLayer, source: str) -> int:
    return layer.neurons if source in layer.fixed_identity else layer.maps[source].in_features


def _param_specs(linear: nn.Linear, source: str) -> list[ParamSpec]:
    return [
        ParamSpec(f"{source}.weight", tuple(linear.weight.shape), ("neuron", f"{source}_input")),
        ParamSpec(f"{source}.bias", tuple(linear.bias.shape), ("neuron",)),
    ]


def _optimizers(model: InfomorphicNetwork, config: TrainConfig) -> list[torch.optim.Optimizer]:
    out = []
    for name, layer in model.layers().items():
        params = [p for p in layer.parameters() if p.requires_grad]
        if params:
            lr, wd = (
                (config.lr_readout, config.wd_readout)
                if name == "readout"
                else (config.lr_hidden, config.wd_hidden)
            )
            out.append(torch.optim.Adam(params, lr=lr, weight_decay=wd))
    return out


def train_step(model: InfomorphicNetwork, optimizers: list[torch.optim.Optimizer], x, y,
               generator=None) -> tuple[torch.Tensor, dict]:
    """One training step on a batch: the loss (``InfomorphicNetwork.loss``), its gradient and
    every optimizer's update. Returns the loss (detached) and every layer's pass."""
    for opt in optimizers:
        opt.zero_grad(set_to_none=True)
    loss, passes = model.loss(x, y, generator)
    if loss.requires_grad:
        loss.backward()
    for opt in optimizers:
        opt.step()
    return loss.detach(), passes


def accuracy(model, x: torch.Tensor, y: torch.Tensor, generator, passes: int = 1) -> float:
    """Share of ``x`` predicted as ``y``, with ``passes`` stochastic passes per prediction."""
    correct = 0
    for i in range(0, len(x), EVAL_BATCH):
        pred = model.predict(x[i : i + EVAL_BATCH], generator, passes)
        correct += int((pred == y[i : i + EVAL_BATCH]).sum())
    return correct / max(len(x), 1)


class Trainer:
    """Trains one run and records it. ``run()`` returns the run directory."""

    def __init__(self, config: TrainConfig, run_dir: Path, progress: bool = True) -> None:
        self.config = config
        self.run_dir = run_dir
        self.progress = progress
        if config.device.startswith("cuda") and not torch.cuda.is_available():
            raise InfomorphError("--device cuda: no CUDA device is available here")
        self.device = torch.device(config.device)
        torch.manual_seed(config.seed)
        self.generator = torch.Generator(device=self.device).manual_seed(config.seed)
        self.splits: Splits = load_dataset(config.data, config.data_dir, config.seed)
        to = lambda a: torch.as_tensor(a, device=self.device)  # noqa: E731
        self.train_x, self.train_y = map(to, self.splits.train)
        self.val_x, self.val_y = map(to, self.splits.val)
        self.test_x, self.test_y = map(to, self.splits.test)
        self.classes = self.splits.classes
        init_gen = torch.Generator().manual_seed(config.seed)
        self.model = build_model(config, self.splits.features, self.classes, self.device, init_gen)
        self.optimizers = _optimizers(self.model, config)
        rng = np.random.default_rng(config.seed)
        probe = np.sort(rng.permutation(len(self.test_x))[: config.probe_size])
        self.probe_index = probe
        self.probe_x, self.probe_y = self.test_x[probe], self.test_y[probe]
        train_eval = rng.permutation(len(self.train_x))[:EVAL_BATCH]
        self.train_eval = (self.train_x[train_eval], self.train_y[train_eval])
        self.steps_per_epoch = math.ceil(len(self.train_x) / config.batch_size)
        self.total_steps = config.epochs * self.steps_per_epoch
        self.schedule = checkpoint_steps(self.total_steps, config.checkpoints)
        self._order: tuple[int, torch.Tensor | None] = (-1, None)

    def spec(self) -> RunSpec:
        config = {
            **dataclasses.asdict(self.config),
            "preset_description": preset(self.config.preset).description,
            "image_shape": list(self.splits.image_shape),
            "classes": self.classes,
        }
        return RunSpec(
            config=config,
            layers=_layer_specs(self.model),
            probe=ProbeSpec(
                self.splits.name, self.probe_index.tolist(), "test", self.probe_y.cpu().tolist()
            ),
            metrics=METRICS,
        )

    # ------------------------------------------------------------------ steps
    def _epoch_order(self, epoch: int) -> torch.Tensor:
        """The shuffle of one epoch: a function of (seed, epoch) only, so a resumed run sees
        the same batches; computed once per epoch, not per step."""
        if self._order[0] != epoch:
            gen = torch.Generator().manual_seed(self.config.seed * 100_003 + epoch)
            self._order = (epoch, torch.randperm(len(self.train_x), generator=gen).to(self.device))
        return self._order[1]

    def _batch(self, step: int):
        epoch, index = divmod(step, self.steps_per_epoch)
        order = self._epoch_order(epoch)
        sl = order[index * self.config.batch_size : (index + 1) * self.config.batch_size]
        return self.train_x[sl], self.train_y[sl]

    def _step(self, x, y) -> tuple[float, dict]:
        loss, passes = train_step(self.model, self.optimizers, x, y, self.generator)
        return float(loss), passes

    # ------------------------------------------------------------------ recording
    @torch.no_grad()
    def _record(self, last_passes: dict) -> dict[str, LayerRecord]:
        model = self.model
        passes = model.run(self.probe_x, one_hot(self.probe_y, self.classes), self.generator)
        out = {}
        for name, layer in model.layers().items():
            p = passes[name]
            train = last_passes.get(name, p)
            params = {}
            for source, linear in layer.maps.items():
                params.update(_params(linear, source))
            atoms, goal = layer.logged(train.sources, train.theta)
            out[name] = LayerRecord(
                sources={
                    s: p.sources[..., k].cpu().numpy() for k, s in enumerate(layer.source_names)
                },
                theta=p.theta.cpu().numpy(),
                output=p.output.cpu().numpy(),
                params=params,
                train_atoms=atoms.cpu().numpy(),
                train_goal=None if goal is None else goal.cpu().numpy(),
            )
        return out

    def _metrics(self, loss: float) -> dict[str, float]:
        passes = self.config.eval_passes
        return {
            "loss": loss,
            "train_accuracy": accuracy(self.model, *self.train_eval, self.generator, passes),
            "val_accuracy": accuracy(self.model, self.val_x, self.val_y, self.generator, passes),
            "test_accuracy": accuracy(self.model, self.test_x, self.test_y, self.generator,
                                      passes),
        }

    # ------------------------------------------------------------------ loop
    def run(self, writer: RunWriter | None = None, start: int = 0) -> Path:
        from tqdm import tqdm

        writer = writer or RunWriter.create(
            self.run_dir, self.spec(), provenance=self._provenance()
        )
        try:
            bar = tqdm(
                total=self.total_steps,
                initial=start,
                mininterval=0.5,
                disable=None if self.progress else True,  # None: shown on a terminal only
                unit="step",
                desc=f"{self.config.preset} on {self.config.data}",
            )
            last_passes, loss = {}, float("nan")
            written = set(writer.checkpoints)
            if 0 not in written:
                last_passes = self._forward_only()
                self._checkpoint(writer, 0, loss, last_passes, bar)
                self._save_state(0)
            for step in range(start, self.total_steps):
                loss, last_passes = self._step(*self._batch(step))
                bar.update(1)
                if step + 1 in self.schedule and step + 1 not in written:
                    self._checkpoint(writer, step + 1, loss, last_passes, bar)
                    self._save_state(step + 1)
            bar.close()
            writer.finish()
            (self.run_dir / RESUME_FILE).unlink(missing_ok=True)
        except BaseException:
            writer.close()
            raise
        return self.run_dir

    @torch.no_grad()
    def _forward_only(self) -> dict:
        x, y = self._batch(0)
        return self.model.run(x, one_hot(y, self.classes), self.generator)

    def _checkpoint(self, writer, step, loss, passes, bar) -> None:
        metrics = self._metrics(loss)
        writer.append(
            step, epoch=step / self.steps_per_epoch, layers=self._record(passes), metrics=metrics
        )
        bar.set_postfix(loss=f"{loss:.3g}", val=f"{metrics['val_accuracy']:.3f}")

    def _provenance(self) -> dict:
        return default_provenance(
            device=str(self.device),
            seed=self.config.seed,
            dataset=self.splits.name,
            dataset_size={
                "train": len(self.train_x),
                "val": len(self.val_x),
                "test": len(self.test_x),
            },
            preset=self.config.preset,
        )

    def _save_state(self, step: int) -> None:
        """Write RESUME_FILE for ``step`` (atomically: a crash leaves the previous one)."""
        state = {
            "step": step,
            "optimizers": [opt.state_dict() for opt in self.optimizers],
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
        }
        tmp = self.run_dir / (RESUME_FILE + ".tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.run_dir / RESUME_FILE)

    def load_state(self, step: int) -> bool:
        """Restore the optimisers and the generator saved for ``step``; False (and nothing
        changed) when RESUME_FILE is missing, unreadable or from another step."""
        path = self.run_dir / RESUME_FILE
        try:
            state = torch.load(path, map_location=self.device, weights_only=True)
            if state["step"] != step:
                return False
            optimizers = state["optimizers"]
            if len(optimizers) != len(self.optimizers):
                return False
            backup = [opt.state_dict() for opt in self.optimizers]
            try:
                for opt, saved in zip(self.optimizers, optimizers, strict=True):
                    opt.load_state_dict(saved)
                self.generator.set_state(state["generator"])
            except (ValueError, KeyError, RuntimeError, TypeError):
                for opt, saved in zip(self.optimizers, backup, strict=True):
                    opt.load_state_dict(saved)
                return False
            torch.set_rng_state(state["torch_rng"])
            return True
        except (OSError, EOFError, KeyError, TypeError, RuntimeError, ValueError,
                AttributeError, pickle.UnpicklingError):
            return False

    def load_weights(self, run_dir: Path) -> int:
        """Load the last complete checkpoint's parameters; return its step."""
        run = open_run(run_dir)
        if run.n_checkpoints == 0:
            return 0
        step = int(run.checkpoints[-1])
        with torch.no_grad():
            for name, layer in self.model.layers().items():
                weights = run.weights(name, step)
                for source, linear in layer.maps.items():
                    linear.weight.copy_(torch.as_tensor(weights[f"{source}.weight"].values))
                    linear.bias.copy_(torch.as_tensor(weights[f"{source}.bias"].values))
        return step


def _params(linear: nn.Linear, source: str) -> dict[str, np.ndarray]:
    return {
        f"{source}.weight": linear.weight.detach().cpu().numpy(),
        f"{source}.bias": linear.bias.detach().cpu().numpy(),
    }


def default_run_name(config: TrainConfig) -> str:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{config.preset}-{config.data}-h{config.hidden}-s{config.seed}-{stamp}"


def check_run_name(name: str) -> str:
    """``name`` if it names a directory inside the LOGDIR (``seed0`` or ``sweep/seed0``);
    an absolute path or a ``..`` would write the run elsewhere."""
    parts = Path(name).parts
    if not parts or Path(name).is_absolute() or ".." in parts or name != name.strip():
        raise InfomorphError(
            f"run name {name!r} must be a directory inside the LOGDIR (e.g. 'seed0' or "
            "'sweep/seed0'), without '..' or a leading '/'"
        )
    return name


def train(
    config: TrainConfig, logdir: str | Path, name: str | None = None, progress: bool = True
) -> Path:
    """Train one run into ``logdir/name`` and return the run directory."""
    keep_freed_memory()
    run_dir = Path(logdir) / check_run_name(default_run_name(config) if name is None else name)
    if (run_dir / "run.h5").exists():
        raise InfomorphError(
            f"run {run_dir} already exists; choose another --name, or continue it with --resume"
        )
    if preset(config.preset).task == "memory":
        from training.memory_run import MemoryTrainer

        return MemoryTrainer(config, run_dir, progress).run()
    return Trainer(config, run_dir, progress).run()


def resume(run_dir: str | Path, progress: bool = True) -> Path:
    """Continue an interrupted run from its last complete checkpoint: its parameters from
    run.h5, Adam's moments and the sampling generator from RESUME_FILE, so the result equals
    an uninterrupted run's (on the same device). Without a usable RESUME_FILE (a run of an
    older version, or a crash while it was written) Adam's moments restart, with a warning."""
    from training.config import make_config

    keep_freed_memory()
    run_dir = Path(run_dir)
    run = open_run(run_dir)
    keys = {f.name for f in dataclasses.fields(TrainConfig)}
    config = make_config({k: v for k, v in run.config.items() if k in keys})
    if preset(config.preset).task == "memory":
        raise InfomorphError(f"{config.preset} runs take seconds and are not resumed; train "
                             "a new one")
    trainer = Trainer(config, run_dir, progress)
    if _shapes(run.layers) != _shapes(trainer.spec().layers):
        raise InfomorphError(
            f"{run_dir} was written by another version of the {config.preset} preset (its "
            "layers differ from the preset's now), so it cannot be resumed; train a new run")
    step = trainer.load_weights(run_dir)
    exact = trainer.load_state(step)
    writer = RunWriter.resume(run_dir)  # refuses a finished run
    if not exact and step > 0:
        print(f"infomorph: warning: no usable {RESUME_FILE} for step {step} in {run_dir}: "
              "Adam's moments restart, so the result will differ slightly from an "
              "uninterrupted run", file=sys.stderr)
    return trainer.run(writer, start=step)


def _shapes(layers) -> list:
    """What resuming needs to match: every layer's parameters by name and shape."""
    return [(layer.name, [(p.name, tuple(p.shape)) for p in layer.params]) for layer in layers]
