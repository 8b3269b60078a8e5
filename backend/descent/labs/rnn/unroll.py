"""The network unrolled step by step, by hand, from the torch modules' own weights.

Training runs torch's fused modules; the views need what those hide: every gate at every step,
the cell state, and each h_t as its own tensor in the graph, so that autograd gives the total
dL/dh_t (through the later steps and the layers above). The formulas are torch's (see the
nn.RNN / nn.LSTM / nn.GRU docs); tests/test_rnn.py checks that the unrolled h_t equal the
module's outputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from descent.labs.rnn.model import Recurrent


@dataclass
class Unrolled:
    logits: Tensor  # (B, T, outputs)
    hidden: list[list[Tensor]]  # per layer, per step: the forward direction's h_t (B, H), grads retained
    outputs: list[Tensor]  # per layer: (B, T, H*dirs), both directions
    gates: list[Tensor | None] = field(default_factory=list)  # per layer: (rows, B, T, H), forward direction
    cells: list[Tensor | None] = field(default_factory=list)  # LSTM, per layer: (B, T, H)


def _weights(layer: nn.Module, suffix: str) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    return (getattr(layer, f"weight_ih_l0{suffix}"), getattr(layer, f"weight_hh_l0{suffix}"),
            getattr(layer, f"bias_ih_l0{suffix}"), getattr(layer, f"bias_hh_l0{suffix}"))


def cell_step(cell: str, nonlinearity: str, x: Tensor, h: Tensor, c: Tensor | None,
              w: tuple[Tensor, Tensor, Tensor, Tensor]) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """One step of one direction: (h_new, c_new, gates (rows, B, H) or None)."""
    w_ih, w_hh, b_ih, b_hh = w
    gi = x @ w_ih.T + b_ih
    gh = h @ w_hh.T + b_hh
    if cell == "rnn":
        pre = gi + gh
        return (torch.tanh(pre) if nonlinearity == "tanh" else torch.relu(pre)), None, None
    if cell == "lstm":
        i, f, g, o = (gi + gh).chunk(4, dim=-1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        assert c is not None
        c = f * c + i * g
        return o * torch.tanh(c), c, torch.stack([i, f, g, o])
    # gru: reset r, update z, candidate n
    ir, iz, in_ = gi.chunk(3, dim=-1)
    hr, hz, hn = gh.chunk(3, dim=-1)
    r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
    n = torch.tanh(in_ + r * hn)
    return (1 - z) * n + z * h, None, torch.stack([r, z, n])


def _direction(model: Recurrent, layer: nn.Module, x: Tensor, h: Tensor, c: Tensor | None, suffix: str,
               cuts: set[int], nonlinearity: str) -> tuple[list[Tensor], list[Tensor], list[Tensor]]:
    """One layer, one direction, over x (B, T, F) in the order given: its h_t, gates, c_t."""
    w = _weights(layer, suffix)
    hs, gates, cells = [], [], []
    for t in range(x.shape[1]):
        if t in cuts:  # truncated BPTT: the state goes on, its gradient stops
            h = h.detach()
            c = None if c is None else c.detach()
        h, c, g = cell_step(model.cell, nonlinearity, x[:, t], h, c, w)
        if h.requires_grad:
            h.retain_grad()
        hs.append(h)
        if g is not None:
            gates.append(g)
        if c is not None:
            cells.append(c)
    return hs, gates, cells


def unroll(model: Recurrent, x: Tensor, nonlinearity: str = "tanh", cuts: set[int] | None = None) -> Unrolled:
    """The model on x (B, T, F) from a zero state, step by step, cutting the graph before each
    step in ``cuts`` (the first steps of training's BPTT chunks)."""
    cuts = cuts or set()
    batch = x.shape[0]
    result = Unrolled(logits=x, hidden=[], outputs=[])
    out = x
    for layer in model.layers:
        size = model.hidden
        zero = x.new_zeros(batch, size)
        lstm = model.cell == "lstm"
        hs, gates, cells = _direction(model, layer, out, zero, zero if lstm else None, "", cuts, nonlinearity)
        forward = torch.stack(hs, dim=1)
        if model.directions == 2:
            back, _, _ = _direction(model, layer, out.flip(1), zero, zero if lstm else None, "_reverse", set(), nonlinearity)
            out = torch.cat([forward, torch.stack(back[::-1], dim=1)], dim=2)
        else:
            out = forward
        result.hidden.append(hs)
        result.outputs.append(out)
        result.gates.append(torch.stack(gates, dim=2) if gates else None)
        result.cells.append(torch.stack(cells, dim=1) if cells else None)
    result.logits = model.head(out)
    return result
