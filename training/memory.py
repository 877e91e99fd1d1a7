"""Associative memory (paper (c)): store P random +-1 patterns in N neurons, recall them by
iterating to a fixed point, and sweep the load P/N to find the capacity.

Two ways to store patterns:
- ``memory``: an infomorphic layer of N neurons, theta = sigma(beta (e + i)), where e is the
  neuron's own pattern bit through a fixed diagonal weight ``external_scale`` (source E) and
  i the recurrent input from the other neurons (source I, no self-connections, no biases;
  initial weights PyTorch's default times ``internal_scale``); the goal is the redundancy
  Pi{E}{I} on fixed bins over [-20, 20], learned with Adam on the patterns (the recurrent
  state during learning is the pattern, optionally with a fraction ``train_noise`` of its
  bits flipped). These are the settings of paper (c)'s published code (external weight 2.3,
  frozen; internal weights scaled by 0.001; 60 fixed bins on [-20, 20]; no biases): with a
  trainable diagonal and biases, the capacity measured here stays below 0.6.
- ``memory-hebbian``: the classical Hopfield network, W = (1/N) sum_mu xi^mu xi^mu^T, zero
  diagonal, no training.

Recall: update all neurons at once, s <- sign(W s + b), until nothing changes (at most
``max_steps``), without external input. Two measures:
- ``recall_cosine`` (paper (c)'s): start from each stored pattern itself; the mean cosine
  similarity of the fixed point and the pattern. The capacity is the load at which it first
  falls below 0.95: how many patterns the network holds as (near-)fixed points.
- ``recalled``: start from cues with a fraction ``cue_noise`` of the bits flipped; the share of
  patterns whose fixed point has cosine >= 0.95 with the pattern. Its capacity (the load at
  which it first falls below 90 %) also asks for a basin of attraction around each pattern.
An information goal cannot tell a neuron from its inverted copy, so an infomorphic neuron
whose diagonal weight is negative has its output sign flipped when read in pattern space (the
sign correction of SCIENCE.md section 5, applied per neuron). Capacities are linearly
interpolated between the loads of a sweep, in patterns per neuron.
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
from training.presets import MEMORY_EXTERNAL_SCALE, MEMORY_INTERNAL_SCALE

SUCCESS_COSINE = 0.95
RULES = ("memory", "memory-hebbian")
EXTERNAL_SCALE, INTERNAL_SCALE = MEMORY_EXTERNAL_SCALE, MEMORY_INTERNAL_SCALE
VALUE_RANGE = (-20.0, 20.0)
"""The fixed binning range of paper (c)'s published settings."""
CAPACITY_LEVELS = {"recall_cosine": SUCCESS_COSINE, "recalled": 0.9}
"""Each measure's capacity: the load at which it first falls below this level."""


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
    external_scale: float = EXTERNAL_SCALE
    internal_scale: float = INTERNAL_SCALE

    def __post_init__(self) -> None:
        for name, low in (("neurons", 2), ("epochs", 1), ("bins", 2), ("max_steps", 1)):
            if getattr(self, name) < low:
                raise InfomorphError(f"{name} must be >= {low}, got {getattr(self, name)}")
        if not self.load > 0:
            raise InfomorphError(f"load must be > 0, got {self.load}")
        for name in ("lr", "external_scale", "internal_scale"):
            if not getattr(self, name) > 0:
                raise InfomorphError(f"{name} must be > 0, got {getattr(self, name)}")
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


def cosines(states: Tensor, patterns: Tensor) -> Tensor:
    """(P,) cosine similarity of each final state and its pattern (both +-1)."""
    return (states * patterns).sum(1) / patterns.shape[1]


def recalled(states: Tensor, patterns: Tensor) -> Tensor:
    """(P,) bool: cosine similarity of each final state and its pattern >= 0.95."""
    return cosines(states, patterns) >= SUCCESS_COSINE


def memory_layer(neurons: int, bins: int, generator: torch.Generator | None = None,
                 device=None, goal: Mapping[str, float] | None = None,
                 external_scale: float = EXTERNAL_SCALE,
                 internal_scale: float = INTERNAL_SCALE) -> InfomorphicLayer:
    """The infomorphic memory layer: sources E (a fixed diagonal ``external_scale``) and I
    (recurrent, initial weights times ``internal_scale``), no biases (kept at zero, frozen),
    goal Pi{E}{I} (or ``goal``, by atom label over E and I) on fixed bins over [-20, 20]."""
    layer = InfomorphicLayer({"E": neurons, "I": neurons}, neurons, "memory",
                             goal or GOALS["memory-redundancy"],
                             Binning("fixed", bins, VALUE_RANGE), diagonal=("E",),
                             recurrent="I", generator=generator, device=device)
    e, i = layer.maps["E"], layer.maps["I"]
    with torch.no_grad():
        e.weight.copy_(torch.eye(neurons, device=e.weight.device) * external_scale)
        i.weight.mul_(internal_scale)
        e.bias.zero_()
        i.bias.zero_()
    for fixed in (e.weight, e.bias, i.bias):
        fixed.requires_grad_(False)
    return layer


