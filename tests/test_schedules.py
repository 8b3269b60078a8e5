"""Every LR schedule against its formula and against torch.optim.lr_scheduler built by hand;
schedule_curve against what a live optimizer actually sees."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from descent.nn.schedules import SCHEDULES, Schedule, ScheduleParams, build_schedule, schedule_curve
from tests.wsutil import step_epoch

BASE = 0.4
T = 60
P = ScheduleParams(step_size=7, gamma=0.3, milestones=[5, 17, 40], factor=0.9, min_lr=0.02, power=2.0,
                   warmup_steps=10, div_factor=10.0, final_div_factor=100.0)


def formula(name: str, p: ScheduleParams, t: int, total: int = T) -> float:
    """The LR of step t (0-based), written out."""
    t = min(t, total - 1)  # held after the horizon
    if name == "constant":
        return BASE
    if name == "step":
        return BASE * p.gamma ** (t // p.step_size)
    if name == "multistep":
        return BASE * p.gamma ** sum(t >= m for m in p.milestones)
    if name == "factor":
        return max(BASE * p.factor**t, p.min_lr)
    if name == "exponential":
        return BASE * p.factor**t
    if name == "polynomial":
        return BASE * (1 - t / total) ** p.power
    if name == "cosine":
        return p.min_lr + (BASE - p.min_lr) * (1 + math.cos(math.pi * t / (total - 1))) / 2
    if name == "warmup_cosine":
        w = p.warmup_steps
        if t < w:
            return BASE * (t + 1) / (w + 1)
        return p.min_lr + (BASE - p.min_lr) * (1 + math.cos(math.pi * (t - w) / (total - 1 - w))) / 2
    if name == "onecycle":
        start, end = BASE / p.div_factor, BASE / p.div_factor / p.final_div_factor
        peak_at = p.warmup_steps - 1

        def cos_anneal(a: float, b: float, frac: float) -> float:
            return b + (a - b) * (1 + math.cos(math.pi * frac)) / 2

        if t <= peak_at:
            return cos_anneal(start, BASE, t / peak_at)
        return cos_anneal(BASE, end, (t - peak_at) / (total - 1 - peak_at))
    raise AssertionError(name)


def test_names_are_the_documented_ones() -> None:
    assert SCHEDULES.names() == (
        "constant", "step", "multistep", "factor", "exponential", "polynomial", "cosine", "warmup_cosine", "onecycle"
    )


@pytest.mark.parametrize("name", SCHEDULES.names())
def test_curve_matches_formula(name: str) -> None:
    p = P.model_copy(update={"schedule": name})
    curve = schedule_curve(p, BASE, T)
    assert len(curve) == T
    want = [formula(name, p, t) for t in range(T)]
    assert curve == pytest.approx(want, rel=1e-6, abs=1e-9)


def torch_reference(name: str, opt: torch.optim.Optimizer) -> object:
    """The same schedules built directly from torch.optim.lr_scheduler with the raw arguments."""
    s = torch.optim.lr_scheduler
    return {
        "step": lambda: s.StepLR(opt, 7, 0.3),
        "multistep": lambda: s.MultiStepLR(opt, [5, 17, 40], 0.3),
        "exponential": lambda: s.ExponentialLR(opt, 0.9),
        "factor": lambda: s.ExponentialLR(opt, 0.9),  # equal while above the floor
        "polynomial": lambda: s.PolynomialLR(opt, total_iters=T, power=2.0),
        "cosine": lambda: s.CosineAnnealingLR(opt, T_max=T - 1, eta_min=0.02),
        "onecycle": lambda: s.OneCycleLR(opt, max_lr=BASE, total_steps=T, pct_start=10 / T,
                                         cycle_momentum=False, div_factor=10.0, final_div_factor=100.0),
    }[name]()


@pytest.mark.parametrize("name", ["step", "multistep", "exponential", "factor", "polynomial", "cosine", "onecycle"])
def test_curve_matches_torch_scheduler(name: str) -> None:
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=BASE)
    sched = torch_reference(name, opt)
    want = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(T):
            want.append(opt.param_groups[0]["lr"])
            sched.step()  # type: ignore[attr-defined]
    curve = schedule_curve(P.model_copy(update={"schedule": name}), BASE, T)
    if name == "factor":  # the floor cuts in once 0.4 * 0.9^t < 0.02
        want = [max(v, 0.02) for v in want]
    assert curve == pytest.approx(want, rel=1e-9)


def test_warmup_cosine_matches_torch_sequential_of_linear_and_cosine() -> None:
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=BASE)
    s = torch.optim.lr_scheduler
    w = 10
    sched = s.SequentialLR(
        opt,
        [s.LinearLR(opt, start_factor=1 / (w + 1), total_iters=w), s.CosineAnnealingLR(opt, T_max=T - 1 - w, eta_min=0.02)],
        milestones=[w],
    )
    want = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(T):
            want.append(opt.param_groups[0]["lr"])
            sched.step()
    assert schedule_curve(P.model_copy(update={"schedule": "warmup_cosine"}), BASE, T) == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("name", SCHEDULES.names())
def test_live_optimizer_follows_curve_and_holds_after_horizon(name: str) -> None:
    """The same code drives training: an optimizer stepped past the horizon sees the curve,
    then the last value."""
    p = P.model_copy(update={"schedule": name})
    curve = schedule_curve(p, BASE, T)
    w = torch.zeros(2, requires_grad=True)
    opt = torch.optim.Adam([w], lr=BASE)
    sched = build_schedule(opt, p, T)
    seen = []
    for _ in range(T + 15):
        seen.append(opt.param_groups[0]["lr"])
        w.grad = torch.ones(2)
        opt.step()
        sched.step()
    assert seen[:T] == pytest.approx(curve, rel=1e-12)
    assert seen[T:] == pytest.approx([curve[-1]] * 15, rel=1e-12)


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step")
@pytest.mark.parametrize("name", SCHEDULES.names())
def test_rebuild_mid_run_continues_on_the_step_axis(name: str) -> None:
    """A schedule rebuilt at step k on an optimizer whose LR was already decayed by another
    schedule picks up the new curve at k (no stale base LR)."""
    p = P.model_copy(update={"schedule": name})
    curve = schedule_curve(p, BASE, T)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=BASE)
    first = build_schedule(opt, P.model_copy(update={"schedule": "exponential"}), T)
    for _ in range(20):
        first.step()
    for group in opt.param_groups:
        group["lr"] = BASE  # the lab resets the base LR before rebuilding
    second = build_schedule(opt, p, T, start=20)
    got = []
    for _ in range(20, T):
        got.append(opt.param_groups[0]["lr"])
        second.step()
    assert got == pytest.approx(curve[20:], rel=1e-9)


@pytest.mark.parametrize(
    "patch,field",
    [
        ({"milestones": [10, 10]}, "milestones"),
        ({"milestones": [30, 20]}, "milestones"),
        ({"milestones": [0, 20]}, "milestones"),
        ({"milestones": []}, "milestones"),
        ({"gamma": 0.0}, "gamma"),
        ({"gamma": 1.5}, "gamma"),
        ({"factor": 1.01}, "factor"),
        ({"warmup_steps": -1}, "warmup_steps"),
        ({"min_lr": -0.1}, "min_lr"),
        ({"power": 0}, "power"),
        ({"schedule": "sawtooth"}, "schedule"),
        ({"step_size": 0}, "step_size"),
    ],
)
def test_bad_params_name_the_field(patch: dict, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        ScheduleParams(**patch)
    (e,) = err.value.errors()
    assert e["loc"][0] == field
    assert e["msg"]


def test_warmup_longer_than_horizon_names_the_field() -> None:
    p = ScheduleParams(schedule="warmup_cosine", warmup_steps=100)
    with pytest.raises(ValueError, match="warmup_steps"):
        schedule_curve(p, BASE, 50)
    # a schedule that does not use warmup_steps does not care
    assert len(schedule_curve(p.model_copy(update={"schedule": "cosine"}), BASE, 50)) == 50


def test_uses_fields_exist() -> None:
    for entry in SCHEDULES:
        assert set(entry.meta["uses"]) <= set(ScheduleParams.model_fields), entry.name


def test_module_is_torch_free_at_import() -> None:
    code = "import sys; import descent.nn.schedules, descent.nn.optimizers; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(["backend", os.environ.get("PYTHONPATH", "")])}, cwd=__file__.rsplit("/tests/", 1)[0])
    assert out.stdout.strip() == "False"


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", SCHEDULES.names())
def test_short_horizons_and_any_warmup_either_work_or_name_the_field(name: str) -> None:
    for steps in range(2, 8):
        for warmup in range(0, 8):
            p = ScheduleParams(schedule=name, warmup_steps=warmup)
            try:
                curve = schedule_curve(p, BASE, steps)
            except ValueError as e:
                assert "warmup_steps" in str(e) or "total_steps" in str(e)
                continue
            assert len(curve) == steps and all(0 <= v <= BASE + 1e-12 for v in curve)


# ---- the closed forms against torch, and what an LR change costs ---------------------------

# (params, horizon) cases: every branch of every closed form, short and long horizons
CASES = [
    (P, 60),
    (P.model_copy(update={"warmup_steps": 0, "min_lr": 0.0}), 2),
    (P.model_copy(update={"warmup_steps": 1}), 3),
    (P.model_copy(update={"warmup_steps": 0}), 4),
    (P.model_copy(update={"warmup_steps": 2, "min_lr": 0.9}), 5),  # min_lr above the base: cosine climbs
    (P.model_copy(update={"warmup_steps": 0, "factor": 0.999, "step_size": 300, "milestones": [1, 999, 1000]}), 1000),
    (P.model_copy(update={"warmup_steps": 700, "factor": 0.9995, "min_lr": 0.0, "power": 0.5}), 5000),
]


def torch_lrs(name: str, p: ScheduleParams, total: int, bases: list[float], steps: int) -> list[list[float]]:
    """Each step's LR per parameter group, from the registry's torch factory, stepped as the
    lab stepped it before closed forms: up to the horizon, then held."""
    opt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": b} for b in bases])
    sched = SCHEDULES[name].fn(opt, p, total)
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for t in range(steps):
            seen.append([g["lr"] for g in opt.param_groups])
            if t < total - 1:
                sched.step()
    return seen


@pytest.mark.parametrize("name", SCHEDULES.names())
def test_closed_form_equals_torch_at_every_step_from_any_start(name: str) -> None:
    """The LR of every step, built at step 0 or at any later step (a change mid-run), before
    and past the horizon, equals the torch scheduler's, per parameter group."""
    bases = [BASE, 0.003]
    for case, total in CASES:
        p = case.model_copy(update={"schedule": name})
        try:
            p.check_horizon(total)
        except ValueError:  # (onecycle needs 4 steps)
            continue
        want = torch_lrs(name, p, total, bases, total + 10)
        curve = schedule_curve(p, BASE, total)
        assert curve == pytest.approx([w[0] for w in want[:total]], rel=1e-10, abs=1e-300), total
        starts = range(total + 10) if total <= 60 else [*range(0, total + 10, 97), total - 2, total - 1, total + 3]
        for start in starts:
            opt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": b} for b in bases])
            schedule = build_schedule(opt, p, total, start=start)
            got = []
            for _ in range(3):
                got.append([g["lr"] for g in opt.param_groups])
                schedule.step()
            assert schedule.t == start + 3 and schedule.lr == opt.param_groups[0]["lr"]
            held = [want[min(t, total + 9)] for t in range(start, start + 3)]
            assert np.array(got) == pytest.approx(np.array(held), rel=1e-10, abs=1e-300), (total, start)


