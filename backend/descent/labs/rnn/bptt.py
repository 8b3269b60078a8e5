"""Training's loss and truncated backprop through time, shared by the lab (training) and its
views (the BPTT view cuts the graph where training cuts it)."""

from __future__ import annotations

import torch

from descent.labs.rnn.model import Recurrent, State, detached
from descent.labs.rnn.tasks import IGNORE, Task


def sequence_loss(task: Task, logits: torch.Tensor, y: torch.Tensor, scored: int) -> torch.Tensor:
    """Summed loss over the scored steps, divided by ``scored`` (the batch's scored steps in all
    chunks, so the chunks' losses add up to the batch's mean)."""
    if task.kind == "regression":
        mask = ~torch.isnan(y)
        return ((logits[..., 0] - y)[mask] ** 2).sum() / scored
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=IGNORE, reduction="sum") / scored


def scored_count(task: Task, y: torch.Tensor) -> int:
    return int((~torch.isnan(y)).sum()) if task.kind == "regression" else int((y != IGNORE).sum())


def chunks(length: int, bptt: int) -> list[tuple[int, int]]:
    """The [start, end) spans training backpropagates through (one span when bptt is 0)."""
    size = bptt or length
    return [(a, min(a + size, length)) for a in range(0, length, size)]


def backprop_chunks(model: Recurrent, task: Task, x: torch.Tensor, y: torch.Tensor, bptt: int,
                    state: State | None) -> tuple[torch.Tensor, State]:
    """Truncated BPTT over one batch: each chunk forward from the state the last one left,
    backward on its own (gradients add up in .grad), then the state handed on detached, so no
    gradient flows past a chunk's start. Returns the batch's mean loss and the final state."""
    scored = max(1, scored_count(task, y))
    total = torch.zeros((), device=x.device)
    for a, b in chunks(x.shape[1], bptt):
        logits, out = model(x[:, a:b], state)
        loss = sequence_loss(task, logits, y[:, a:b], scored)
        loss.backward()
        total += loss.detach()
        state = detached(out)
    assert state is not None
    return total, state
