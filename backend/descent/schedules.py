"""LR-schedule registry, shared by every lab: name -> factory(optimizer, params, total_steps)
-> torch.optim.lr_scheduler.LRScheduler, stepped once per optimizer step.

``total_steps`` is the horizon the schedule is planned for (cosine reaches its final LR at
the last step, one-cycle ends there); past it the LR stays at its last value.
``schedule_curve`` computes the whole curve ahead of time with the same code on a throwaway
optimizer, so the page draws exactly what training will use. Torch-free at import."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .registry import Registry

if TYPE_CHECKING:
    import torch

Factory = Callable[[Any, "ScheduleParams", int], Any]
SCHEDULES: Registry[Factory] = Registry("schedule")

MAX_STEPS = 100_000  # longest horizon a user can set (schedule_curve runs it on the server)
MAX_MILESTONES = 16


@SCHEDULES.register("constant", uses=(), label="constant")
def constant(optimizer: Any, p: "ScheduleParams", total_steps: int) -> Any:
    from torch.optim.lr_scheduler import LambdaLR

    return LambdaLR(optimizer, lambda t: 1.0)


@SCHEDULES.register("step", uses=("step_size", "gamma"), label="step (x gamma every step_size)")
def step(optimizer: Any, p: "ScheduleParams", total_steps: int) -> Any:
    from torch.optim.lr_scheduler import StepLR

    return StepLR(optimizer, step_size=p.step_size, gamma=p.gamma)


@SCHEDULES.register("multistep", uses=("milestones", "gamma"), label="multi-step (x gamma at milestones)")
def multistep(optimizer: Any, p: "ScheduleParams", total_steps: int) -> Any:
    from torch.optim.lr_scheduler import MultiStepLR

    return MultiStepLR(optimizer, milestones=p.milestones, gamma=p.gamma)


@SCHEDULES.register("factor", uses=("factor", "min_lr"), label="factor (x factor each step, floor min_lr)")
def factor(optimizer: Any, p: "ScheduleParams", total_steps: int) -> Any:
    """lr_t = max(base * factor^t, min_lr): torch has no floored exponential, so LambdaLR."""
    from torch.optim.lr_scheduler import LambdaLR

    bases = [g["lr"] for g in optimizer.param_groups]
    lambdas = [lambda t, b=b: max(p.factor**t, p.min_lr / b) if b > 0 else 1.0 for b in bases]
    return LambdaLR(optimizer, lambdas)


@SCHEDULES.register("exponential", uses=("factor",), label="exponential (x factor each step)")
def exponential(optimizer: Any, p: "ScheduleParams", total_steps: int) -> Any:
    from torch.optim.lr_scheduler import ExponentialLR

    return ExponentialLR(optimizer, gamma=p.factor)


@SCHEDULES.register("polynomial", uses=("power",), label="polynomial decay to 0")
def polynomial(optimizer: Any, p: "ScheduleParams", total_steps: int) -> Any:
    from torch.optim.lr_scheduler import PolynomialLR

    return PolynomialLR(optimizer, total_iters=total_steps, power=p.power)


@SCHEDULES.register("cosine", uses=("min_lr",), label="cosine to min_lr")
def cosine(optimizer: Any, p: "ScheduleParams", total_steps: int) -> Any:
    from torch.optim.lr_scheduler import CosineAnnealingLR

    # T_max = last step index, so the last step runs at exactly min_lr.
    return CosineAnnealingLR(optimizer, T_max=max(1, total_steps - 1), eta_min=p.min_lr)


@SCHEDULES.register("warmup_cosine", uses=("warmup_steps", "min_lr"), label="linear warmup, then cosine")
def warmup_cosine(optimizer: Any, p: "ScheduleParams", total_steps: int) -> Any:
    """lr_t = base * (t+1)/(w+1) for t < w, then cosine from base (at t = w) to min_lr (last step)."""
    from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

    w = p.warmup_steps
    decay = CosineAnnealingLR(optimizer, T_max=max(1, total_steps - 1 - w), eta_min=p.min_lr)
    if w == 0:
        return decay
    warmup = LinearLR(optimizer, start_factor=1 / (w + 1), end_factor=1.0, total_iters=w)
    return SequentialLR(optimizer, [warmup, decay], milestones=[w])


@SCHEDULES.register(
    "onecycle", uses=("warmup_steps", "div_factor", "final_div_factor"), label="one-cycle (up to LR, then down)"
)
def onecycle(optimizer: Any, p: "ScheduleParams", total_steps: int) -> Any:
    """Cosine up from base/div_factor to base over warmup_steps, then down to
    base/(div_factor*final_div_factor) at the last step; the set LR is the peak."""
    from torch.optim.lr_scheduler import OneCycleLR

    peak = [g["lr"] for g in optimizer.param_groups]
    # OneCycleLR peaks at step pct*total - 1; each phase needs at least one step (else 0/0)
    pct = min(max(p.warmup_steps, 2), total_steps - 2) / total_steps
    return OneCycleLR(
        optimizer, max_lr=peak, total_steps=total_steps, pct_start=pct, anneal_strategy="cos",
        cycle_momentum=False, div_factor=p.div_factor, final_div_factor=p.final_div_factor,
    )


ScheduleName = Literal[SCHEDULES.names()]  # type: ignore[valid-type]


class ScheduleParams(BaseModel):
    """The LR schedule and its hyper-parameters, flat so they fit in a URL. Lab configs
    inherit it (like OptimizerParams); each schedule reads the fields in its meta ``uses``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    schedule: ScheduleName = Field("constant", description="LR schedule, stepped once per optimizer step")
    step_size: int = Field(100, ge=1, le=MAX_STEPS, description="step: steps between two multiplications by gamma")
    gamma: float = Field(0.5, gt=0.0, le=1.0, description="step/multistep: LR multiplier at each drop")
    milestones: list[int] = Field(
        [200, 400], min_length=1, max_length=MAX_MILESTONES,
        description=f"multistep: steps where the LR is multiplied by gamma, strictly increasing, 1-{MAX_STEPS}",
    )
    factor: float = Field(0.999, gt=0.0, le=1.0, description="factor/exponential: LR multiplier per step")
    min_lr: float = Field(0.0, ge=0.0, le=10.0, description="factor: floor; cosine/warmup_cosine: final LR")
    power: float = Field(1.0, gt=0.0, le=10.0, description="polynomial: (1 - t/T)^power")
    warmup_steps: int = Field(
        50, ge=0, le=MAX_STEPS, description="warmup_cosine: linear warmup length; onecycle: steps to the peak"
    )
    div_factor: float = Field(25.0, ge=1.0, le=1e4, description="onecycle: start LR = LR / div_factor")
    final_div_factor: float = Field(1e4, ge=1.0, le=1e6, description="onecycle: end LR = start LR / final_div_factor")

    @field_validator("milestones")
    @classmethod
    def _increasing(cls, milestones: list[int]) -> list[int]:
        if any(m < 1 or m > MAX_STEPS for m in milestones):
            raise ValueError(f"each milestone must be a step in 1-{MAX_STEPS}")
        if any(b <= a for a, b in zip(milestones, milestones[1:])):
            raise ValueError("milestones must be strictly increasing")
        return milestones

    def check_horizon(self, total_steps: int, field: str = "total_steps") -> None:
        """Raise ValueError naming the field when this schedule cannot fit ``total_steps``
        (``field``: what the caller calls the horizon, for the message)."""
        if not 2 <= total_steps <= MAX_STEPS:
            raise ValueError(f"{field} {total_steps}: the schedule horizon must be in 2-{MAX_STEPS}")
        if self.schedule == "onecycle" and total_steps < 4:
            raise ValueError(f"{field} {total_steps}: onecycle needs a horizon of at least 4 steps")
        uses = SCHEDULES[self.schedule].meta["uses"]
        if "warmup_steps" in uses and self.warmup_steps >= total_steps - 1:
            raise ValueError(
                f"warmup_steps {self.warmup_steps}: must be less than the schedule horizon minus one, {total_steps - 1}"
            )


