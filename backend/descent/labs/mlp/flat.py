"""A network's weights and biases, their gradients and their optimizer state, as views of
one buffer each, in the layout of a cohort's rows (stack.py: every weight, then every bias).

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
    bias a view of it; ``grads`` (P,), the gradients the cohort left (``set_grads``); the
    optimizer's state per key and its step counts, as the cohort left them (``set_state``,
    ``set_step``)."""

    def __init__(self, linears: list[nn.Linear]) -> None:
        self.own = [m.weight for m in linears] + [m.bias for m in linears]  # (read once: a module attribute costs a µs)
        self.buffer = self._lay_out()
        self.grads = torch.zeros_like(self.buffer)
        self.grad_views = _views(self.grads, self.own)
        self._states: dict[str, tuple[torch.Tensor, list[torch.Tensor]]] = {}  # optimizer state key -> (buffer, views)
        self.steps = torch.zeros(len(self.own))  # (float32, as torch.optim keeps a step)
        self.step_views = list(self.steps.unbind(0))

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

    def state(self, optimizer: torch.optim.Optimizer, key: str) -> torch.Tensor:
        """The optimizer's state ``key`` of every parameter, (P,), zero where a parameter has
        none yet: its buffer, if every parameter's state is a view of it (``set_state``),
        else gathered anew."""
        held = self._states.get(key)
        if held is not None and all(optimizer.state.get(p, {}).get(key) is v for p, v in zip(self.own, held[1])):
            return held[0]
        return torch.cat([_or_zeros(optimizer.state.get(p, {}).get(key), p).reshape(-1) for p in self.own])

    def set_state(self, optimizer: torch.optim.Optimizer, key: str, row: torch.Tensor) -> None:
        """Every parameter's optimizer state ``key`` becomes its part of ``row`` (a copy, (P,)),
        as views of one buffer (torch.optim updates its state in place, so they stay views)."""
        held = self._states.get(key)
        if held is None:
            buffer = torch.empty_like(row)
            held = self._states[key] = (buffer, _views(buffer, self.own))
        held[0].copy_(row)
        for p, view in zip(self.own, held[1]):
            state = optimizer.state[p]
            if state.get(key) is not view:
                state[key] = view

    def set_step(self, optimizer: torch.optim.Optimizer, step: float) -> None:
        """Every parameter's step count (the optimizers that count: Adam's ``state["step"]``)
        becomes ``step``: each its own element of one tensor (torch.optim adds 1 to each in place)."""
        for p, view in zip(self.own, self.step_views):
            state = optimizer.state[p]
            if state.get("step") is not view:
                state["step"] = view
        self.steps.fill_(step)

    def _lay_out(self) -> torch.Tensor:
        with torch.no_grad():
            buffer = torch.cat([p.detach().reshape(-1) for p in self.own])
            for p, view in zip(self.own, _views(buffer, self.own)):
                p.data = view
        self._last_ptr = self.own[-1].data_ptr()
        return buffer


def _or_zeros(t: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(like) if t is None else t


def _views(buffer: torch.Tensor, like: list[torch.Tensor]) -> list[torch.Tensor]:
    """``buffer`` seen as tensors shaped as ``like``, one after another."""
    out, at = [], 0
    for p in like:
        out.append(buffer[at: at + p.numel()].view(p.shape))
        at += p.numel()
    return out
