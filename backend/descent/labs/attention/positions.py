"""Positional encodings as modules (positional.py is their registry, by name): each adds to
the token embeddings (``embed``) and/or rotates queries and keys inside every attention
layer (``rotate``)."""

from __future__ import annotations

import math

import torch
from torch import nn


class Positional(nn.Module):
    """No position information; the base of the others (identity on both hooks)."""

    def embed(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, d_model)
        return x

    def rotate(self, q: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return q, k

    def init_weights(self, generator: torch.Generator) -> None:
        """Draw the initial values of any trained parameters (none here)."""


class Sinusoidal(Positional):
    def __init__(self, d_model: int, max_len: int) -> None:
        super().__init__()
        pos = torch.arange(max_len, dtype=torch.float32)[:, None]
        freq = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
        table = torch.zeros(max_len, d_model)
        table[:, 0::2] = torch.sin(pos * freq)
        table[:, 1::2] = torch.cos(pos * freq[: d_model // 2])
        self.table: torch.Tensor
        self.register_buffer("table", table, persistent=False)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.table[: x.shape[1]]


class Learned(Positional):
    def __init__(self, d_model: int, max_len: int) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.empty(max_len, d_model))  # drawn by init_weights

    def init_weights(self, generator: torch.Generator) -> None:
        with torch.no_grad():
            self.table.copy_(torch.randn(self.table.shape, generator=generator) * 0.1)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.table[: x.shape[1]]


class Rotary(Positional):
    """Rotate each (i, i + d/2) pair of a head's query and key by angle pos * theta_i, so their
    dot product depends on the relative position only."""

    def __init__(self, d_head: int, max_len: int) -> None:
        super().__init__()
        half = d_head // 2
        theta = 10000.0 ** (-torch.arange(half, dtype=torch.float32) / half)
        angle = torch.arange(max_len, dtype=torch.float32)[:, None] * theta  # (max_len, d_head/2)
        self.cos: torch.Tensor
        self.sin: torch.Tensor
        self.register_buffer("cos", angle.cos(), persistent=False)
        self.register_buffer("sin", angle.sin(), persistent=False)

    def _apply_rotation(self, x: torch.Tensor) -> torch.Tensor:  # (B, H, T, d_head)
        t, half = x.shape[2], x.shape[3] // 2
        cos, sin = self.cos[:t], self.sin[:t]
        a, b = x[..., :half], x[..., half:]
        return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)

    def rotate(self, q: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self._apply_rotation(q), self._apply_rotation(k)
