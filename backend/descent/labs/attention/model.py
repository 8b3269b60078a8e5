"""A tiny transformer whose attention weights are computed explicitly, softmax(QK^T / sqrt(d_k)),
so they can be shown (fused attention kernels never materialise them).

Every random draw comes from the run's own generators (``init_rng`` for the initial weights,
in the order the layers are built; ``dropout_rng`` for the dropout masks), never from torch's
global one, which every session of a worker shares."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from descent.labs.attention.positional import POSITIONAL
from descent.nn.dropout import Dropout
from descent.nn.initializers import linear

FFN_ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU}  # the FFN choices the lab offers


# ---- positional encodings (see positional.py for the registry) ---------------------


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
        self.register_buffer("cos", angle.cos(), persistent=False)
        self.register_buffer("sin", angle.sin(), persistent=False)

    def _apply_rotation(self, x: torch.Tensor) -> torch.Tensor:  # (B, H, T, d_head)
        t, half = x.shape[2], x.shape[3] // 2
        cos, sin = self.cos[:t], self.sin[:t]
        a, b = x[..., :half], x[..., half:]
        return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)

    def rotate(self, q: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self._apply_rotation(q), self._apply_rotation(k)


# ---- the transformer ----------------------------------------------------------------


def causal_mask(t: int, device: torch.device | None = None) -> torch.Tensor:
    """(T, T) bool, True where a query may NOT look (keys after it)."""
    return torch.ones(t, t, dtype=torch.bool, device=device).triu(1)


def attention_weights(q: torch.Tensor, k: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """softmax(q k^T / sqrt(d_k)) over the keys, masked keys at weight 0. q, k: (B, H, T, d_k) -> (B, H, T, T)."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    return scores.softmax(dim=-1)


class SelfAttention(nn.Module):
    def __init__(self, d_model: int, heads: int, dropout: float, init_rng: torch.Generator,
                 dropout_rng: torch.Generator) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = linear(d_model, 3 * d_model, init_rng)
        self.out = linear(d_model, d_model, init_rng)
        self.dropout = Dropout(dropout, dropout_rng)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, pos: Positional) -> tuple[torch.Tensor, torch.Tensor]:
        b, t, d = x.shape
        # (B, T, 3d) -> 3 x (B, H, T, d/H)
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k = pos.rotate(q, k)
        weights = attention_weights(q, k, mask)  # (B, H, T, T), rows sum to 1
        mixed = self.dropout(weights) @ v  # (B, H, T, d/H)
        return self.out(mixed.transpose(1, 2).reshape(b, t, d)), weights


class Block(nn.Module):
    def __init__(self, d_model: int, heads: int, ffn: int, activation: str, dropout: float, pre_norm: bool,
                 init_rng: torch.Generator, dropout_rng: torch.Generator) -> None:
        super().__init__()
        self.pre_norm = pre_norm
        self.attn = SelfAttention(d_model, heads, dropout, init_rng, dropout_rng)
        self.ffn = nn.Sequential(linear(d_model, ffn, init_rng), FFN_ACTIVATIONS[activation](), linear(ffn, d_model, init_rng))
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.drop = Dropout(dropout, dropout_rng)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, pos: Positional) -> tuple[torch.Tensor, torch.Tensor]:
        if self.pre_norm:  # x + f(LN(x)): the residual path stays an identity
            a, weights = self.attn(self.norm1(x), mask, pos)
            x = x + self.drop(a)
            return x + self.drop(self.ffn(self.norm2(x))), weights
        a, weights = self.attn(x, mask, pos)  # LN(x + f(x)), the original transformer
        x = self.norm1(x + self.drop(a))
        return self.norm2(x + self.drop(self.ffn(x))), weights


class Transformer(nn.Module):
    def __init__(
        self,
        vocab: int,
        max_len: int,
        d_model: int,
        heads: int,
        layers: int,
        ffn: int,
        positional: str = "learned",
        activation: str = "relu",
        dropout: float = 0.0,
        pre_norm: bool = True,
        causal: bool = False,
        init_rng: torch.Generator | None = None,
        dropout_rng: torch.Generator | None = None,
    ) -> None:
        """``init_rng``, ``dropout_rng``: the run's generators (fresh CPU ones seeded 0 and 1
        if not given)."""
        super().__init__()
        init_rng = init_rng if init_rng is not None else torch.Generator().manual_seed(0)
        dropout_rng = dropout_rng if dropout_rng is not None else torch.Generator().manual_seed(1)
        self.causal = causal
        self.embed = nn.utils.skip_init(nn.Embedding, vocab, d_model)  # (its constructor would draw globally)
        nn.init.normal_(self.embed.weight, generator=init_rng)  # nn.Embedding's own init, N(0, 1)
        self.pos: Positional = POSITIONAL[positional].fn(d_model, d_model // heads, max_len)
        self.pos.init_weights(init_rng)
        self.blocks = nn.ModuleList(Block(d_model, heads, ffn, activation, dropout, pre_norm, init_rng, dropout_rng)
                                    for _ in range(layers))
        self.norm = nn.LayerNorm(d_model) if pre_norm else nn.Identity()
        self.head = linear(d_model, vocab, init_rng)

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """tokens (B, T) -> logits (B, T, vocab), attention weights (layers, B, heads, T, T)."""
        t = tokens.shape[1]
        mask = causal_mask(t, tokens.device) if self.causal else None
        x = self.pos.embed(self.embed(tokens))
        maps = []
        for block in self.blocks:
            x, weights = block(x, mask, self.pos)
            maps.append(weights)
        return self.head(self.norm(x)), torch.stack(maps)


def masked_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the scored positions (targets != IGNORE). (B, T, V), (B, T) -> ()."""
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten())
