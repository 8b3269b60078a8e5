"""The lab base: a lab that writes only what is its own (a parameter, a step, what a change
rebuilds, its views) gets the optimizer and LR schedule from the registries, the LR, finite
metrics, the config diff, the planned-LR curve and snapshots from descent.labs.base."""

from __future__ import annotations

import math
from typing import Any, Literal

import pytest
import torch

from descent.labs.base import Lab, Rebuilt
from descent.nn.optimizers import OptimizerParams
from descent.nn.schedules import ScheduleParams, schedule_curve


class ToyConfig(OptimizerParams, ScheduleParams):
    lab: Literal["toy"] = "toy"
    optimizer: str = "sgd"
    learning_rate: float = 0.1
    horizon: int = 50
    target: float = 3.0


class Toy(Lab[ToyConfig]):
    """Minimise (w - target)^2: its own parts only."""

    def __init__(self, config: ToyConfig, device: torch.device) -> None:
        super().__init__(config, device)
        self.changes: list[set[str]] = []
        self.reset()

    def reset(self) -> None:
        self.w = torch.zeros((), requires_grad=True)
        self.step_count = 0
        self.build_optimizer([self.w])
        self.epoch_metrics: dict[str, float | None] = {"loss": float("nan"), "w": 0.0}

    @property
    def steps_per_epoch(self) -> int:
        return 1

    def step(self, n: int) -> None:
        for _ in range(n):
            loss = (self.w - self.config.target) ** 2
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            self.step_schedule()
            self.step_count += 1
            self.epoch_metrics = {"loss": loss.item(), "w": self.w.item()}

    def reconfigure(self, old: ToyConfig, changed: set[str]) -> Rebuilt:
        self.changes.append(changed)
        if "optimizer" in changed:
            self.build_optimizer([self.w])
            return "optimizer"
        if changed & {"learning_rate", "schedule", "horizon"}:
            self.build_schedule()
        return "none"

    def views(self, full: bool, detail: bool = True) -> dict[str, Any]:
        return {"w": self.w.item(), **self.schedule_views(full)}


CPU = torch.device("cpu")


def test_the_optimizer_and_schedule_come_from_the_registries() -> None:
    lab = Toy(ToyConfig(schedule="cosine", horizon=40), CPU)
    curve = schedule_curve(lab.config, 0.1, 40)
    for t in range(30):
        assert lab.lr == pytest.approx(curve[t])
        lab.step(1)
    assert lab.metrics()["w"] == pytest.approx(lab.w.item()) and math.isfinite(lab.metrics()["loss"] or math.nan)


def test_metrics_are_finite_or_none() -> None:
    assert Toy(ToyConfig(), CPU).metrics() == {"loss": None, "w": 0.0}


def test_configure_hands_the_changed_fields_to_the_lab() -> None:
    lab = Toy(ToyConfig(), CPU)
    assert lab.configure(ToyConfig(learning_rate=0.05), ["learning_rate"]) == "none"
    assert lab.configure(ToyConfig(learning_rate=0.05, optimizer="adam")) == "optimizer"  # (worked out when not given)
    assert lab.changes == [{"learning_rate"}, {"optimizer"}]
    assert lab.lr == pytest.approx(0.05) and type(lab.optimizer).__name__ == "Adam"


def test_the_planned_curve_goes_once_per_schedule() -> None:
    lab = Toy(ToyConfig(schedule="step", step_size=10, gamma=0.5, horizon=40), CPU)
    curve = lab.views(full=False)["schedule"]
    assert curve["horizon"] == 40 and curve["steps"][-1] == 39 and curve["steps_per_epoch"] == 1
    assert curve["lr"][curve["steps"].index(10)] == pytest.approx(0.05)
    assert "schedule" not in lab.views(full=False)
    assert "schedule" in lab.views(full=True)
    lab.configure(ToyConfig(schedule="step", step_size=10, gamma=0.5, horizon=40, learning_rate=0.2))
    assert lab.views(full=False)["schedule"]["lr"][0] == pytest.approx(0.2)


def test_a_restored_lab_goes_on_on_its_schedule() -> None:
    lab = Toy(ToyConfig(schedule="exponential", factor=0.9, horizon=50), CPU)
    lab.step(7)
    back = Toy.restore(lab.snapshot())
    back.step(5)
    lab.step(5)
    assert back.lr == pytest.approx(lab.lr) and back.w.item() == pytest.approx(lab.w.item())


def test_a_lab_with_its_own_one_argument_configure_still_works() -> None:
    class Old(Toy):
        def configure(self, config: ToyConfig) -> Rebuilt:  # type: ignore[override]  # (the older signature, on purpose)
            self.config = config
            return "none"

    lab = Old(ToyConfig(), CPU)
    assert lab.configure(ToyConfig(target=1.0), ["target"]) == "none" and lab.config.target == 1.0
