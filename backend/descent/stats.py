"""Statistics of a model in training, for any lab's gradient views: per-layer gradient
norms, update/weight ratios, histograms, optimizer-state norms, and a bounded layer x step
trace of gradient norms. All computed at frame time (one host sync per call), never per step."""

from __future__ import annotations

import base64
import math
from typing import Any, Sequence

import numpy as np
import torch

from .optimizers import OPTIMIZERS

# What each optimizer-state tensor is, for the page.
STATE_LABELS = {
    "momentum_buffer": "velocity ‖v‖",
    "sum": "squared-gradient sum ‖s‖",
    "square_avg": "squared-gradient average ‖s‖",
    "acc_delta": "squared-update average ‖Δ‖",
    "exp_avg": "first moment ‖m‖",
    "exp_avg_sq": "second moment ‖v‖",
}


def norms(tensors: Sequence[torch.Tensor | None]) -> list[float]:
    """L2 norm of each tensor (0 for None), with one device->host copy."""
    if not tensors:
        return []
    parts = [t.detach().norm() if t is not None else torch.zeros(()) for t in tensors]
    device = next((t.device for t in tensors if t is not None), torch.device("cpu"))
    return torch.stack([p.to(device) for p in parts]).tolist()


def grad_norms(params: Sequence[torch.Tensor]) -> list[float]:
    return norms([p.grad for p in params])


def update_ratios(before: Sequence[torch.Tensor], after: Sequence[torch.Tensor]) -> list[float]:
    """‖W_after - W_before‖ / ‖W_before‖ per layer: how much one step moved the weights
    relative to their size (around 1e-3 is the usual healthy range)."""
    if not before:
        return []
    both = norms([*(a.detach() - b for a, b in zip(after, before)), *before])  # (one host read)
    delta, size = both[: len(before)], both[len(before):]
    return [d / s if s > 0 else 0.0 for d, s in zip(delta, size)]


def histogram(t: torch.Tensor, bins: int = 24) -> dict[str, Any]:
    """Counts of the finite values of ``t`` in ``bins`` equal bins over [lo, hi] (the top
    value in the last bin, as torch.histc does). In numpy, on the host: a layer's weights are
    a few hundred numbers, where each torch op's overhead would cost more than the work."""
    x = t.detach().float().cpu().numpy().ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"lo": 0.0, "hi": 0.0, "counts": [0] * bins}
    lo, hi = float(x.min()), float(x.max())
    if hi - lo < 1e-12:  # all equal (e.g. the symmetry trap): one centred bin
        lo, hi = lo - 0.5, hi + 0.5
    index = np.minimum(((x - lo) * (bins / (hi - lo))).astype(np.int64), bins - 1)
    return {"lo": lo, "hi": hi, "counts": np.bincount(index, minlength=bins).tolist()}


def state_norms(optimizer: Any, name: str, params: Sequence[torch.Tensor]) -> list[dict[str, Any]]:
    """Norm per layer of each state tensor the optimizer ``name`` keeps (meta ``state``),
    e.g. momentum's velocity or Adam's second moment; empty before the first step."""
    out = []
    for key in OPTIMIZERS[name].meta.get("state", ()):
        tensors = [optimizer.state.get(p, {}).get(key) for p in params]
        if all(t is None for t in tensors):
            continue
        out.append({"key": key, "label": STATE_LABELS.get(key, key), "values": norms(tensors)})
    return out


class Trace:
    """Per-layer values over steps (layers x columns), at most ``cap`` columns: when full it
    keeps every other column, so a run of any length costs bounded memory."""

    def __init__(self, layers: int, cap: int = 240) -> None:
        self.layers = layers
        self.cap = cap
        self.steps: list[int] = []
        self._values = np.zeros((cap, layers))  # row i: the values at steps[i]

    def record(self, step: int, values: list[float]) -> None:
        if self.steps and self.steps[-1] == step:
            return
        self._values[len(self.steps)] = values
        self.steps.append(step)
        if len(self.steps) >= self.cap:
            self._values[: (len(self.steps) + 1) // 2] = self._values[: len(self.steps) : 2].copy()
            self.steps = self.steps[::2]

    def encode(self) -> dict[str, Any]:
        """log10 of the values as base64 uint8, row-major (layers, steps): byte 1..255 map
        linearly onto [range[0], range[1]]; byte 0 = zero (no gradient), 255 also = not finite."""
        # numpy: a few hundred numbers, where each torch op's overhead would dominate
        t = self._values[: len(self.steps)].T
        with np.errstate(all="ignore"):
            finite = np.isfinite(t)
            positive = finite & (t > 0)
            logs = np.where(positive, np.log10(np.where(positive, t, 1.0)), 0.0)
        if positive.any():
            lo, hi = math.floor(logs[positive].min()), math.ceil(logs[positive].max())
        else:
            lo, hi = -1, 0
        hi = max(hi, lo + 1)
        scaled = 1 + (logs - lo) / (hi - lo) * 254
        data = np.where(positive, np.round(scaled), 0.0)
        data = np.where(finite, data, 255).astype(np.uint8)
        return {
            "steps": list(self.steps),
            "layers": self.layers,
            "range": (float(lo), float(hi)),
            "encoding": "base64-uint8-log10",
            "data": base64.b64encode(np.ascontiguousarray(data).tobytes()).decode("ascii"),
        }