def recall_weights(layer: InfomorphicLayer) -> tuple[Tensor, Tensor, Tensor]:
    """(W, b, sign) of a memory layer's recall dynamics with no external input: W the masked
    recurrent weights, b both biases, sign the sign of each neuron's diagonal weight."""
    e, i = layer.maps["E"], layer.maps["I"]
    w = (i.weight * layer.lateral_mask).detach()
    bias = (i.bias + e.bias).detach()
    sign = torch.where(e.weight.diagonal() >= 0, 1.0, -1.0).detach()
    return w, bias, sign


def memory_optimizer(layer: InfomorphicLayer, lr: float) -> torch.optim.Adam:
    """Adam on the layer's trainable weights (the recurrent ones)."""
    return torch.optim.Adam([p for p in layer.parameters() if p.requires_grad], lr=lr)


def memory_step(layer: InfomorphicLayer, optimizer: torch.optim.Optimizer, patterns: Tensor,
                state: Tensor) -> tuple[float, Tensor, Tensor]:
    """One Adam step on -sum of the neurons' Pi{E}{I} (bits); returns (loss, sources, theta)."""
    sources, theta = layer({"E": patterns, "I": state})
    loss = -layer.goal_value(sources, theta, "sum")
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


def recall_cosine(weights: Tensor, bias: Tensor, sign: Tensor | None, patterns: Tensor,
                  max_steps: int = 100) -> float:
    """Mean cosine similarity of each pattern and the fixed point reached from it (paper
    (c)'s measure of storage)."""
    return float(cosines(iterate(weights, bias, patterns, sign, max_steps), patterns).mean())


def store(rule: str, task: MemoryTask, seed: int,
          on_epoch: Callable[[int, float], None] | None = None) -> dict[str, float]:
    """Store ``task.patterns`` random patterns with ``rule``; returns both measures of
    recall: ``recall_cosine`` (from the patterns) and ``recalled`` (from noisy cues)."""
    generator = torch.Generator().manual_seed(seed)
    patterns = random_patterns(task.patterns, task.neurons, generator)
    if rule == "memory-hebbian":
        dynamics = hebbian_weights(patterns), torch.zeros(task.neurons), None
    else:
        torch.manual_seed(seed)  # the layer's default PyTorch init
        layer = memory_layer(task.neurons, task.bins, generator,
                             external_scale=task.external_scale,
                             internal_scale=task.internal_scale)
        optimizer = memory_optimizer(layer, task.lr)
        for epoch in range(task.epochs):
            state = flip(patterns, task.train_noise, generator) if task.train_noise else patterns
            loss, _, _ = memory_step(layer, optimizer, patterns, state)
            if on_epoch:
                on_epoch(epoch, loss)
        dynamics = recall_weights(layer)
    return {"recall_cosine": recall_cosine(*dynamics, patterns, task.max_steps),
            "recalled": recall_rate(*dynamics, patterns, task.cue_noise, generator,
                                    task.max_steps)}


def capacity_curve(rule: str, loads: Sequence[float], task: MemoryTask,
                   seeds: Sequence[int] = (0, 1, 2)) -> pd.DataFrame:
    """Both recall measures at each load (means over seeds): columns rule, load, patterns,
    recall_cosine, recalled."""
    rows = []
    for load in loads:
        one = MemoryTask(**{**task.__dict__, "load": float(load)})
        runs = pd.DataFrame([store(rule, one, seed) for seed in seeds])
        rows.append({"rule": rule, "load": float(load), "patterns": one.patterns,
                     **runs.mean().to_dict()})
    return pd.DataFrame(rows)


def capacity(curve: pd.DataFrame, measure: str = "recalled", level: float | None = None) -> float:
    """Patterns per neuron at which ``measure`` (a column of :func:`capacity_curve`) first
    falls below ``level`` (default ``CAPACITY_LEVELS[measure]``; linear interpolation
    between sweep loads). Outside the sweep: NaN when it is below the level at the first
    load already, the last load when it never falls (:func:`capacity_text` says which)."""
    level = CAPACITY_LEVELS[measure] if level is None else level
    loads, rates = curve.load.to_numpy(), curve[measure].to_numpy()
    for k in range(len(loads)):
        if rates[k] < level:
            if k == 0:
                return float("nan")
            x0, x1, y0, y1 = loads[k - 1], loads[k], rates[k - 1], rates[k]
            return float(x0 + (y0 - level) * (x1 - x0) / (y0 - y1))
    return float(loads[-1])


def capacity_text(curve: pd.DataFrame, measure: str) -> str:
    """The capacity as printed: "1.425", or "< 0.2" / ">= 2" outside the sweep's loads."""
    value = capacity(curve, measure)
    level = CAPACITY_LEVELS[measure]
    if np.isnan(value):
        return f"< {curve.load.iloc[0]:g}"
    if curve[measure].iloc[-1] >= level:
        return f">= {curve.load.iloc[-1]:g}"
    return f"{value:.3f}"
