"""Activation functions of infomorphic neurons (SCIENCE.md section 1): pure functions and a
registry. Each maps the aggregated source inputs to theta = P(Y = +1)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import Tensor

from inspector.errors import InfomorphError, choose_one


def bivariate(r: Tensor, c: Tensor, k1: float = 0.5, k2: float = 2.0) -> Tensor:
    """theta = sigma(r * [k1 + (1 - k1) * 2 sigma(k2 r c)]). Shapes: (..., neuron).

    k1 = 1 gives theta = sigma(r): the context enters the goal only, never the output.
    """
    return torch.sigmoid(r * (k1 + (1 - k1) * 2 * torch.sigmoid(k2 * r * c)))


def trivariate(f: Tensor, c: Tensor, l: Tensor, c1: float = 0.1, c2: float = 0.1) -> Tensor:  # noqa: E741
    """theta = sigma(f * [(1 - c1 - c2) + c1 sigma(2 f c) + c2 sigma(2 f l)])."""
    gain = (1 - c1 - c2) + c1 * torch.sigmoid(2 * f * c) + c2 * torch.sigmoid(2 * f * l)
    return torch.sigmoid(f * gain)


def logistic(f: Tensor) -> Tensor:
    """theta = sigma(f): a plain stochastic unit (random projections, backprop baseline)."""
    return torch.sigmoid(f)


def memory(e: Tensor, i: Tensor, beta: float = 1.0) -> Tensor:
    """Associative memory: theta = sigma(beta * (e + i))."""
    return torch.sigmoid(beta * (e + i))


ACTIVATIONS: Mapping[str, tuple[Callable[..., Tensor], int, dict[str, float]]] = {
    "bivariate": (bivariate, 2, {"k1": 0.5, "k2": 2.0}),
    "trivariate": (trivariate, 3, {"c1": 0.1, "c2": 0.1}),
    "memory": (memory, 2, {"beta": 1.0}),
    "logistic": (logistic, 1, {}),
}


def activation(name: str, params: Mapping[str, float] | None = None):
    """(function, number of sources, resolved constants) of a registered activation."""
    if name not in ACTIVATIONS:
        raise choose_one("activation", name, ACTIVATIONS)
    fn, n_sources, defaults = ACTIVATIONS[name]
    params = dict(params or {})
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise InfomorphError(
            f"Unknown constant {unknown[0]!r} of activation {name!r}; choose one of: "
            f"{', '.join(defaults)}."
        )
    return fn, n_sources, {**defaults, **{k: float(v) for k, v in params.items()}}