@pytest.mark.parametrize("name", SCHEDULES.names())
def test_closed_form_equals_torch_over_the_longest_mlp_horizon(name: str) -> None:
    """20,000 steps (the MLP lab's longest schedule_steps): the recursive torch schedulers
    (cosine, polynomial, exponential ...) do not drift from the closed forms."""
    p = P.model_copy(update={"schedule": name, "warmup_steps": 500, "factor": 0.9995, "min_lr": 0.001})
    want = torch_lrs(name, p, 20_000, [BASE], 20_000)
    assert schedule_curve(p, BASE, 20_000) == pytest.approx([w[0] for w in want], rel=1e-10, abs=1e-300)


class Counting:
    """Counts torch scheduler steps and the steps each closed-form call evaluates."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
        self.torch_steps = 0
        self.evaluated: list[int] = []  # steps asked of the closed form, per call
        step = torch.optim.lr_scheduler.LRScheduler.step
        closed_form = SCHEDULES[name].meta.get("lr")

        def counted_step(sched: object, *args: object, **kwargs: object) -> None:
            self.torch_steps += 1
            step(sched, *args, **kwargs)  # type: ignore[arg-type]

        def counted_closed_form(p: ScheduleParams, base: object, total: int, t: np.ndarray) -> np.ndarray:
            self.evaluated.append(len(t))
            return closed_form(p, base, total, t)  # type: ignore[misc]

        monkeypatch.setattr(torch.optim.lr_scheduler.LRScheduler, "step", counted_step)
        monkeypatch.setitem(SCHEDULES[name].meta, "lr", counted_closed_form)


def test_a_schedule_built_late_in_a_run_replays_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    count = Counting(monkeypatch, "warmup_cosine")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=BASE)
    p = ScheduleParams(schedule="warmup_cosine")
    schedule = build_schedule(opt, p, 20_000, start=19_000)
    assert count.torch_steps == 0 and count.evaluated == [Schedule.CHUNK]
    for _ in range(2 * Schedule.CHUNK):
        schedule.step()
    assert count.torch_steps == 0 and count.evaluated == [Schedule.CHUNK] * 3


def test_a_burst_of_lr_changes_late_in_a_run_costs_each_one_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """60 LR changes (a slider dragged) through a real Session at step 19,000 of a
    20,000-step warmup_cosine run: no change replays the schedule from step 0 (no torch
    scheduler is stepped; each change evaluates one chunk of the closed form, each frame one
    vectorized curve), and the LR is the new curve's at the run's step."""
    from descent.protocol import Configure
    from descent.runtime.session import Session

    sent: list[dict] = []
    session = Session("lr", torch.device("cpu"), sent.append)
    horizon = 20_000
    session.handle(Configure(type="configure", config={"schedule": "warmup_cosine", "schedule_steps": horizon}))
    step_epoch(session)  # one real epoch
    lab = session.lab
    lab.step_count = 19_000  # the run's step axis, late: where a replay would cost the most
    count = Counting(monkeypatch, "warmup_cosine")
    frames = 0
    for i in range(60):
        lr = round(0.01 + 0.005 * i, 4)
        session.handle(Configure(type="configure", config={"learning_rate": lr}))
        assert session.failed is None and not [m for m in sent if m["type"] == "error"]
        assert lab.lr == pytest.approx(schedule_curve(lab.config, lr, horizon)[19_000], rel=1e-12)
        if i % 3 == 0:  # the page asks for frames meanwhile: each carries the changed curve
            session.send_frame(0.0)
            frames += 1
            assert sent[-1]["views"]["schedule"]["horizon"] == horizon
    assert count.torch_steps == 0
    curves = [n for n in count.evaluated if n == horizon]
    chunks = [n for n in count.evaluated if n != horizon]
    assert len(chunks) == 60 and max(chunks) <= Schedule.CHUNK
    assert len(curves) <= 60 + frames  # (this test's own schedule_curve calls, and one per frame)
    step_epoch(session)  # training goes on along the curve
    assert lab.step_count == 19_000 + lab.steps_per_epoch
    assert lab.lr == pytest.approx(schedule_curve(lab.config, lab.config.learning_rate, horizon)[lab.step_count], rel=1e-12)
