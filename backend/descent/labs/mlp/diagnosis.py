"""Why a playground run went wrong, in words a student can act on.

Two failures look alike on the loss chart and differ inside the network:
- divergence: the loss left the numbers (NaN or inf): each step overshot further than the
  last. The run stops; the status message carries ``diverged()``'s text.
- a stall: the loss sits still and high while every gradient is about 0, because the units
  are saturated (tanh/sigmoid at their flat ends) or dead (a ReLU that outputs 0 for every
  input). Nothing stops the run, but nothing changes either; ``Watch`` notices it and the
  frame's ``diagnosis`` view says why.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Any

import torch

from descent.labs.mlp import inside

STALL_EPOCHS = 5  # the loss has not moved over this many epochs ...
STILL = 0.1  # ... by more than this fraction of itself (a stuck output may flip between two levels),
FLAT = 1e-2  # every gradient norm is below this (a healthy run: ~1e-1),
SOLVED = 0.05  # and the loss is above this (a solved problem may rest with tiny gradients)
RECOVERED = 0.2  # a stall is over once the loss falls this fraction below where it sat
SATURATED = 0.99  # |tanh| (or a sigmoid's distance from 0.5, doubled) past this has a slope of ~0
EVERY = 0.99  # a unit counts as saturated when it is so for this share of the inputs


def advice(lr: float) -> str:
    """What to do about a step too large."""
    return f"Lower the learning rate (try {lr / 100:.3g}) and press reset: the network will not recover by itself."


def diverged(loss: float | None, lr: float, norms: list[float]) -> str:
    """The explanation of a loss that became NaN or inf (the banner adds where it happened)."""
    what = "NaN" if loss is None or math.isnan(loss) else "infinite"
    blown = next((i for i, n in enumerate(norms) if not math.isfinite(n)), None)
    where = f" Layer {blown + 1}'s gradient was the first to overflow." if blown is not None else ""
    return (f"the loss became {what}. With learning rate {lr:g} each step overshot the valley floor and landed "
            f"higher up the other side, so the next gradient was larger still, until the numbers overflowed.{where} {advice(lr)}")


def unit_report(activation: str, hidden: list[torch.Tensor], output: torch.Tensor | None) -> list[str]:
    """Per layer, how many units are stuck: saturated (tanh/sigmoid) or dead (ReLU); and
    whether the tanh-squashed output is stuck at ±1. ``hidden``: (rows, width) activations."""
    parts = []
    for layer, h in enumerate(hidden, 1):
        if activation == "tanh":
            stuck = ((h.abs() > SATURATED).float().mean(0) >= EVERY).sum().item()
            kind = "saturated (tanh at ±1 for almost every input, where its slope is 0)"
        elif activation == "sigmoid":
            stuck = (((h - 0.5).abs() * 2 > SATURATED).float().mean(0) >= EVERY).sum().item()
            kind = "saturated (sigmoid at 0 or 1 for almost every input, where its slope is 0)"
        elif activation == "relu":
            stuck = (h == 0).all(0).sum().item()
            kind = "dead (a ReLU that outputs 0 for every input passes no gradient)"
        else:
            continue
        if stuck:
            parts.append(f"{stuck} of {h.shape[1]} units of layer {layer} are {kind}")
    if output is not None and output.numel():
        stuck_at = output.mean().item()
        if (output.abs() > SATURATED).float().mean().item() >= EVERY:
            parts.append(f"the output's tanh sits at {stuck_at:+.2f} for almost every input, where its slope is 0")
    return parts


def units_of(lab: Any) -> list[str]:
    """``unit_report`` of a playground lab's network on its training inputs."""
    out, hidden = inside.forward_with_taps(lab.model, lab.x_train, lab.taps)
    squashed = isinstance(lab.model[-1], torch.nn.Tanh)  # (classification with a value loss)
    return unit_report(lab.config.activation, hidden, out if squashed else None)


def stalled(loss: float, lr: float, norms: list[float], accuracy: float | None, report: list[str]) -> str:
    score = f" ({100 * accuracy:.0f} % accuracy)" if accuracy is not None else ""
    largest = max(norms)
    size = f"the largest {largest:.1e}" if largest > 0 else "all exactly 0"
    cause = ("; ".join(report) + ", so almost no gradient flows back") if report else "the network sits on a flat plateau"
    todo = (f"A step too large (learning rate {lr:g}) threw the weights out there. {advice(lr)}" if lr >= 1 else
            "Press reset to start from new weights; if it stalls again, try another initialization, or Leaky ReLU (it keeps a slope everywhere).")
    return (f"Training has stalled: the loss stays at {loss:.3g}{score} and every gradient is about 0 ({size}), "
            f"so the steps change nothing. Why: {cause}. {todo}")


class Watch:
    """Notices a stall at the end of each epoch; ``view()`` is its explanation or None."""

    def __init__(self) -> None:
        self.losses: deque[float] = deque(maxlen=STALL_EPOCHS)
        self.text: str | None = None
        self.stuck_at = math.inf

    def epoch(self, metrics: dict[str, Any], lr: float, norms: Callable[[], list[float]],
              units: Callable[[], list[str]]) -> None:
        loss = metrics.get("train_loss")
        if loss is None or not math.isfinite(loss):
            return  # (divergence is told by the status)
        if self.text is not None:  # told once; it holds until the loss really falls
            if loss < (1 - RECOVERED) * self.stuck_at:
                self.text, self.stuck_at = None, math.inf
                self.losses.clear()
            return
        self.losses.append(loss)
        if len(self.losses) < STALL_EPOCHS or loss <= SOLVED or max(self.losses) - min(self.losses) > STILL * loss:
            return
        grads = norms()  # asked for only when the loss sits still: most epochs cost nothing
        if not grads or not all(math.isfinite(g) for g in grads) or max(grads) >= FLAT:
            return
        self.stuck_at = min(self.losses)
        self.text = stalled(loss, lr, grads, metrics.get("train_accuracy"), units())

    def view(self) -> dict[str, str] | None:
        return {"kind": "stalled", "text": self.text} if self.text else None
