"""Dropout whose masks come from a run's own random stream.

``nn.Dropout`` draws its masks from torch's global generator, which every session in a
worker shares: another session building or training would change this run's masks, and
the same settings would not give the same run. This one draws them from the generator it
is given, with nn.Dropout's formula; it is an nn.Dropout otherwise (eval mode turns it
off, ``p`` can be changed in place, a deep copy takes its own copy of the stream)."""

from __future__ import annotations

import torch
from torch import nn


class Dropout(nn.Dropout):
    """nn.Dropout with its masks drawn from ``generator`` (on the activations' device), so
    a run with the same seeds drops the same units: each unit is kept with probability
    1 - p, and the kept ones are scaled by 1 / (1 - p) (the mean stays the same)."""

    def __init__(self, p: float, generator: torch.Generator) -> None:
        super().__init__(p)
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.empty_like(x).bernoulli_(1 - self.p, generator=self.generator)
        return x * keep.div_(1 - self.p)
