"""labs/mlp/diagnosis.py: a diverged run and a stalled one, explained with real training."""

from __future__ import annotations

import torch

from descent.labs import config_model, lab_class
from descent.labs.mlp import diagnosis

CPU = torch.device("cpu")


def run(epochs: int, **patch: object) -> object:
    lab = lab_class("mlp")(config_model("mlp").model_validate({"lab": "mlp", **patch}), CPU)
    for _ in range(epochs):
        lab.step(lab.steps_per_epoch)
    return lab


def test_lr_10_on_the_default_setup_stalls_on_a_saturated_tanh_and_says_so() -> None:
    lab = run(8, learning_rate=10)
    assert lab.diverged is None
    view = lab.views(False)["diagnosis"]
    assert view and view["kind"] == "stalled"
    assert "every gradient is about 0" in view["text"] and "tanh" in view["text"] and "try 0.1" in view["text"]


def test_dead_relus_are_named() -> None:
    text = run(8, learning_rate=10, activation="relu").watch.text
    assert text and "dead" in text and "ReLU" in text


def test_healthy_and_slow_runs_are_not_flagged() -> None:
    for patch in ({"learning_rate": 0.03}, {"learning_rate": 0.0001}, {"learning_rate": 0.03, "dataset": "spiral", "activation": "sigmoid"}):
        assert run(8, **patch).views(False)["diagnosis"] is None, patch


def test_a_divergence_is_explained_once_with_what_to_do() -> None:
    text = diagnosis.diverged(None, 10.0, [float("inf"), 3.0])
    assert text.startswith("the loss became NaN") and "Layer 1's gradient" in text and "try 0.1" in text
    assert text.count("learning rate 10") == 1 and "epoch" not in text
    assert "largest gradient norm (0)" not in diagnosis.diverged(float("nan"), 3.0, [0.0, 0.0])


def test_a_stall_holds_until_the_loss_really_falls() -> None:
    watch = diagnosis.Watch()
    for loss in [1.0, 1.04, 0.96, 1.0, 1.02]:
        watch.epoch({"train_loss": loss}, 10.0, lambda: [0.0, 1e-6], lambda: [])
    assert watch.view() and "flat plateau" in watch.view()["text"]
    watch.epoch({"train_loss": 0.99}, 10.0, lambda: [0.5], lambda: [])
    assert watch.view()  # (a flip between two stuck levels is no recovery)
    watch.epoch({"train_loss": 0.5}, 10.0, lambda: [0.5], lambda: [])
    assert watch.view() is None
