"""Associative memory (paper (c)): store P random +-1 patterns in N neurons, recall them from
noisy cues by iterating to a fixed point, and sweep the load P/N to find the capacity.

Two ways to store patterns:
- ``memory``: an infomorphic layer of N neurons, theta = sigma(beta (e + i)), where e is the
  neuron's own pattern bit through a trainable diagonal weight (source E) and i the recurrent
  input from the other neurons (source I, no self-connections); the goal is the redundancy
  Pi{E}{I}, learned with Adam on the patterns (the recurrent state during learning is the
  pattern, optionally with a fraction ``train_noise`` of its bits flipped).
- ``memory-hebbian``: the classical Hopfield network, W = (1/N) sum_mu xi^mu xi^mu^T, zero
  diagonal, no training.

Recall: start from a cue (a stored pattern with a fraction ``cue_noise`` of its bits flipped)
and update all neurons at once, s <- sign(W s + b), until nothing changes (at most
``max_steps``); a pattern counts as recalled when the cosine similarity of the final state
and the pattern is >= 0.95. An information goal cannot tell a neuron from its inverted copy,
so an infomorphic neuron whose diagonal weight is negative has its output sign flipped when
read in pattern space (the sign correction of SCIENCE.md section 5, applied per neuron).
Capacity: the load at which the recalled fraction first falls below 90 % (linearly
interpolated between the loads of the sweep), in patterns per neuron.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from inspector.errors import InfomorphError
from inspector.pid import Binning
from training.goals import GOALS
from training.layers import InfomorphicLayer

SUCCESS_COSINE = 0.95
RULES = ("memory", "memory-hebbian")


@dataclass(frozen=True)
class MemoryTask:
    """One storage experiment: N neurons, P = round(load * N) patterns, the recall test."""

    neurons: int = 100
    load: float = 0.2
    cue_noise: float = 0.05
    train_noise: float = 0.0
    epochs: int = 100
    lr: float = 0.05
    bins: int = 60
    max_steps: int = 100

    def __post_init__(self) -> None:
        for name, low in (("neurons", 2), ("epochs", 1), ("bins", 2), ("max_steps", 1)):
            if getattr(self, name) < low:
                raise InfomorphError(f"{name} must be >= {low}, got {getattr(self, name)}")
        if not self.load > 0:
            raise InfomorphError(f"load must be > 0, got {self.load}")
        if not self.lr > 0:
            raise InfomorphError(f"lr must be > 0, got {self.lr}")
        for name in ("cue_noise", "train_noise"):
            if not 0 <= getattr(self, name) <= 0.5:
                raise InfomorphError(f"{name} must be in [0, 0.5], got {getattr(self, name)}")

    @property
    def patterns(self) -> int:
        return max(1, round(self.load * self.neurons))


def random_patterns(count: int, neurons: int, generator: torch.Generator) -> Tensor:
    """(count, neurons) independent fair +-1 patterns."""
    return torch.where(torch.rand(count, neurons, generator=generator) < 0.5, 1.0, -1.0)


def flip(patterns: Tensor, fraction: float, generator: torch.Generator) -> Tensor:
    """The patterns with each bit flipped with probability ``fraction``."""
    mask = torch.rand(patterns.shape, generator=generator) < fraction
    return torch.where(mask, -patterns, patterns)


def hebbian_weights(patterns: Tensor) -> Tensor:
    """W = (1/N) sum_mu xi^mu xi^mu^T with zero diagonal; (N, N)."""
    w = patterns.T @ patterns / patterns.shape[1]
    return w.fill_diagonal_(0.0)


def iterate(weights: Tensor, bias: Tensor, cues: Tensor, sign: Tensor | None = None,
            max_steps: int = 100) -> Tensor:
    """Synchronous updates s <- sign * sign(W s + b) from ``cues`` (P, N) until a fixed point
    (or ``max_steps``); returns the final states (P, N)."""
    state = cues.clone()
    for _ in range(max_steps):
        new = torch.where(state @ weights.T + bias >= 0, 1.0, -1.0)
        if sign is not None:
            new = new * sign
        if torch.equal(new, state):
            break
        state = new
    return state


def recalled(states: Tensor, patterns: Tensor) -> Tensor:
    """(P,) bool: cosine similarity of each final state and its pattern >= 0.95."""
    cosine = (states * patterns).sum(1) / patterns.shape[1]
    return cosine >= SUCCESS_COSINE


def memory_layer(neurons: int, bins: int, generator: torch.Generator | None = None,
                 device=None, goal: Mapping[str, float] | None = None) -> InfomorphicLayer:
    """The infomorphic memory layer: sources E (diagonal) and I (recurrent), goal Pi{E}{I}
    (or ``goal``, by atom label over E and I)."""
    return InfomorphicLayer({"E": neurons, "I": neurons}, neurons, "memory",
                            goal or GOALS["memory-redundancy"], Binning("maxnorm", bins),
                            diagonal=("E",), recurrent="I", generator=generator, device=device)


def recall_weights(layer: InfomorphicLayer) -> tuple[Tensor, Tensor, Tensor]:
    """(W, b, sign) of a memory layer's recall dynamics with no external input: W the masked
    recurrent weights, b both biases, sign the sign of each neuron's diagonal weight."""
    e, i = layer.maps["E"], layer.maps["I"]
    w = (i.weight * layer.lateral_mask).detach()
    bias = (i.bias + e.bias).detach()
    sign = torch.where(e.weight.diagonal() >= 0, 1.0, -1.0).detach()
    return w, bias, sign


