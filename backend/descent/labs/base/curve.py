"""The planned-LR curve: the whole schedule ahead of time, one wire shape for every lab
(``ScheduleCurve``), drawn by the page's one chart (frontend/js/schedulechart.js).
Torch-free: computed from the closed forms training uses (nn/schedules.py)."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, Field

from descent.nn.schedules import ScheduleParams, schedule_curve

CURVE_POINTS = 500  # at most this many sampled points of the curve go to the page


class ScheduleCurve(BaseModel):
    """The whole LR schedule ahead of time; sent with full frames and when it changes."""

    horizon: int = Field(description="steps the schedule is planned over")
    steps: list[int] = Field(description="sampled steps (at most ~500, always including 0 and horizon-1)")
    lr: list[float] = Field(description="LR at each sampled step")
    steps_per_epoch: int = Field(description="steps in one epoch (to place steps on an epoch axis)")


def planned_curve(params: ScheduleParams, base_lr: float, horizon: int, steps_per_epoch: int,
                  points: int = CURVE_POINTS) -> dict[str, Any]:
    """A ``ScheduleCurve``: the LR of ``params``' schedule from ``base_lr`` over ``horizon``
    steps, at most ~``points`` of them."""
    curve = schedule_curve(params, base_lr, horizon)
    steps = sampled(len(curve), points)
    return {"horizon": horizon, "steps": steps, "lr": [curve[i] for i in steps], "steps_per_epoch": steps_per_epoch}


def sampled(length: int, points: int) -> list[int]:
    """At most ~``points`` evenly spaced indices of ``range(length)``, keeping the first and last."""
    stride = max(1, math.ceil(length / points))
    steps = list(range(0, length, stride))
    if steps[-1] != length - 1:
        steps.append(length - 1)
    return steps
