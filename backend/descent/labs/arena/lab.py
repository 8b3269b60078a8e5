"""The descent arena: each racer is one 2-D point with its own torch.optim optimizer (from
the shared registry) and LR schedule, all starting from the same point on one surface."""

from __future__ import annotations

import math
from typing import Any

import torch

from descent.encoding import b64
from descent.history import History
from descent.labs.arena.schema import GRID, Config, Racer, lr_presets, optimizer_catalog, schedule_catalog
from descent.labs.arena.surfaces import SURFACES, contains
from descent.labs.base import Lab as BaseLab
from descent.labs.base import Pace, Rebuilt
from descent.nn.optimizers import OPTIMIZERS
from descent.nn.schedules import build_schedule

# Changing these only changes how the race goes on; anything else starts a new race, since
# a race compares optimizers from one start point.
LIVE_KEYS = {"noise", "speed"}
FAR = 1.0  # a racer farther than this many window spans outside the window has diverged
REACH = 0.01  # within this fraction of the window's span of a known minimum = reached
GAP_FLOOR = 1e-12  # f - f_min is floored here: f_min is only known to float precision
VELOCITY_STATE = ("momentum_buffer", "exp_avg")  # SGD momentum's velocity, Adam's first moment
DTYPE = torch.float64  # 2-D points: precision is free, and Rosenbrock's valley needs it


class Runner:
    """One racer: its point, optimizer, schedule and what happened to it."""

    def __init__(self, index: int, spec: Racer, start: tuple[float, float], config: Config) -> None:
        self.index = index
        self.spec = spec
        self.point = torch.tensor(start, dtype=DTYPE, requires_grad=True)  # (2,)
        self.optimizer = OPTIMIZERS[spec.optimizer].fn([self.point], spec.learning_rate, spec)
        self.schedule = build_schedule(self.optimizer, config, config.horizon)
        self.diverged: str | None = None
        self.reached: int | None = None
        self.last: dict[str, Any] | None = None

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def velocity(self) -> list[float] | None:
        state = self.optimizer.state.get(self.point, {})
        for key in VELOCITY_STATE:
            if key in state:
                return _pair(state[key])
        return None


