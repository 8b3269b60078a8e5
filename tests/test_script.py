"""Show the code: the script the playground writes for a setup runs on its own (numpy and
torch only) and trains exactly like the lab does from a fresh start."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from descent.labs.mlp.lab import Lab
from descent.labs.mlp.schema import Config
from descent.labs.mlp.script import render
from descent.nn.schedules import SCHEDULES

SETUPS: list[dict[str, Any]] = [
    {},  # the default: circle, tanh 4-2, sgd, constant
    {"dataset": "spiral", "features": ["x1", "x2", "x1sq", "sinx1"], "hidden": [8, 8], "activation": "relu",
     "init": "xavier", "loss": "ce", "optimizer": "yogi", "schedule": "warmup_cosine", "norm": "batch",
     "dropout": 0.1, "regularization": "l2", "regularization_rate": 0.001},
    {"problem": "regression", "dataset": "multigauss", "init": "constant", "optimizer": "adam",
     "bias_correction": False, "schedule": "factor", "activation": "leaky_relu", "norm": "layer"},
    {"dataset": "xor", "features": ["x1x2"], "hidden": [], "loss": "bce", "optimizer": "nesterov",
     "schedule": "multistep", "milestones": [30, 60], "regularization": "l1", "regularization_rate": 0.01,
     "drawn": [1.5, 2.0, 1, -3.0, 0.5, -1, 4.0, -4.0, 1]},
    {"problem": "multiclass", "dataset": "spirals", "classes": 5, "hidden": [8, 8], "activation": "relu",
     "optimizer": "adam", "learning_rate": 0.01, "noise": 10, "drawn": [1.0, 2.0, 4, -3.0, 0.5, 0]},
    # the dropout run, with He init: the script's own generators draw what the lab's draw
    {"dataset": "circle", "hidden": [6, 4], "activation": "relu", "optimizer": "adam", "learning_rate": 0.01,
     "dropout": 0.2, "seed": 11, "init": "he"},
]
# Every schedule, on a run longer than its horizon (30 steps; 3 epochs are 75): past the
# horizon the lab holds the LR, and so must the script (torch's schedulers would go on:
# cosine climbs back, step and exponential keep decaying, one-cycle raises an error).
PAST_THE_HORIZON = {"dataset": "xor", "hidden": [3], "learning_rate": 0.1, "schedule_steps": 30, "warmup_steps": 5,
                    "step_size": 10, "milestones": [10, 40], "factor": 0.95}


def run_script(config: Config, tmp_path: Path, epochs: int) -> list[float]:
    path = tmp_path / "descent_run.py"
    path.write_text(render(config))
    # a clean environment: the script must not need Descent on the path. One thread, as the
    # worker trains (reductions over more threads can differ in the last bits).
    out = subprocess.run([sys.executable, str(path), str(epochs)], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}, check=True).stdout
    return [float(v) for v in re.findall(r"train loss ([0-9.]+|nan)", out)]


@pytest.mark.parametrize("overrides", SETUPS, ids=["default", "spiral-yogi-bn", "regression-adam", "xor-linear-l1",
                                                     "multiclass-spirals", "circle-dropout-he"])
def test_the_script_trains_like_the_lab(overrides: dict[str, Any], tmp_path: Path) -> None:
    config = Config(**overrides)
    epochs = 3
    script = run_script(config, tmp_path, epochs)
    live = lab_losses(config, epochs)
    assert len(script) == epochs + 1
    assert script == pytest.approx(live, abs=2e-4)  # printed with 4 decimals


@pytest.mark.parametrize("schedule", SCHEDULES.names())
def test_the_script_holds_the_lr_past_the_horizon_as_the_lab_does(schedule: str, tmp_path: Path) -> None:
    config = Config(**PAST_THE_HORIZON, schedule=schedule)
    epochs = 3
    assert epochs * Lab(config, torch.device("cpu")).steps_per_epoch > 2 * config.schedule_steps
    script = run_script(config, tmp_path, epochs)
    assert len(script) == epochs + 1
    assert script == pytest.approx(lab_losses(config, epochs), abs=1e-4)  # (printed to 4 decimals: rounding is 5e-5)


def lab_losses(config: Config, epochs: int) -> list[float]:
    """A fresh lab's train loss at each epoch, trained on one thread as the script is run."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        lab = Lab(config, torch.device("cpu"))
        lab.step(epochs * lab.steps_per_epoch)
    finally:
        torch.set_num_threads(threads)
    return [m["train_loss"] for m in _epochs(lab)]


def test_the_default_scripts_loss_falls(tmp_path: Path) -> None:
    losses = run_script(Config(dataset="xor", learning_rate=0.1), tmp_path, 20)
    assert losses[-1] < 0.6 * losses[0]


def test_a_multiclass_scripts_loss_falls(tmp_path: Path) -> None:
    config = Config(problem="multiclass", dataset="blobs", classes=4, noise=10, learning_rate=0.1)
    text = render(config)
    # k logits, cross-entropy on long class indices, the k-class data
    for needle in ("nn.Linear(in_features=2, out_features=4", "F.cross_entropy(out, y.clamp(min=0).long())",
                   "torch.from_numpy(train_label).long()", "blobs(600, 0.1, rng, 4)"):
        assert needle in text, needle
    losses = run_script(config, tmp_path, 15)
    assert losses[-1] < 0.3 * losses[0]


def test_the_script_shows_the_training_loop() -> None:
    text = render(Config(optimizer="momentum", schedule="cosine"))
    for needle in ("model(xb)", "optimizer.zero_grad(", "loss.backward()", "optimizer.step()", "scheduler.step()",
                   "SGD(params, lr=lr, momentum=hp.momentum", "CosineAnnealingLR", "nn.Linear(in_features=2, out_features=4"):
        assert needle in text


def test_code_command_through_the_protocol(client: Any) -> None:
    with client.websocket_connect("/ws") as ws:
        next(m for m in iter(ws.receive_json, None) if m["type"] == "frame")
        ws.send_json({"type": "command", "name": "code", "args": {}})
        msg = next(m for m in iter(ws.receive_json, None) if m["type"] in ("reply", "error"))
        assert msg["type"] == "reply", msg
        assert msg["name"] == "code" and msg["filename"] == "descent_run.py" and "loss.backward()" in msg["script"]


def _epochs(lab: Lab) -> list[dict[str, float]]:
    """The lab's per-epoch history (epoch 0 included) as a list of metric dicts."""
    from descent.history import Cursor

    history = lab.history.since(Cursor())
    series = history["series"]
    return [{k: series[k][i] for k in series} for i in range(len(series["train_loss"]))]
