"""Many playground runs of one shape as one: their weights and biases in one (S, P) tensor,
their optimizer state stacked alike, so one update rule (stacked.py) steps them all
(cohort.py drives it)."""

from __future__ import annotations

import itertools
from typing import Any

import torch

from descent.labs.mlp import stacked
from descent.labs.mlp.fused import Fused
from descent.labs.mlp.training import Training as Lab
from descent.nn.optimizers import OPTIMIZERS


def rule_of(cfg: Any) -> stacked.Rule | None:
    """The optimizer's update over stacked runs (stacked.RULES), if it has one for these settings."""
    make = stacked.RULES.get(cfg.optimizer)
    return make(cfg) if make else None


class Stack:
    """The weights and biases of S networks, all in one (S, P) tensor ``flat`` (a row per
    run: every weight, then every bias), seen per layer as (S, out, in) and (S, out) views;
    their optimizer state stacked the same way (and each run's step number, where torch
    counts), so an update rule runs once over everything."""

    def __init__(self, labs: list[Lab]) -> None:
        self.labs = labs
        owns = [lab.flat.own for lab in labs]  # (their parameters, weights then biases: flat.py)
        self.shapes = [p.shape for p in owns[0]]
        self.bounds = [0, *itertools.accumulate(p.numel() for p in owns[0])]  # column range of each parameter
        self.flat = torch.stack([lab.flat.params() for lab in labs])  # (each lab's parameters are views of its row: flat.py)
        self.layers = self.views(self.flat)
        depth = len(labs[0].linears)
        self.weights = self.layers[:depth]
        self.grads: list[tuple[torch.Tensor, int] | None] = [None] * len(labs)  # each run's last batched gradients (flat, row)
        cfg = labs[0].config
        rule = rule_of(cfg)
        if rule is None:  # (key() admits none such)
            raise ValueError(f"optimizer {cfg.optimizer!r} has no update rule over stacked runs")
        self.rule = rule
        self.keys: tuple[str, ...] = OPTIMIZERS[cfg.optimizer].meta.get("state", ())
        self.state = {k: torch.stack([lab.flat.state(lab.optimizer, k) for lab in labs]) for k in self.keys}
        self.steps = [float(lab.optimizer.state.get(own[0], {}).get("step", 0)) for lab, own in zip(labs, owns)]
        self._rates: tuple[list[float], torch.Tensor] = ([], torch.empty(0))
        self._numpy_state: dict[str, Any] | None = None
        self.fused = Fused.of(self, cfg)  # the gradients in numpy, where the setup allows (fused.py)

    def rates(self, lrs: list[float]) -> torch.Tensor:
        """The learning rates as the rule takes them, (k,) float64 (made anew only when they change)."""
        if lrs != self._rates[0]:
            self._rates = (lrs, torch.tensor(lrs, dtype=torch.float64, device=self.flat.device))
        return self._rates[1]

    def numpy_state(self) -> dict[str, Any]:
        """The stacked optimizer state as numpy arrays on the same memory (the fused step's update)."""
        if self._numpy_state is None:
            self._numpy_state = {k: v.numpy() for k, v in self.state.items()}
        return self._numpy_state

    def views(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """Rows of the flat layout seen per parameter: (rows, *its shape) each, weights then biases."""
        return [flat[:, a:b].view(len(flat), *shape) for a, b, shape in zip(self.bounds, self.bounds[1:], self.shapes)]

    def params(self) -> list[torch.Tensor]:
        return self.layers

    def write_back(self, s: int) -> None:
        """Run ``s``'s network takes its weights, optimizer state (and last gradients) from the stack."""
        lab = self.labs[s]
        lab.flat.params().copy_(self.flat[s])
        for k, v in self.state.items():
            lab.flat.set_state(lab.optimizer, k, v[s])
        if self.keys and self.rule.counts_steps:
            lab.flat.set_step(lab.optimizer, self.steps[s])
        held_grads = self.grads[s]
        if held_grads is not None:
            flat, row = held_grads
            lab.flat.set_grads(flat[row])
            self.grads[s] = None

    def grads_copy(self, s: int) -> torch.Tensor | list[torch.Tensor | None]:
        """A copy of run ``s``'s last gradients: its (1, P) row of the flat layout (one copy:
        fused.py overwrites its buffer each step), or per parameter if it stepped alone."""
        held = self.grads[s]
        if held is None:  # (its own, from autograd)
            return [None if p.grad is None else p.grad.clone() for p in self.labs[s].flat.own]
        flat, row = held
        return flat[row: row + 1].clone()

    def read(self, s: int) -> None:
        """The stack takes run ``s``'s weights and optimizer state (after it stepped alone)."""
        lab = self.labs[s]
        self.flat[s].copy_(lab.flat.params())
        for k, v in self.state.items():
            v[s].copy_(lab.flat.state(lab.optimizer, k))
        self.steps[s] = float(lab.optimizer.state[lab.linears[0].weight].get("step", 0))
