"""Networks: infomorphic hidden layers + an infomorphic readout; trained by local goals, or
end to end (the backprop baseline, same architecture)."""

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


def one_hot(y: Tensor, classes: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """Labels (batch,) as the one-hot label context (batch, classes)."""
    return nn.functional.one_hot(y, classes).to(dtype)


class InfomorphicNetwork(nn.Module):
    """Hidden infomorphic layers, each learning from its own local goal, and a readout.

    The label context enters as a one-hot vector (C); at test time it is replaced by zeros.
    Layers with a lateral source run ``lateral_steps`` recurrent steps from a zero state and
    learn on the last. Hidden layers pass on sampled, detached outputs (threshold units for a
    layer built ``deterministic``).

    ``end_to_end`` makes the same network the backprop baseline of paper (b) (its
    `GlobalBackpropModel`): the sampled outputs carry a sigmoid surrogate gradient, every
    lateral step is differentiated, and the loss is the cross-entropy of the readout's
    feedforward values (its logits: with k1 = 1, theta = sigma(logit)); see ``loss``.
    """

    def __init__(
        self, hidden: list[InfomorphicLayer], readout: InfomorphicLayer, lateral_steps: int = 2,
        feedback: bool = False, end_to_end: bool = False,
    ) -> None:
        super().__init__()
        self.hidden = nn.ModuleList(hidden)
        self.readout = readout
        self.lateral_steps = lateral_steps
        self.feedback = feedback
        self.end_to_end = end_to_end

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
                    # A local goal learns on the last step only; the earlier ones only sample
                    # a lateral state. Backprop differentiates through every step.
                    last = step == self.lateral_steps - 1
                    with torch.set_grad_enabled(torch.is_grad_enabled()
                                                and (self.end_to_end or last)):
                        values = {**fixed, **layer.source_values({LATERAL: y_prev})}
                        sources, theta = layer.activate(values, stack=last)
                        y_prev = layer.output(theta, generator, self.end_to_end)
                output = y_prev
            else:
                sources, theta = layer(inputs)
                output = layer.output(theta, generator, self.end_to_end)
            passes[name] = LayerPass(sources, theta, output)
            h = output
        return passes

    def loss(self, x: Tensor, y: Tensor, generator=None) -> tuple[Tensor, dict[str, LayerPass]]:
        """The training loss on a batch (inputs x (batch, features), labels y (batch,)) and
        every layer's pass: minus the sum of the local goals of the layers that have one
        (bits), or end to end the readout's cross-entropy (nats, mean over the batch)."""
        passes = self.run(x, one_hot(y, self.readout.neurons, x.dtype), generator)
        if self.end_to_end:
            logits = passes["readout"].sources[..., 0]
            return nn.functional.cross_entropy(logits, y), passes
        loss = torch.zeros((), device=x.device)
        for name, layer in self.layers().items():
            if layer.goal is not None:
                loss = loss - layer.goal_value(passes[name].sources, passes[name].theta, "sum")
        return loss, passes

    @torch.no_grad()
    def predict(self, x: Tensor, generator=None, passes: int = 1) -> Tensor:
        """Class predictions with the label context zeroed and the sign correction of
        SCIENCE.md section 5 (readout neurons firing on average >= 0.5 are flipped; not for
        the backprop baseline, whose cross-entropy fixes each neuron's sign); with ``passes``
        > 1 the readout's theta is averaged over that many stochastic passes."""
        context = torch.zeros(x.shape[0], self.readout.neurons, device=x.device, dtype=x.dtype)
        theta = sum(self.run(x, context, generator)["readout"].theta
                    for _ in range(passes)) / passes
        if self.end_to_end:
            return theta.argmax(1)
        flip = theta.mean(0) >= 0.5
        return torch.where(flip, 1 - theta, theta).argmax(1)
