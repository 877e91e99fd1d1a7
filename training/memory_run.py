"""Recorded runs of the memory presets: the layer, its probe (the stored patterns) and the
recall metrics at every checkpoint, written with ``storage`` like any other run, so that
``infomorph analyze`` and the inspector show how the memory's atoms form.

The probe replays the stored patterns with the clean pattern as the recurrent state; the
metrics are ``loss`` (-sum of Pi{E}{I}, bits), ``recall`` (fraction recalled from cues with
``cue_noise`` of their bits flipped), ``recall_clean`` (from the patterns themselves) and
``recall_cosine`` (mean cosine similarity of each pattern and the fixed point reached from it,
paper (c)'s measure).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from storage import LayerRecord, ProbeSpec, RunSpec, RunWriter, default_provenance
from training.config import TrainConfig
from training.layers import sample_binary
from training.memory import (
    flip,
    hebbian_weights,
    memory_layer,
    memory_optimizer,
    memory_step,
    random_patterns,
    recall_cosine,
    recall_rate,
    recall_weights,
)
from training.presets import preset
from training.trainer import _layer_specs, _params, checkpoint_steps

METRICS = ("loss", "recall", "recall_clean", "recall_cosine")


class MemoryNetwork(nn.Module):
    """One recurrent layer named "memory" (the shape ``trainer._layer_specs`` reads)."""

    def __init__(self, config: TrainConfig, generator: torch.Generator) -> None:
        super().__init__()
        self.layer = memory_layer(config.hidden, config.bins, generator, goal=config.goal,
                                  external_scale=config.external_scale,
                                  internal_scale=config.internal_scale)
        if config.preset == "memory-hebbian":
            self.layer.requires_grad_(False)
            self.layer.goal = None

    def layers(self) -> dict:
        return {"memory": self.layer}


class MemoryTrainer:
    def __init__(self, config: TrainConfig, run_dir: Path, progress: bool = True) -> None:
        self.config, self.run_dir, self.progress = config, Path(run_dir), progress
        self.generator = torch.Generator().manual_seed(config.seed)
        torch.manual_seed(config.seed)
        self.patterns = random_patterns(max(1, round(config.load * config.hidden)),
                                        config.hidden, self.generator)
        self.model = MemoryNetwork(config, self.generator)
        self.hebbian = config.preset == "memory-hebbian"
        if self.hebbian:
            self._store_hebbian()
        self.schedule = [0] if self.hebbian else checkpoint_steps(config.epochs,
                                                                  config.checkpoints)
        self.optimizer = (None if self.hebbian
                          else memory_optimizer(self.model.layer, config.lr_hidden))

    @torch.no_grad()
    def _store_hebbian(self) -> None:
        e, i = self.model.layer.maps["E"], self.model.layer.maps["I"]
        e.weight.copy_(torch.eye(self.config.hidden))
        e.bias.zero_()
        i.weight.copy_(hebbian_weights(self.patterns))
        i.bias.zero_()

    def spec(self) -> RunSpec:
        config = {**asdict(self.config),
                  "preset_description": preset(self.config.preset).description,
                  "patterns": len(self.patterns)}
        return RunSpec(config=config, layers=_layer_specs(self.model),
                       probe=ProbeSpec("patterns", list(range(len(self.patterns))), "train"),
                       metrics=METRICS)

    def _metrics(self, loss: float) -> dict[str, float]:
        w, b, sign = recall_weights(self.model.layer)  # Hebbian: identity E, so sign = +1
        cue = torch.Generator().manual_seed(self.config.seed + 1)  # same cues every checkpoint
        return {"loss": loss,
                "recall": recall_rate(w, b, sign, self.patterns, self.config.cue_noise, cue),
                "recall_clean": recall_rate(w, b, sign, self.patterns, 0.0, cue),
                "recall_cosine": recall_cosine(w, b, sign, self.patterns)}

    @torch.no_grad()
    def _record(self, sources: torch.Tensor, theta: torch.Tensor):
        layer = self.model.layer
        probe_sources, probe_theta = layer({"E": self.patterns, "I": self.patterns})
        atoms, goal = layer.logged(sources, theta)
        params = {}
        for source, linear in layer.maps.items():
            params.update(_params(linear, source))
        return {"memory": LayerRecord(
            sources={s: probe_sources[..., k].numpy() for k, s in enumerate(layer.source_names)},
            theta=probe_theta.numpy(),
            output=sample_binary(probe_theta, self.generator).numpy().astype("int8"),
            params=params, train_atoms=atoms.numpy(),
            train_goal=None if goal is None else goal.numpy())}

    def run(self) -> Path:
        writer = RunWriter.create(self.run_dir, self.spec(), provenance=default_provenance(
            device="cpu", seed=self.config.seed, dataset="patterns",
            dataset_size={"train": len(self.patterns)}, preset=self.config.preset))
        try:
            layer = self.model.layer
            with torch.no_grad():
                sources, theta = layer({"E": self.patterns, "I": self.patterns})
            loss = float("nan")
            self._checkpoint(writer, 0, loss, sources, theta)
            steps = 0 if self.hebbian else self.config.epochs
            for epoch in tqdm(range(steps), disable=None if self.progress else True,
                              unit="epoch", desc=f"{self.config.preset}, {len(self.patterns)} "
                              f"patterns in {self.config.hidden} neurons"):
                state = (flip(self.patterns, self.config.train_noise, self.generator)
                         if self.config.train_noise else self.patterns)
                loss, sources, theta = memory_step(layer, self.optimizer, self.patterns, state)
                if epoch + 1 in self.schedule:
                    self._checkpoint(writer, epoch + 1, loss, sources, theta)
            writer.finish()
        except BaseException:
            writer.close()
            raise
        return self.run_dir

    def _checkpoint(self, writer, step: int, loss: float, sources, theta) -> None:
        writer.append(step, epoch=float(step), layers=self._record(sources, theta),
                      metrics=self._metrics(loss))
