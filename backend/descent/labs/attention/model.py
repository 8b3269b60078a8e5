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
from descent.labs.attention.positions import Positional
from descent.nn.dropout import Dropout
from descent.nn.initializers import linear

FFN_ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU}  # the FFN choices the lab offers


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
