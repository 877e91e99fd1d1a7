"""Networks: infomorphic hidden layers + an infomorphic readout, and the backprop baseline."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from training.layers import LATERAL, InfomorphicLayer


@dataclass
class LayerPass:
    """What one layer did on a batch: sources (batch, neuron, source), theta, sampled y."""

    sources: Tensor
    theta: Tensor
    output: Tensor


class InfomorphicNetwork(nn.Module):
    """Hidden infomorphic layers, each learning from its own local goal, and a readout.

    The label context enters as a one-hot vector (C); at test time it is replaced by zeros.
    Layers with a lateral source run ``lateral_steps`` recurrent steps from a zero state and
    learn on the last. Hidden layers pass on sampled, detached outputs (threshold units for a
    layer built ``deterministic``).
    """

    def __init__(
        self, hidden: list[InfomorphicLayer], readout: InfomorphicLayer, lateral_steps: int = 2,
        feedback: bool = False,
    ) -> None:
        super().__init__()
        self.hidden = nn.ModuleList(hidden)
        self.readout = readout
        self.lateral_steps = lateral_steps
        self.feedback = feedback

    def layers(self) -> dict[str, InfomorphicLayer]:
        names = [
            f"hidden{i + 1}" if len(self.hidden) > 1 else "hidden" for i in range(len(self.hidden))
        ]
        return {**dict(zip(names, self.hidden, strict=True)), "readout": self.readout}

    def run(self, x: Tensor, context: Tensor, generator=None) -> dict[str, LayerPass]:
        """Every layer's pass on a batch; ``context`` (batch, classes) one-hot or zeros.

        With ``feedback``, the hidden layers' context is the readout's sampled output of a
        first pass (whose hidden context is zero) instead of the label; the layers learn on
        the second pass. The readout's own context stays ``context``."""
        if not self.feedback:
            return self._forward(x, context, context, generator)
        with torch.no_grad():
            zeros = torch.zeros_like(context)
            first = self._forward(x, zeros, context, generator)
        return self._forward(x, first["readout"].output, context, generator)

    def _forward(self, x: Tensor, hidden_context: Tensor, readout_context: Tensor,
                 generator=None) -> dict[str, LayerPass]:
        passes = {}
        h = x
        for name, layer in self.layers().items():
            context = readout_context if layer is self.readout else hidden_context
            inputs = {"F": h, "C": context}
            if LATERAL in layer.source_names:
                # The feedforward and context inputs stay fixed over the lateral steps: map
                # them once (the feedforward map is most of a layer's forward cost).
                fixed = layer.source_values(inputs)
                y_prev = torch.zeros(x.shape[0], layer.neurons, device=x.device, dtype=x.dtype)
                for step in range(self.lateral_steps):
                    # Only the last step learns; the earlier ones only sample a lateral state.
                    with torch.set_grad_enabled(torch.is_grad_enabled()
                                                and step == self.lateral_steps - 1):
                        values = {**fixed, **layer.source_values({LATERAL: y_prev})}
                        sources, theta = layer.activate(values)
                    y_prev = layer.output(theta, generator)
                output = y_prev
            else:
                sources, theta = layer(inputs)
                output = layer.output(theta, generator)
            passes[name] = LayerPass(sources, theta, output)
            h = output
        return passes

    @torch.no_grad()
    def predict(self, x: Tensor, generator=None, passes: int = 1) -> Tensor:
        """Class predictions with the label context zeroed and the sign correction of
        SCIENCE.md section 5 (readout neurons firing on average >= 0.5 are flipped); with
        ``passes`` > 1 the readout's theta is averaged over that many stochastic passes."""
        context = torch.zeros(x.shape[0], self.readout.neurons, device=x.device, dtype=x.dtype)
        theta = sum(self.run(x, context, generator)["readout"].theta
                    for _ in range(passes)) / passes
        flip = theta.mean(0) >= 0.5
        return torch.where(flip, 1 - theta, theta).argmax(1)


class _StochasticBinary(torch.autograd.Function):
    """y = +-1 sampled with P(+1) = sigma(a); backward uses d(2 sigma(a) - 1)/da."""

    @staticmethod
    def forward(ctx, logits, noise):
        theta = torch.sigmoid(logits)
        ctx.save_for_backward(theta)
        return torch.where(noise < theta, 1.0, -1.0).to(logits.dtype)

    @staticmethod
    def backward(ctx, grad):
        (theta,) = ctx.saved_tensors
        return grad * 2 * theta * (1 - theta), None


class BackpropNetwork(nn.Module):
    """The reference: same architecture (stochastic binary hidden units, sigmoid surrogate
    gradient), trained end to end with cross-entropy on the readout's logits."""

    def __init__(self, features: int, hidden: int, classes: int, device=None, dtype=None):
        super().__init__()
        self.hidden = nn.Linear(features, hidden, device=device, dtype=dtype)
        self.readout = nn.Linear(hidden, classes, device=device, dtype=dtype)

    def logits(self, x: Tensor, generator=None) -> tuple[Tensor, Tensor, Tensor]:
        pre = self.hidden(x)
        noise = torch.rand(pre.shape, generator=generator, device=x.device, dtype=x.dtype)
        y = _StochasticBinary.apply(pre, noise)
        return self.readout(y), pre, y

    @torch.no_grad()
    def predict(self, x: Tensor, generator=None, passes: int = 1) -> Tensor:
        """Class predictions; with ``passes`` > 1, from logits averaged over stochastic
        passes."""
        return (sum(self.logits(x, generator)[0] for _ in range(passes)) / passes).argmax(1)
