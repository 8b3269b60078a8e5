"""Statistics of a model in training, for any lab's gradient views: per-layer gradient
norms, update/weight ratios, histograms, optimizer-state norms, and a bounded layer x step
trace of gradient norms. All computed at frame time (one host sync per call), never per step,
in numpy on the host (``on_host``)."""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from descent.nn.optimizers import OPTIMIZERS

# What each optimizer-state tensor is, for the page.
STATE_LABELS = {
    "momentum_buffer": "velocity ‖v‖",
    "sum": "squared-gradient sum ‖s‖",
    "square_avg": "squared-gradient average ‖s‖",
    "acc_delta": "squared-update average ‖Δ‖",
    "exp_avg": "first moment ‖m‖",
    "exp_avg_sq": "second moment ‖v‖",
}


def on_host(tensors: Sequence[torch.Tensor | None]) -> list[np.ndarray | None]:
    """Each tensor as a float numpy array on the host (None stays None): views of the
    tensors on the CPU, one device->host copy for all of them on a GPU. The statistics
    below are computed in numpy: a layer is a few hundred numbers, where each torch op's
    overhead would cost more than the work."""
    present = [t.detach().float() for t in tensors if t is not None]
    if not present:
        return [None] * len(tensors)
    if present[0].device.type == "cpu":
        arrays = iter([t.numpy() for t in present])
    else:
        flat = torch.cat([t.reshape(-1) for t in present]).cpu().numpy()
        ends = np.cumsum([t.numel() for t in present])
        arrays = iter([part.reshape(t.shape) for part, t in zip(np.split(flat, ends[:-1]), present)])
    return [None if t is None else next(arrays) for t in tensors]


def norm(a: np.ndarray | None) -> float:
    """L2 norm of a host array (0 for None), summed in float64."""
    if a is None:
        return 0.0
    r = a.ravel().astype(np.float64)
    return math.sqrt(float(np.dot(r, r)))


def norms(tensors: Sequence[torch.Tensor | None]) -> list[float]:
    """L2 norm of each tensor (0 for None)."""
    return [norm(a) for a in on_host(tensors)]


def grad_norms(params: Sequence[torch.Tensor]) -> list[float]:
    return norms([p.grad for p in params])


def update_ratios(before: Sequence[torch.Tensor], after: Sequence[torch.Tensor]) -> list[float]:
    """‖W_after - W_before‖ / ‖W_before‖ per layer: how much one step moved the weights
    relative to their size (around 1e-3 is the usual healthy range)."""
    if not before:
        return []
    both = on_host([*after, *before])
    ratios = []
    for a, b in zip(both[: len(before)], both[len(before):]):
        size = norm(b)
        ratios.append(norm(a - b) / size if size > 0 else 0.0)  # type: ignore[operator]
    return ratios


def histogram(t: torch.Tensor | np.ndarray, bins: int = 24) -> dict[str, Any]:
    """Counts of the finite values of ``t`` in ``bins`` equal bins over [lo, hi] (the top
    value in the last bin, as torch.histc does)."""
    x = (t if isinstance(t, np.ndarray) else on_host([t])[0]).ravel()  # type: ignore[union-attr]
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
