"""A network's weights and biases, and their gradients, as views of one buffer each, in the
layout of a cohort's rows (stack.py: every weight, then every bias).

A cohort call (cohort.py) reads each run's parameters into its stack and writes them back
after the call: per parameter that is a dozen small copies and views per run (the big
setup: 14), which took a fifth of a class's batched training time; with the parameters
views of one buffer it is one copy each way. Stepping alone (torch.optim, autograd) works on
the same Parameters as ever: they only share their memory.

``params`` follows the network: once anything gives a parameter memory of its own (a
device move, an assignment to ``.data``), the next ``params`` call lays them out again; a
snapshot keeps the sharing (pickled as one graph, a view stays a view)."""

from __future__ import annotations

import torch
from torch import nn


class Flat:
    """The flat buffers of one network's ``linears``: ``params()`` (P,) with every weight and
    bias a view of it, and ``grads`` (P,), the gradients the cohort left (``set_grads``)."""

    def __init__(self, linears: list[nn.Linear]) -> None:
        self.own = [m.weight for m in linears] + [m.bias for m in linears]  # (read once: a module attribute costs a µs)
        self.depth = len(linears)
        self.buffer = self._lay_out()
        self.grads = torch.zeros_like(self.buffer)
        self.grad_views = _views(self.grads, self.own)

    def params(self) -> torch.Tensor:
        """The (P,) buffer every parameter is a view of (laid out again if one was moved)."""
        if self.own[0].data_ptr() != self.buffer.data_ptr() or self.own[-1].data_ptr() != self._last_ptr:
            self.buffer = self._lay_out()
        return self.buffer

    def set_grads(self, row: torch.Tensor) -> None:
        """Every parameter's ``.grad`` becomes its part of ``row`` (a copy: (P,))."""
        self.grads.copy_(row)
        if self.own[0].grad is not self.grad_views[0] or self.own[-1].grad is not self.grad_views[-1]:
            for p, g in zip(self.own, self.grad_views):  # (autograd gave a run that stepped alone tensors of its own)
                p.grad = g

    def _lay_out(self) -> torch.Tensor:
        with torch.no_grad():
            buffer = torch.cat([p.detach().reshape(-1) for p in self.own])
            for p, view in zip(self.own, _views(buffer, self.own)):
                p.data = view
        self._last_ptr = self.own[-1].data_ptr()
        return buffer


def _views(buffer: torch.Tensor, like: list[torch.Tensor]) -> list[torch.Tensor]:
    """``buffer`` seen as tensors shaped as ``like``, one after another."""
    out, at = [], 0
    for p in like:
        out.append(buffer[at: at + p.numel()].view(p.shape))
        at += p.numel()
    return out
