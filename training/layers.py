"""Infomorphic layers: one linear map per source class, an activation function, binary
stochastic outputs, and a local PID goal as the loss (computed by the one PID engine)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from inspector.errors import InfomorphError
from inspector.pid import Binning, goal_from_samples, lattice, pid_from_samples
from training.activations import activation
from training.goals import goal_vector

LATERAL = "L"


class InfomorphicLayer(nn.Module):
    """A layer of N infomorphic neurons.

    Args:
        inputs: source name -> input size, in source order (e.g. F: 784, C: 10, L: N). The
            lateral source "L" reads the layer's own previous binary outputs, without
            self-connections; ``lateral_partners`` keeps only k random partners per neuron.
        neurons: N.
        activation: a registered activation ("trivariate", "bivariate", "logistic", ...)
            taking the sources in this order, with ``activation_params``.
        goal: atom label -> gamma (and "H_res"), over the source names; None: no local
            goal (a frozen random projection, or a layer of the backprop baseline).
        trainable: whether the maps learn; None: when there is a goal. The backprop
            baseline's layers learn without one (from the readout's cross-entropy).
        binning: how the loss bins the sources (paper (b): fixed [-20, 20] for trivariate,
            maxnorm for bivariate layers; 20 bins).
        fixed_identity: sources passed through unchanged (the readout's label context).
        diagonal: sources whose map is elementwise (input k reaches neuron k only, through a
            trainable weight): the external pattern input E of the associative memory.
        recurrent: the name of the source that reads the layer's own previous outputs
            without self-connections ("L", or "I" in the associative memory).

    Shape: ``forward(inputs)`` takes (batch, in_features) per source and returns sources
    (batch, neuron, source) and theta (batch, neuron) = P(Y = +1).
    """

    def __init__(
        self,
        inputs: Mapping[str, int],
        neurons: int,
        activation_name: str,
        goal: Mapping[str, float] | None,
        binning: Binning,
        *,
        activation_params: Mapping[str, float] | None = None,
        lateral_partners: int | None = None,
        fixed_identity: Sequence[str] = (),
        diagonal: Sequence[str] = (),
        recurrent: str = LATERAL,
        deterministic: bool = False,
        trainable: bool | None = None,
        generator: torch.Generator | None = None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.source_names = list(inputs)
        self.neurons = int(neurons)
        self.activation_name = activation_name
        self.fn, n_sources, self.activation_params = activation(activation_name, activation_params)
        if n_sources != len(self.source_names):
            raise InfomorphError(
                f"activation {activation_name!r} takes {n_sources} sources, got "
                f"{len(self.source_names)}: {', '.join(self.source_names)}"
            )
        self.binning = binning
        self.deterministic = bool(deterministic)
        self.goal = dict(goal) if goal is not None else None
        self.fixed_identity = tuple(fixed_identity)
        for name in self.fixed_identity:
            if inputs[name] != neurons:
                raise InfomorphError(f"identity source {name} needs {neurons} inputs")
        self.maps = nn.ModuleDict(
            {
                name: nn.Linear(size, neurons, device=device, dtype=dtype)
                for name, size in inputs.items()
                if name not in self.fixed_identity
            }
        )
        self.recurrent = recurrent
        self.diagonal = tuple(diagonal)
        for name in self.diagonal:
            if inputs[name] != neurons:
                raise InfomorphError(f"diagonal source {name} needs {neurons} inputs")
        if self.diagonal:
            self.register_buffer("diagonal_mask", torch.eye(neurons, device=device, dtype=dtype))
        if recurrent in inputs:
            mask = 1.0 - torch.eye(neurons, device=device, dtype=dtype)
            if lateral_partners is not None and lateral_partners < neurons - 1:
                scores = torch.rand(neurons, neurons, generator=generator).to(device)
                scores.fill_diagonal_(-1.0)
                keep = scores.topk(lateral_partners, dim=1).indices
                mask = torch.zeros_like(mask).scatter_(1, keep, 1.0)
            self.register_buffer("lateral_mask", mask)
        else:
            self.lateral_mask = None
        with torch.no_grad():
            # Masked weights never act (forward multiplies by the mask) and so never get a
            # gradient; zeroing them once makes the stored parameters the effective ones.
            for name in self.maps:
                if name == recurrent and self.lateral_mask is not None:
                    self.maps[name].weight.mul_(self.lateral_mask)
                elif name in self.diagonal:
                    self.maps[name].weight.mul_(self.diagonal_mask)
        if self.goal is not None:
            gamma, residual = goal_vector(self.goal, self.source_names)
            self.register_buffer(
                "gamma", torch.tensor(gamma, device=device, dtype=dtype or torch.float32)
            )
            self.residual_weight = residual
        if not (trainable if trainable is not None else self.goal is not None):
            self.requires_grad_(False)

    @property
    def atom_labels(self) -> list[str]:
        return lattice(len(self.source_names)).labels(self.source_names)

    def extra_repr(self) -> str:
        return (
            f"sources={','.join(self.source_names)}, neurons={self.neurons}, "
            f"activation={self.activation_name}, goal={self.goal}"
        )

    def forward(self, inputs: Mapping[str, Tensor]) -> tuple[Tensor, Tensor]:
        """Sources (batch, neuron, source) and theta = P(Y = +1) (batch, neuron)."""
        return self.activate(self.source_values(inputs))

    def output(self, theta: Tensor, generator: torch.Generator | None = None,
               surrogate: bool = False) -> Tensor:
        """What the layer passes on: Y in {-1, +1} sampled with P(+1) = theta, or with
        ``deterministic`` the threshold unit, +1 where theta > 0.5. Detached, unless
        ``surrogate`` (the backprop baseline): then dY/dtheta = 2, the slope of E[Y] = 2 theta
        - 1, so that with theta = sigma(x) the gradient is the sigmoid surrogate 2 sigma'(x)."""
        if self.deterministic:
            return torch.where(theta.detach() > 0.5, 1.0, -1.0).to(theta.dtype)
        y = sample_binary(theta, generator)
        return y + 2 * (theta - theta.detach()) if surrogate else y

    def source_values(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """Each of this layer's sources among ``inputs`` through its map: source name ->
        (batch, neuron); other inputs are ignored. Sources whose input does not change can be
        computed once and reused (the lateral steps)."""
        values = {}
        for name in self.source_names:
            if name not in inputs:
                continue
            x = inputs[name]
            if name in self.fixed_identity:
                values[name] = x
            elif name == self.recurrent or name in self.diagonal:
                m = self.maps[name]
                mask = self.lateral_mask if name == self.recurrent else self.diagonal_mask
                values[name] = nn.functional.linear(x, m.weight * mask, m.bias)
            else:
                values[name] = self.maps[name](x)
        return values

    def activate(self, values: Mapping[str, Tensor], stack: bool = True
                 ) -> tuple[Tensor | None, Tensor]:
        """Sources (batch, neuron, source) and theta from every source's value; without
        ``stack`` the sources are not gathered (None): a lateral step that only samples."""
        ordered = [values[name] for name in self.source_names]
        theta = self.fn(*ordered, **self.activation_params)
        return (torch.stack(ordered, -1) if stack else None), theta

    def _codes_and_target(self, sources: Tensor, theta: Tensor):
        codes = self.binning.codes(sources.detach().transpose(0, 1))  # (neuron, batch, source)
        theta = theta.transpose(0, 1)
        return (
            codes,
            torch.stack([1 - theta, theta], -1),
            [self.binning.bins] * len(self.source_names),
        )

    def goal_value(self, sources: Tensor, theta: Tensor, reduction: str = "none") -> Tensor:
        """Per-neuron goal (neuron,) in bits on this batch, or with ``reduction="sum"`` the
        layer's total (a scalar: cheaper, what its loss needs); differentiable through theta."""
        codes, q, bins = self._codes_and_target(sources, theta)
        return goal_from_samples(codes, q, bins, self.gamma.to(q.dtype), self.residual_weight,
                                 reduction)

    def logged(self, sources: Tensor, theta: Tensor) -> tuple[Tensor, Tensor | None]:
        """What a checkpoint records of this batch, from one float64 decomposition: all atoms
        (neuron, atom) and the goal (neuron,) in bits (None for a frozen layer)."""
        with torch.no_grad():
            codes, q, bins = self._codes_and_target(sources, theta)
            # no worker threads: they would slow every later step (pid_from_samples)
            terms = pid_from_samples(codes, q.double(), bins, threads=False)
            goal = None
            if self.goal is not None:
                goal = terms.atoms @ self.gamma.double() + (
                    self.residual_weight * terms.residual_entropy)
            return terms.atoms.float(), None if goal is None else goal.float()


def sample_binary(theta: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Y in {-1, +1} with P(Y = +1) = theta, detached: no gradient crosses layers."""
    u = torch.rand(theta.shape, generator=generator, device=theta.device, dtype=theta.dtype)
    return torch.where(u < theta.detach(), 1.0, -1.0).to(theta.dtype)