def memory_step(layer: InfomorphicLayer, optimizer: torch.optim.Optimizer, patterns: Tensor,
                state: Tensor) -> tuple[float, Tensor, Tensor]:
    """One Adam step on -sum of the neurons' Pi{E}{I} (bits); returns (loss, sources, theta)."""
    sources, theta = layer({"E": patterns, "I": state})
    loss = -layer.goal_value(sources, theta).sum()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(loss.detach()), sources.detach(), theta.detach()


def recall_rate(weights: Tensor, bias: Tensor, sign: Tensor | None, patterns: Tensor,
                cue_noise: float, generator: torch.Generator, max_steps: int = 100) -> float:
    """Fraction of the patterns recalled from cues with ``cue_noise`` of their bits flipped."""
    cues = flip(patterns, cue_noise, generator) if cue_noise else patterns
    states = iterate(weights, bias, cues, sign, max_steps)
    return float(recalled(states, patterns).float().mean())


def store(rule: str, task: MemoryTask, seed: int,
          on_epoch: Callable[[int, float], None] | None = None) -> float:
    """Store ``task.patterns`` random patterns with ``rule`` and return the recalled fraction
    from noisy cues."""
    generator = torch.Generator().manual_seed(seed)
    patterns = random_patterns(task.patterns, task.neurons, generator)
    if rule == "memory-hebbian":
        weights = hebbian_weights(patterns)
        return recall_rate(weights, torch.zeros(task.neurons), None, patterns, task.cue_noise,
                           generator, task.max_steps)
    torch.manual_seed(seed)  # the layer's default PyTorch init
    layer = memory_layer(task.neurons, task.bins, generator)
    optimizer = torch.optim.Adam(layer.parameters(), lr=task.lr)
    for epoch in range(task.epochs):
        state = flip(patterns, task.train_noise, generator) if task.train_noise else patterns
        loss, _, _ = memory_step(layer, optimizer, patterns, state)
        if on_epoch:
            on_epoch(epoch, loss)
    return recall_rate(*recall_weights(layer), patterns, task.cue_noise, generator,
                       task.max_steps)


def capacity_curve(rule: str, loads: Sequence[float], task: MemoryTask,
                   seeds: Sequence[int] = (0, 1, 2)) -> pd.DataFrame:
    """Recalled fraction at each load (mean over seeds): columns load, patterns, recalled."""
    rows = []
    for load in loads:
        one = MemoryTask(**{**task.__dict__, "load": float(load)})
        rates = [store(rule, one, seed) for seed in seeds]
        rows.append({"rule": rule, "load": float(load), "patterns": one.patterns,
                     "recalled": float(np.mean(rates))})
    return pd.DataFrame(rows)


def capacity(curve: pd.DataFrame, level: float = 0.9) -> float:
    """Patterns per neuron at which the recalled fraction first falls below ``level``
    (linear interpolation between sweep loads; the last load if it never does)."""
    loads, rates = curve.load.to_numpy(), curve.recalled.to_numpy()
    for k in range(len(loads)):
        if rates[k] < level:
            if k == 0:
                return float(loads[0])
            x0, x1, y0, y1 = loads[k - 1], loads[k], rates[k - 1], rates[k]
            return float(x0 + (y0 - level) * (x1 - x0) / (y0 - y1))
    return float(loads[-1])
