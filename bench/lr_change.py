"""What one LR change costs the worker, late in a long run: before, the schedule was a torch
scheduler fast-forwarded to the run's step, and the page's curve was the same scheduler
stepped over the whole horizon; now both come from the schedule's closed form
(schedules.py). Medians of several; the MLP lab's longest horizon (20,000 steps), a run
at step 19,000.

    PYTHONPATH=backend python -m bench.lr_change"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from bench.common import Row, median_time
from descent.nn.schedules import SCHEDULES, ScheduleParams, build_schedule, schedule_curve
from descent.protocol import Configure
from descent.runtime.session import Session

TITLE = "one LR change at step 19,000 of a 20,000-step schedule (1 CPU thread)"
HORIZON, AT = 20_000, 19_000
NAMES = ("warmup_cosine", "cosine", "onecycle", "step")
REPEATS = 5


def torch_change(p: ScheduleParams, optimizer: Any) -> None:
    """The change as it was: the torch scheduler built, then stepped up to the run's step."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        scheduler = SCHEDULES[p.schedule].fn(optimizer, p, HORIZON)
        for _ in range(AT):
            scheduler.step()


def torch_curve(p: ScheduleParams) -> list[float]:
    """The page's curve as it was: a throwaway optimizer's scheduler over the horizon."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    curve = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        scheduler = SCHEDULES[p.schedule].fn(optimizer, p, HORIZON)
        for t in range(HORIZON):
            curve.append(optimizer.param_groups[0]["lr"])
            if t < HORIZON - 1:
                scheduler.step()
    return curve


def session_change_us() -> float:
    """One LR change through a Session (validation, the lab's rebuilt schedule), now."""
    session = Session("bench", torch.device("cpu"), lambda m: None)
    session.handle(Configure(type="configure", config={"schedule": "warmup_cosine", "schedule_steps": HORIZON}))
    session.lab.step_count = AT
    rates = iter(range(1, 10**6))
    return median_time(lambda: session.handle(Configure(type="configure", config={"learning_rate": next(rates) / 1e4})),
                       repeats=50) * 1e6


def rows() -> list[Row]:
    torch.set_num_threads(1)
    out: list[Row] = []
    for name in NAMES:
        p = ScheduleParams(schedule=name)
        optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        before = median_time(lambda: (torch_change(p, optimizer), torch_curve(p)), REPEATS)
        now = median_time(lambda: (build_schedule(optimizer, p, HORIZON, start=AT, base_lr=0.1),
                                   schedule_curve(p, 0.1, HORIZON)), REPEATS)
        change = median_time(lambda: build_schedule(optimizer, p, HORIZON, start=AT, base_lr=0.1), 50)
        out.append({"name": f"{name}: torch fast-forward + torch curve (before)", "value": round(before * 1e3, 1),
                    "unit": "ms", "note": ""})
        out.append({"name": f"{name}: closed form + vectorized curve (now)", "value": round(now * 1e3, 2),
                    "unit": "ms", "note": f"{before / now:.0f}x less; the schedule alone {change * 1e6:.0f} µs"})
    out.append({"name": "a Configure of learning_rate through a Session (now)", "value": round(session_change_us()),
                "unit": "µs", "note": "validation + schedule; the curve goes with the next frame"})
    return out


if __name__ == "__main__":
    from bench.common import print_table

    print_table(TITLE, rows())
