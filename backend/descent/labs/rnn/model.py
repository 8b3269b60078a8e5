"""The recurrent network: a stack of one-layer torch.nn.RNN / LSTM / GRU modules and a linear head.

One module per layer (rather than ``num_layers=L``) so that the views can read and unroll each
layer on its own; without dropout between layers the stack computes exactly what torch's
multi-layer module computes with the same weights (tests/test_rnn.py checks it).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
GATE_ROWS = {"rnn": 1, "lstm": 4, "gru": 3}  # blocks of rows in weight_ih / weight_hh

State = list[Tensor | tuple[Tensor, Tensor]]  # per layer: h, or (h, c) for LSTM; each (dirs, B, H)


class Recurrent(nn.Module):
    def __init__(self, cell: str, nonlinearity: str, features: int, hidden: int, layers: int,
                 bidirectional: bool, outputs: int, generator: torch.Generator, forget_bias: float = 1.0) -> None:
        super().__init__()
        self.cell = cell
        self.hidden = hidden  # units per direction
        self.directions = 2 if bidirectional else 1
        extra = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
        self.layers = nn.ModuleList(
            MODULES[cell](features if i == 0 else hidden * self.directions, hidden, batch_first=True,
                          bidirectional=bidirectional, **extra)
            for i in range(layers)
        )
        self.head = nn.Linear(hidden * self.directions, outputs)
        # torch's own init (uniform in +-1/sqrt(hidden)), drawn from the run's generator rather
        # than torch's global one, which every session of the worker shares
        bound = 1 / math.sqrt(hidden)
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-bound, bound, generator=generator)
            if cell == "lstm":  # forget gates start open (bias +forget_bias): remember unless taught to forget
                for layer in self.layers:
                    for name, p in layer.named_parameters():
                        if name.startswith("bias_ih"):
                            p[hidden : 2 * hidden] += forget_bias

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """(B, T, F) -> outputs of the head (B, T, outputs), the final state of every layer."""
        out, final = x, []
        for i, layer in enumerate(self.layers):
            out, s = layer(out, None if state is None else state[i])
            final.append(s)
        return self.head(out), final


def detached(state: State) -> State:
    """The state as values only: the gradient of later steps stops here (truncated BPTT)."""
    return [(s[0].detach(), s[1].detach()) if isinstance(s, tuple) else s.detach() for s in state]


def step_work(cell: str, features: int, hidden: int, layers: int, directions: int, outputs: int, length: int, batch: int) -> float:
    """Multiply-adds of one training step: per time step, layer and direction the gate
    blocks (1, 3 or 4) each multiply [x; h] by their rows; then the head; backward about
    twice the forward."""
    per_step = sum(GATE_ROWS[cell] * hidden * ((features if i == 0 else hidden * directions) + hidden) * directions for i in range(layers))
    per_step += hidden * directions * outputs
    return 3.0 * batch * length * per_step


def parameter_count(cell: str, features: int, hidden: int, layers: int, directions: int, outputs: int) -> int:
    g = GATE_ROWS[cell]
    total = 0
    for i in range(layers):
        inputs = features if i == 0 else hidden * directions
        total += directions * g * hidden * (inputs + hidden + 2)
    return total + hidden * directions * outputs + outputs
