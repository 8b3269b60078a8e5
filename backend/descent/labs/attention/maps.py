"""Attention maps on the wire: weights in [0, 1] as bytes, and how spread each head's rows are."""

from __future__ import annotations

import numpy as np
import torch

from descent.encoding import b64


def to_bytes(weights: torch.Tensor) -> np.ndarray:
    """Weights in [0, 1] -> uint8 (byte b = weight b / 255); NaN (a diverged run) -> 0."""
    return (torch.nan_to_num(weights, nan=0.0).clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()


def encode_weights(weights: torch.Tensor | np.ndarray) -> str:
    """Weights in [0, 1] (or their bytes) -> base64 of uint8, C order."""
    data = weights if isinstance(weights, np.ndarray) else to_bytes(weights)
    return b64(data)


def head_entropy(maps: torch.Tensor) -> torch.Tensor:
    """Mean entropy (nats) of each head's attention rows. (L, B, H, T, T) -> (L, H)."""
    plogp = torch.where(maps > 0, maps * maps.clamp_min(1e-30).log(), torch.zeros_like(maps))
    return -plogp.sum(-1).mean(dim=(1, 3))
