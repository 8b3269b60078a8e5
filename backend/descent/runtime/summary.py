"""A student's run in a few hundred bytes, for the teacher's wall: computed on the worker,
where the frame's views already are (``Summaries.after_frame``), at most once per
``interval``. The main picture becomes a thumbnail of at most 16 × 16 grey levels: the
decision boundary (mlp), the first attention map (attention), the test digit (cnn), the
surface with each racer's point (arena)."""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np

from descent.classroom import Summary
from descent.labs.base import Lab
from descent.runtime.setups import lab_of

SPARK_POINTS = 32
THUMB = 16
LOSSES = ("test_loss", "loss", "train_loss", "best_gap")  # the first a lab has is its ranking measure


def arena_picture(lab: Any) -> np.ndarray:
    """The race on THUMB × THUMB pixels: the surface's levels (0-110, low = light; log where the
    arena draws it on a log scale) and each racer's point at 255 (the darkest)."""
    import torch

    meta = lab.meta
    x0, x1, y0, y1 = meta["window"]
    xs, ys = torch.linspace(x0, x1, THUMB, dtype=torch.float64), torch.linspace(y1, y0, THUMB, dtype=torch.float64)
    with torch.no_grad():
        z = lab.surface(xs[None, :].expand(THUMB, THUMB), ys[:, None].expand(THUMB, THUMB)).numpy()
    if meta.get("scale") == "log":
        z = np.log10(np.maximum(z - meta["f_min"], 0) + max(float(z.max() - meta["f_min"]) * 1e-4, 1e-12))  # (as the arena's plot)
    z = np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0)
    span = float(z.max() - z.min()) or 1.0
    picture = ((z - z.min()) / span * 110).astype(np.uint8)  # (pale: the points stand out)
    for runner in lab.runners:
        x, y = (float(v) for v in runner.point.detach())
        col, row = round((x - x0) / (x1 - x0) * (THUMB - 1)), round((y1 - y) / (y1 - y0) * (THUMB - 1))
        if 0 <= col < THUMB and 0 <= row < THUMB:
            picture[row, col] = 255
    return picture


def thumbnail(lab: str, views: dict[str, Any], run: Any = None) -> tuple[str, int] | None:
    """(base64 of size × size uint8, size) of the lab's main picture in ``views`` (the arena's:
    drawn from ``run``, the lab), or None."""
    picture: np.ndarray | None = None
    if lab == "arena" and run is not None:
        picture = arena_picture(run)
    elif lab == "mlp" and isinstance(views.get("boundary"), dict):
        b = views["boundary"]
        n = int(b["resolution"])
        picture = np.frombuffer(base64.b64decode(b["data"]), np.uint8)[: n * n].reshape(n, n)
    elif lab == "attention" and isinstance(views.get("maps"), dict):
        m = views["maps"]
        t = int(m["shape"][-1])
        picture = np.frombuffer(base64.b64decode(m["data"]), np.uint8)[: t * t].reshape(t, t)
    elif lab == "cnn" and isinstance(views.get("example"), dict) and views.get("size"):
        n = int(views["size"])
        picture = np.frombuffer(base64.b64decode(views["example"]["image"]), np.uint8)[: n * n].reshape(n, n)
    if picture is None or picture.size == 0:
        return None
    stride = max(1, math.ceil(max(picture.shape) / THUMB))
    small = np.ascontiguousarray(picture[::stride, ::stride])
    if small.shape[0] != small.shape[1]:
        return None
    return base64.b64encode(small.tobytes()).decode("ascii"), small.shape[0]


def spark(lab: Lab) -> list[float | None]:
    """The last part of the loss history, at most SPARK_POINTS evenly spaced points."""
    history = lab.history
    name = next((n for n in LOSSES if n in history.series), None)
    if name is None:
        return []
    values = history.series[name]
    stride = max(1, math.ceil(len(values) / SPARK_POINTS))
    return [None if v is None else float(f"{v:.4g}") for v in values[::-1][::stride][::-1]]


class Summaries:
    """When a session in a room next sends a summary, and the thumbnail it last had."""

    def __init__(self) -> None:
        self.interval: float | None = None  # None: not in a room
        self.due = 0.0
        self.thumb: tuple[str, int] | None = None
        self.state = ""  # the run state the last summary told

    def after_frame(self, lab: Lab, state: str, views: dict[str, Any], now: float) -> dict[str, Any] | None:
        """The summary to send now (the frame's ``views`` just computed), or None."""
        if self.interval is None or (now < self.due and state == self.state):  # (a new state goes at once)
            return None
        self.due, self.state = now + self.interval, state
        self.thumb = thumbnail(lab_of(lab.config), views, lab) or self.thumb
        return summarize(lab, state, self.thumb)


def summarize(lab: Lab, state: str, thumb: tuple[str, int] | None) -> dict[str, Any]:
    metrics = lab.metrics()
    loss = next((metrics[n] for n in LOSSES if metrics.get(n) is not None), None)
    lr = lab.lr
    return Summary(lab=lab_of(lab.config), state=state, epoch=lab.epoch, step=lab.step_count,
                   lr=lr if math.isfinite(lr) else None, optimizer=getattr(lab.config, "optimizer", None),
                   loss=loss, metrics={k: (None if v is None else float(f"{v:.4g}")) for k, v in list(metrics.items())[:6]},
                   spark=spark(lab), thumb=thumb[0] if thumb else None, thumb_size=thumb[1] if thumb else 0,
                   diverged=bool(lab.diverged)).model_dump()
