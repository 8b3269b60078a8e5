"""LR-schedule registry, shared by every lab. Each entry has two faces of one schedule:

- its factory, ``fn(optimizer, params, total_steps)`` -> a torch.optim.lr_scheduler
  object: the reference, and what the exported script runs;
- its closed form, ``meta["lr"](params, base, total_steps, t)`` -> the LR at steps ``t``
  (a numpy array, 0 <= t < total_steps), vectorized, equal to the factory's LR at every
  step to float precision (tests/test_schedules.py).

Training and the page use the closed form: ``build_schedule`` sets the optimizer's LR for
step t directly, so a schedule (re)built mid-run, as on every LR change, costs the same at
step 20,000 as at step 0 (a torch scheduler would have to be stepped there one step at a
time: 0.25-0.5 s at 20,000 steps; bench/lr_change.py), and ``schedule_curve`` is one
vectorized evaluation over the horizon, so the page draws exactly what training uses.

``total_steps`` is the horizon the schedule is planned for (cosine reaches its final LR at
the last step, one-cycle ends there); past it the LR stays at its last value.
Torch-free at import."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from descent.registry import Registry

Factory = Callable[[Any, "ScheduleParams", int], Any]
# (params, base LR (a number, or a column of one per parameter group), horizon, steps) -> LRs
ClosedForm = Callable[["ScheduleParams", Any, int, np.ndarray], np.ndarray]
SCHEDULES: Registry[Factory] = Registry("schedule")

MAX_STEPS = 100_000  # longest horizon a user can set
MAX_MILESTONES = 16


def _cosine(start: Any, end: Any, frac: np.ndarray) -> np.ndarray:
    """From ``start`` (frac 0) to ``end`` (frac 1) along half a cosine."""
    return end + (start - end) * (1 + np.cos(np.pi * frac)) / 2


def _constant_lr(p: ScheduleParams, base: Any, total: int, t: np.ndarray) -> np.ndarray:
    return base * np.ones(t.shape)


@SCHEDULES.register("constant", short="Constant", uses=(), label="constant", lr=_constant_lr)
def constant(optimizer: Any, p: ScheduleParams, total_steps: int) -> Any:
    from torch.optim.lr_scheduler import LambdaLR

    return LambdaLR(optimizer, lambda t: 1.0)


def _step_lr(p: ScheduleParams, base: Any, total: int, t: np.ndarray) -> np.ndarray:
    return base * p.gamma ** (t // p.step_size)


@SCHEDULES.register("step", short="Step", uses=("step_size", "gamma"), label="step (x gamma every step_size)", lr=_step_lr)
def step(optimizer: Any, p: ScheduleParams, total_steps: int) -> Any:
    from torch.optim.lr_scheduler import StepLR

    return StepLR(optimizer, step_size=p.step_size, gamma=p.gamma)


def _multistep_lr(p: ScheduleParams, base: Any, total: int, t: np.ndarray) -> np.ndarray:
    passed = np.searchsorted(p.milestones, t, side="right")  # milestones at or before t
    return base * p.gamma**passed


@SCHEDULES.register("multistep", short="Multi-step", uses=("milestones", "gamma"), label="multi-step (x gamma at milestones)",
                    lr=_multistep_lr)
def multistep(optimizer: Any, p: ScheduleParams, total_steps: int) -> Any:
    from torch.optim.lr_scheduler import MultiStepLR

    return MultiStepLR(optimizer, milestones=p.milestones, gamma=p.gamma)


def _factor_lr(p: ScheduleParams, base: Any, total: int, t: np.ndarray) -> np.ndarray:
    return np.where(base > 0, np.maximum(base * p.factor**t, p.min_lr), base)  # (a zero LR stays zero)


@SCHEDULES.register("factor", short="Factor", uses=("factor", "min_lr"), label="factor (x factor each step, floor min_lr)",
                    lr=_factor_lr)
def factor(optimizer: Any, p: ScheduleParams, total_steps: int) -> Any:
    """lr_t = max(base * factor^t, min_lr): torch has no floored exponential, so LambdaLR."""
    from torch.optim.lr_scheduler import LambdaLR

    def floored(b: float) -> Callable[[int], float]:  # one per parameter group: its base LR b
        return lambda t: max(p.factor**t, p.min_lr / b) if b > 0 else 1.0

    return LambdaLR(optimizer, [floored(g["lr"]) for g in optimizer.param_groups])


def _exponential_lr(p: ScheduleParams, base: Any, total: int, t: np.ndarray) -> np.ndarray:
    return base * p.factor**t


@SCHEDULES.register("exponential", short="Exponential", uses=("factor",), label="exponential (x factor each step)", lr=_exponential_lr)
def exponential(optimizer: Any, p: ScheduleParams, total_steps: int) -> Any:
    from torch.optim.lr_scheduler import ExponentialLR

    return ExponentialLR(optimizer, gamma=p.factor)


def _polynomial_lr(p: ScheduleParams, base: Any, total: int, t: np.ndarray) -> np.ndarray:
    return base * (1 - t / total) ** p.power


@SCHEDULES.register("polynomial", short="Polynomial", uses=("power",), label="polynomial decay to 0", lr=_polynomial_lr)
def polynomial(optimizer: Any, p: ScheduleParams, total_steps: int) -> Any:
    from torch.optim.lr_scheduler import PolynomialLR

    return PolynomialLR(optimizer, total_iters=total_steps, power=p.power)


def _cosine_lr(p: ScheduleParams, base: Any, total: int, t: np.ndarray) -> np.ndarray:
    return _cosine(base, p.min_lr, t / max(1, total - 1))


@SCHEDULES.register("cosine", short="Cosine", uses=("min_lr",), label="cosine to min_lr", lr=_cosine_lr)
def cosine(optimizer: Any, p: ScheduleParams, total_steps: int) -> Any:
    from torch.optim.lr_scheduler import CosineAnnealingLR

    # T_max = last step index, so the last step runs at exactly min_lr.
    return CosineAnnealingLR(optimizer, T_max=max(1, total_steps - 1), eta_min=p.min_lr)


def _warmup_cosine_lr(p: ScheduleParams, base: Any, total: int, t: np.ndarray) -> np.ndarray:
    w = p.warmup_steps
    decay = _cosine(base, p.min_lr, (t - w) / max(1, total - 1 - w))
    return np.where(t < w, base * (t + 1) / (w + 1), decay)


@SCHEDULES.register("warmup_cosine", short="Warmup + cosine", uses=("warmup_steps", "min_lr"), label="linear warmup, then cosine",
                    lr=_warmup_cosine_lr)
def warmup_cosine(optimizer: Any, p: ScheduleParams, total_steps: int) -> Any:
    """lr_t = base * (t+1)/(w+1) for t < w, then cosine from base (at t = w) to min_lr (last step)."""
    from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

    w = p.warmup_steps
    decay = CosineAnnealingLR(optimizer, T_max=max(1, total_steps - 1 - w), eta_min=p.min_lr)
    if w == 0:
        return decay
    warmup = LinearLR(optimizer, start_factor=1 / (w + 1), end_factor=1.0, total_iters=w)
    return SequentialLR(optimizer, [warmup, decay], milestones=[w])


def _onecycle_pct(p: ScheduleParams, total_steps: int) -> float:
    """OneCycleLR's pct_start: the peak at step pct * total - 1; each phase needs at least
    one step (else 0/0)."""
    return min(max(p.warmup_steps, 2), total_steps - 2) / total_steps


def _onecycle_lr(p: ScheduleParams, base: Any, total: int, t: np.ndarray) -> np.ndarray:
    peak_at = float(_onecycle_pct(p, total) * total) - 1  # a float, as OneCycleLR computes it
    start = base / p.div_factor
    end = start / p.final_div_factor
    up = _cosine(start, base, t / peak_at)
    down = _cosine(base, end, (t - peak_at) / (total - 1 - peak_at))
    return np.where(t <= peak_at, up, down)


@SCHEDULES.register(
    "onecycle", short="One-cycle", uses=("warmup_steps", "div_factor", "final_div_factor"), label="one-cycle (up to LR, then down)",
    lr=_onecycle_lr,
)
def onecycle(optimizer: Any, p: ScheduleParams, total_steps: int) -> Any:
    """Cosine up from base/div_factor to base over warmup_steps, then down to
    base/(div_factor*final_div_factor) at the last step; the set LR is the peak."""
    from torch.optim.lr_scheduler import OneCycleLR

    peak = [g["lr"] for g in optimizer.param_groups]
    # (as _onecycle_pct: written out, since the exported script copies this function alone)
    pct = min(max(p.warmup_steps, 2), total_steps - 2) / total_steps
    return OneCycleLR(
        optimizer, max_lr=peak, total_steps=total_steps, pct_start=pct,
        anneal_strategy="cos", cycle_momentum=False, div_factor=p.div_factor, final_div_factor=p.final_div_factor,
    )


if TYPE_CHECKING:  # the names are known only once the registry is filled: a str to mypy
    ScheduleName = str
else:
    ScheduleName = Literal[SCHEDULES.names()]


class ScheduleParams(BaseModel):
    """The LR schedule and its hyper-parameters, flat so they fit in a URL. Lab configs
    inherit it (like OptimizerParams); each schedule reads the fields in its meta ``uses``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    schedule: ScheduleName = Field("constant", title="LR schedule", json_schema_extra=SCHEDULES.schema_extra(), description="LR schedule, stepped once per optimizer step")
    step_size: int = Field(100, title="step_size", ge=1, le=MAX_STEPS, description="step: steps between two multiplications by gamma")
    gamma: float = Field(0.5, title="γ", gt=0.0, le=1.0, description="step/multistep: LR multiplier at each drop")
    milestones: list[int] = Field(
        [200, 400], title="milestones", min_length=1, max_length=MAX_MILESTONES,
        description=f"multistep: steps where the LR is multiplied by gamma, strictly increasing, 1-{MAX_STEPS}",
    )
    factor: float = Field(0.999, title="factor", gt=0.0, le=1.0, description="factor/exponential: LR multiplier per step")
    min_lr: float = Field(0.0, title="final / min LR", ge=0.0, le=10.0, description="factor: floor; cosine/warmup_cosine: final LR")
    power: float = Field(1.0, title="power", gt=0.0, le=10.0, description="polynomial: (1 - t/T)^power")
    warmup_steps: int = Field(
        50, title="warmup steps", ge=0, le=MAX_STEPS, description="warmup_cosine: linear warmup length; onecycle: steps to the peak"
    )
    div_factor: float = Field(25.0, title="start ÷", ge=1.0, le=1e4, description="onecycle: start LR = LR / div_factor")
    final_div_factor: float = Field(1e4, title="end ÷", ge=1.0, le=1e6, description="onecycle: end LR = start LR / final_div_factor")

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
    """A schedule attached to an optimizer: it sets each parameter group's LR for step ``t``
    from the closed form (the group's LR when built is its base), ``step()`` after each
    optimizer step; holds the LR once the horizon ends."""

    CHUNK = 256  # steps evaluated at once: a step reads its LR from an array (well under a µs)

    def __init__(self, optimizer: Any, params: ScheduleParams, total_steps: int, start: int = 0) -> None:
        self.optimizer = optimizer
        self.params = params
        self.total_steps = total_steps
        self.t = start  # index of the step the current LR is for
        # a constant schedule never changes the LR: stepping it is skipped
        self.constant = params.schedule == "constant"
        self._lr_at: ClosedForm = SCHEDULES[params.schedule].meta["lr"]
        self._bases = np.array([[float(g["lr"])] for g in optimizer.param_groups])  # (groups, 1)
        self._chunk = np.empty((len(self._bases), 0))  # LRs of steps _chunk_start ..., one row per group
        self._chunk_start = 0
        self._apply()

    def step(self) -> None:
        self.t += 1
        if self.t < self.total_steps and not self.constant:
            self._apply()

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def _apply(self) -> None:
        t = min(self.t, self.total_steps - 1)
        i = t - self._chunk_start
        if not 0 <= i < self._chunk.shape[1]:
            steps = np.arange(t, min(t + self.CHUNK, self.total_steps))
            self._chunk = np.broadcast_to(self._lr_at(self.params, self._bases, self.total_steps, steps),
                                          (len(self._bases), len(steps)))
            self._chunk_start, i = t, 0
        for group, lr in zip(self.optimizer.param_groups, self._chunk[:, i].tolist()):
            group["lr"] = lr


def build_schedule(optimizer: Any, params: ScheduleParams, total_steps: int, start: int = 0,
                   base_lr: float | None = None) -> Schedule:
    """Attach ``params.schedule`` to ``optimizer``: the base LR is ``base_lr`` if given (set on
    every group first), else each group's current ``lr``. ``start`` is the step the run is at,
    so a schedule changed mid-run continues on the same step axis (the LR jumps onto the new
    curve at the current step). O(1) in ``start``: nothing is replayed."""
    params.check_horizon(total_steps)
    if base_lr is not None:
        for group in optimizer.param_groups:
            group["lr"] = base_lr
    return Schedule(optimizer, params, total_steps, start)


def schedule_curve(params: ScheduleParams, base_lr: float, steps: int) -> list[float]:
    """The LR of every step 0..steps-1 over a horizon of ``steps``: one vectorized evaluation
    of the closed form training uses (about a millisecond at 20,000 steps)."""
    params.check_horizon(steps)
    curve = SCHEDULES[params.schedule].meta["lr"](params, float(base_lr), steps, np.arange(steps))
    return np.where(np.isfinite(curve), curve, 0.0).tolist()
