"""The network a block list builds (see blocks.py): one module per block, the output layer last."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from descent.labs.cnn.blocks import Layer, plan
from descent.labs.cnn.datasets import DATASETS
from descent.nn.activations import ACTIVATIONS
from descent.nn.initializers import INITIALIZERS, InitParams

if TYPE_CHECKING:
    from descent.labs.cnn.schema import Config


def layers_of(config: Config) -> list[Layer]:
    """The planned layers (shapes, formulas, receptive fields) of a config's network."""
    data = DATASETS[config.dataset]
    return plan(config.blocks, data.size, len(data.classes))


def default_init(layer: nn.Module, generator: torch.Generator) -> nn.Module:
    """PyTorch's own init of a conv or linear layer, drawn from ``generator``: weights
    kaiming_uniform(a=sqrt(5)), bias U(±1/sqrt(fan_in)), fan_in = C_in·K·K for a conv."""
    weight: Any = layer.weight
    nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
    fan_in = weight[0].numel()
    nn.init.uniform_(layer.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in), generator=generator)  # type: ignore[arg-type]
    return layer


def _fill(layer: nn.Module, hp: InitParams, generator: torch.Generator) -> nn.Module:
    """Initialise a conv or linear layer from the run's own generator: 'default' is PyTorch's
    own init (default_init); the others come from the shared registry."""
    if hp.init == "default":
        return default_init(layer, generator)
    INITIALIZERS[hp.init].fn(layer, hp, generator)
    return layer


def conv(c_in: int, c_out: int, k: int, s: int, p: int, hp: InitParams, g: torch.Generator) -> nn.Conv2d:
    # skip_init: the constructor would first draw its own init from torch's global generator
    return _fill(nn.utils.skip_init(nn.Conv2d, c_in, c_out, k, stride=s, padding=p), hp, g)  # type: ignore[return-value]


class Residual(nn.Module):
    """act(x + conv(act(conv(x)))): two 3x3 convolutions that keep the size and the channels."""

    def __init__(self, channels: int, activation: str, hp: InitParams, g: torch.Generator) -> None:
        super().__init__()
        self.conv1 = conv(channels, channels, 3, 1, 1, hp, g)
        self.conv2 = conv(channels, channels, 3, 1, 1, hp, g)
        self.act = ACTIVATIONS[activation].fn()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.conv2(self.act(self.conv1(x))))


def block_module(layer: Layer, activation: str, hp: InitParams, g: torch.Generator) -> nn.Module:
    b, shape = layer.block, layer.shape_in
    if b.kind == "conv":
        return conv(shape[0], b.channels, b.kernel, b.stride, b.padding, hp, g)
    if b.kind == "dense":
        return _fill(nn.utils.skip_init(nn.Linear, shape[0], b.channels), hp, g)
    if b.kind == "res":
        return Residual(shape[0], activation, hp, g)
    if b.kind == "bn":
        return nn.BatchNorm2d(shape[0]) if len(shape) == 3 else nn.BatchNorm1d(shape[0])
    if b.kind == "max":
        return nn.MaxPool2d(b.kernel, b.stride)
    if b.kind == "avg":
        return nn.AvgPool2d(b.kernel, b.stride)
    if b.kind == "gap":
        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    if b.kind == "flatten":
        return nn.Flatten()
    return ACTIVATIONS[activation].fn()


class Network(nn.Module):
    """The layers of a plan, in order; ``forward(x, keep=True)`` also returns every block's output."""

    def __init__(self, layers: list[Layer], activation: str, hp: InitParams, generator: torch.Generator) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(block_module(layer, activation, hp, generator) for layer in layers)

    def forward(self, x: torch.Tensor, keep: bool = False) -> tuple[torch.Tensor, list[torch.Tensor]]:
        outputs = []
        for block in self.blocks:
            x = block(x)
            if keep:
                outputs.append(x)
        return x, outputs

    def first_filters(self, i: int) -> torch.Tensor | None:
        """The weights (C_out, C_in, K, K) a layer shows as filters: a conv's, a residual block's first conv's."""
        block = self.blocks[i]
        if isinstance(block, nn.Conv2d):
            return block.weight
        if isinstance(block, Residual):
            return block.conv1.weight
        return None