class Schedule:
    """A built schedule: ``step()`` after each optimizer step; holds the LR once the horizon ends."""

    def __init__(self, scheduler: Any, total_steps: int, constant: bool = False) -> None:
        self.scheduler = scheduler
        self.total_steps = total_steps
        self.t = 0  # index of the step the current LR is for
        # a constant schedule's scheduler never changes the LR: stepping it is skipped (it costs
        # a few µs, a fair part of a batched step; bench/batching.py)
        self.constant = constant

    def step(self) -> None:
        if self.t < self.total_steps - 1 and not self.constant:
            self.scheduler.step()
        self.t += 1

    @property
    def lr(self) -> float:
        return float(self.scheduler.optimizer.param_groups[0]["lr"])


def build_schedule(optimizer: Any, params: ScheduleParams, total_steps: int, start: int = 0,
                   base_lr: float | None = None) -> Schedule:
    """Attach ``params.schedule`` to ``optimizer``: the base LR is ``base_lr`` if given (set on
    every group first), else each group's current ``lr``. ``start`` fast-forwards to that step,
    so a schedule changed mid-run continues on the same step axis (the LR jumps onto the new
    curve at the current step)."""
    if base_lr is not None:
        for group in optimizer.param_groups:
            group["lr"] = base_lr
    import warnings

    params.check_horizon(total_steps)
    for group in optimizer.param_groups:
        group.pop("initial_lr", None)  # left by an earlier scheduler; torch would reuse it as base
    scheduler = SCHEDULES[params.schedule].fn(optimizer, params, total_steps)
    schedule = Schedule(scheduler, total_steps, constant=params.schedule == "constant")
    with warnings.catch_warnings():
        # SequentialLR steps its parts with an explicit epoch at the milestone (torch warns).
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(min(start, total_steps - 1)):
            schedule.step()
    schedule.t = start
    return schedule


def schedule_curve(params: ScheduleParams, base_lr: float, steps: int) -> list[float]:
    """The LR of every step 0..steps-1 over a horizon of ``steps``, computed by
    ``build_schedule`` on a throwaway one-parameter SGD optimizer. Memoized: a class on one
    preset moving the LR slider to the same values asks for the same curves (a few ms each)."""
    fields = tuple((name, tuple(v) if isinstance(v, list) else v) for name in ScheduleParams.model_fields
                   for v in [getattr(params, name)])
    return list(_curve(fields, base_lr, steps))


@lru_cache(maxsize=256)
def _curve(fields: tuple[tuple[str, Any], ...], base_lr: float, steps: int) -> tuple[float, ...]:
    import warnings

    import torch

    params = ScheduleParams(**{name: list(v) if isinstance(v, tuple) else v for name, v in fields})
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    schedule = build_schedule(optimizer, params, steps)
    curve = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(steps):
            curve.append(schedule.lr)
            schedule.step()
    return tuple(v if math.isfinite(v) else 0.0 for v in curve)