class Lab(BaseLab[Config]):
    def __init__(self, config: Config, device: torch.device) -> None:
        # 2-D points: on a GPU each tiny kernel launch would cost more than its maths
        super().__init__(config, torch.device("cpu"))
        self.pace = Pace(self.pace_rate())  # a race people watch: config.speed steps per second
        self._new_race()

    # ---- building -------------------------------------------------------------------

    def _new_race(self) -> None:
        cfg = self.config
        self.meta = SURFACES[cfg.surface].meta
        self.surface = SURFACES[cfg.surface].fn
        self.start = cfg.start_point
        x0, x1, y0, y1 = self.meta["window"]
        self.tolerance = REACH * max(x1 - x0, y1 - y0)
        self.minima = torch.tensor(self.meta["minima"], dtype=DTYPE)  # (M, 2)
        self.runners = [Runner(i, spec, self.start, cfg) for i, spec in enumerate(cfg.racers)]
        self.noise = torch.Generator().manual_seed(cfg.seed)
        self.step_count = 0
        self.epoch = 0
        self.diverged = None
        names = [f"{kind}{i}" for i in range(len(self.runners)) for kind in ("x", "y", "gap")]
        self.history = History(tuple(names), cap=2000)
        self._record()

    # ---- racing ---------------------------------------------------------------------

    @property
    def steps_per_epoch(self) -> int:
        return 1  # the step button moves every racer by one optimizer step

    def step(self, n: int) -> None:
        """Up to ``n`` race steps, paced to ``config.speed`` steps per second: those due now
        (the session waits for the next one through ``due_in``)."""
        self.advance(self.paced(n))

    def advance(self, n: int) -> None:
        """``n`` race steps now (unpaced): one optimizer step for every racer still racing."""
        for _ in range(n):
            active = [r for r in self.runners if r.diverged is None]
            if not active:
                return
            for r in active:
                r.optimizer.zero_grad(set_to_none=True)
            points = torch.stack([r.point for r in active])  # (R, 2)
            # one backward for all: racer i's value depends only on its own point
            self.surface(points[:, 0], points[:, 1]).sum().backward()
            self.step_count += 1
            self.epoch = self.step_count
            for r in active:
                self._move(r)
            self._record()
            if all(r.diverged for r in self.runners):
                reasons = "; ".join(f"racer {r.index + 1} ({r.spec.optimizer}): {r.diverged}" for r in self.runners)
                self.diverged = f"every racer diverged: {reasons}"
                return

    def _move(self, r: Runner) -> None:
        grad = r.point.grad  # (2,)
        assert grad is not None  # (the race's backward set it)
        if self.config.noise > 0:
            grad.add_(torch.randn(2, generator=self.noise, dtype=DTYPE), alpha=self.config.noise)
        w_old, g, lr = _pair(r.point), _pair(grad), r.lr
        r.optimizer.step()
        r.schedule.step()
        w_new = _pair(r.point)
        r.last = {"w_old": w_old, "grad": g, "lr": lr, "update": [b - a for a, b in zip(w_old, w_new)], "w_new": w_new}
        if not all(math.isfinite(v) for v in w_new):
            r.diverged = f"the point became {w_new} at step {self.step_count} (lr {lr:g})"
        elif not contains(self.config.surface, w_new, margin=FAR):
            r.diverged = f"left the view far behind at step {self.step_count}, at ({w_new[0]:.3g}, {w_new[1]:.3g}) (lr {lr:g})"
        elif r.reached is None and self._distance_to_minimum(r) < self.tolerance:
            r.reached = self.step_count

    def _distance_to_minimum(self, r: Runner) -> float:
        return float((self.minima - r.point.detach()).norm(dim=1).min())

    @torch.no_grad()
    def _record(self) -> None:
        values: dict[str, float] = {}
        for r in self.runners:
            if r.diverged:
                continue  # missing values are sent as null: the trajectory ends there
            x, y = _pair(r.point)
            gap = max(float(self.surface(r.point[0], r.point[1])) - self.meta["f_min"], GAP_FLOOR)
            # plotting precision: a millionth of a unit, four digits of f (halves the JSON)
            values |= {f"x{r.index}": round(x, 6), f"y{r.index}": round(y, 6), f"gap{r.index}": float(f"{gap:.4g}")}
        self.history.append(self.step_count, values)

    # ---- changes --------------------------------------------------------------------

    def reconfigure(self, old: Config, changed: set[str]) -> Rebuilt:
        if changed - LIVE_KEYS:
            self._new_race()
            return "network"
        return "none"

    def reset(self) -> None:
        self._new_race()  # the same seed: a reset replays the same race, noise included

    def rebuilt(self) -> None:
        """After a restore: each racer's schedule at the step it had reached."""
        cfg = self.config
        for r in self.runners:
            r.schedule = build_schedule(r.optimizer, cfg, cfg.horizon, start=r.schedule.t, base_lr=r.spec.learning_rate)

    # ---- reading --------------------------------------------------------------------

    @property
    def lr(self) -> float:
        return self.runners[0].lr

    def measure(self) -> dict[str, float | None]:
        racing = [r for r in self.runners if not r.diverged]
        gaps = [self.history.series[f"gap{r.index}"][-1] for r in racing]
        finite = [g for g in gaps if g is not None]
        return {
            "racing": float(len(racing)),
            "reached": float(sum(r.reached is not None for r in self.runners)),
            "best_gap": min(finite) if finite else None,
        }

    def _gradient(self, r: Runner) -> list[float] | None:
        """The noise-free gradient at the racer's point (what the arrow shows)."""
        if r.diverged:
            return None
        point = r.point.detach().clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(self.surface(point[0], point[1]), point)
        return _finite_pair(grad)

    def views(self, full: bool, detail: bool = True) -> dict[str, Any]:
        racers = []
        for r in self.runners:
            with torch.no_grad():
                value = float(self.surface(r.point[0], r.point[1]))
            racers.append(
                {
                    "index": r.index,
                    "optimizer": r.spec.optimizer,
                    "status": "diverged" if r.diverged else "racing",
                    "reason": r.diverged,
                    "point": _finite_pair(r.point.detach()) or list(self.start),
                    "value": value if math.isfinite(value) else None,
                    "lr": r.lr,
                    "grad": self._gradient(r),
                    "momentum": None if r.diverged else r.velocity(),
                    "last": _finite_last(r.last),
                    "reached": r.reached,
                }
            )
        views: dict[str, Any] = {"racers": racers, "tolerance": self.tolerance}
        if full:
            views["surface"] = self._surface_view()
            views["optimizers"] = optimizer_catalog()
            views["schedules"] = schedule_catalog()
        return views

    @torch.no_grad()
    def _surface_view(self) -> dict[str, Any]:
        meta, name = self.meta, self.config.surface
        x0, x1, y0, y1 = meta["window"]
        xs = torch.linspace(x0, x1, GRID, dtype=DTYPE)
        ys = torch.linspace(y0, y1, GRID, dtype=DTYPE)
        yy, xx = torch.meshgrid(ys, xs, indexing="ij")  # (GRID, GRID): row i is y = ys[i]
        f = self.surface(xx, yy)
        delta = 0.0
        if meta["scale"] == "log":
            # a floor of 1e-4 of the range keeps the pit around the minimum a few decades deep
            delta = float((f.max() - meta["f_min"]) * 1e-4)
            f = torch.log10(f - meta["f_min"] + delta)
        lo, hi = float(f.min()), float(f.max())
        quantized = ((f - lo) / max(hi - lo, 1e-300) * 65535).round().to(torch.int32).numpy().astype("<u2")
        return {
            "name": name,
            "label": meta["label"],
            "note": meta["note"],
            "window": meta["window"],
            "start": list(self.start),
            "minima": [list(m) for m in meta["minima"]],
            "f_min": meta["f_min"],
            "scale": meta["scale"],
            "delta": delta,
            "grid": {
                "resolution": GRID,
                "range": (lo, hi),
                "encoding": "base64-uint16le",
                "data": b64(quantized),
            },
            "presets": {o: lr_presets(name, o) for o in OPTIMIZERS.names()},
        }


def _pair(t: torch.Tensor) -> list[float]:
    return [float(v) for v in t.detach()]


def _finite_pair(t: torch.Tensor) -> list[float] | None:
    pair = _pair(t)
    return pair if all(math.isfinite(v) for v in pair) else None


def _finite_last(last: dict[str, Any] | None) -> dict[str, Any] | None:
    """The last step, or None when it holds non-finite numbers (JSON has no inf/NaN)."""
    if last is None:
        return None
    numbers = [*last["w_old"], *last["grad"], last["lr"], *last["update"], *last["w_new"]]
    return last if all(math.isfinite(v) for v in numbers) else None
