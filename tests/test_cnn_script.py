"""Show the code, convolution lab: the script written for a setup runs on its own and trains
as the lab does from a fresh start (first-step loss to float precision, first epoch's loss)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from descent.labs.cnn.lab import Lab
from descent.labs.cnn.schema import PRESETS, Config
from descent.labs.cnn.script import render
from tests.scriptrun import first_step_and_epoch, run_script

SETUPS: dict[str, dict[str, Any]] = {
    "default": {},  # LeNet-style on the 8x8 digits, Adam
    "residual-shapes": {"dataset": "shapes", "blocks": PRESETS["residual"]["blocks"], "init": "he",
                        "optimizer": "momentum", "schedule": "cosine", "horizon": 30, "seed": 5},
    "nin-bars-gelu": {"dataset": "bars", "blocks": PRESETS["nin"]["blocks"], "activation": "gelu", "batch_size": 64},
}


@pytest.mark.parametrize("name", SETUPS)
def test_the_script_trains_like_the_lab(name: str, tmp_path: Path) -> None:
    config = Config(**SETUPS[name])
    first, epoch = first_step_and_epoch(run_script(render(config), tmp_path / "descent_cnn.py"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        lab = Lab(config, torch.device("cpu"))
        lab.step(1)
        lab_first = float(lab._epoch_loss) / config.batch_size
        lab.step(lab.steps_per_epoch - 1)
    finally:
        torch.set_num_threads(threads)
    assert first == pytest.approx(lab_first, rel=1e-6, abs=1e-7)  # printed to 9 significant digits
    assert epoch == pytest.approx(lab.metrics()["train_loss"], abs=2e-5)  # an epoch of float32 steps


def test_the_script_shows_the_network_and_the_loop() -> None:
    text = render(Config(blocks=PRESETS["residual"]["blocks"]))
    for needle in ("class Residual(nn.Module)", "nn.BatchNorm2d(8", "nn.AdaptiveAvgPool2d(1), nn.Flatten()",
                   "init_layer(nn.Conv2d(1, 8, kernel_size=(3, 3)", "load_digits", "loss.backward()", "optimizer.step()"):
        assert needle in text, needle


def test_code_command_through_the_protocol(client: Any) -> None:
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "configure", "config": {"lab": "cnn"}})
        next(m for m in iter(ws.receive_json, None) if m["type"] == "frame" and m["lab"] == "cnn")
        ws.send_json({"type": "command", "name": "code", "args": {}})
        msg = next(m for m in iter(ws.receive_json, None) if m["type"] in ("reply", "error"))
        assert msg["type"] == "reply", msg
        assert msg["name"] == "code" and msg["filename"] == "descent_cnn.py" and "nn.Conv2d(1, 8" in msg["script"]
        ws.send_json({"type": "command", "name": "code", "args": {"x": 1}})
        error = next(m for m in iter(ws.receive_json, None) if m["type"] == "error")
        assert "args.x: unknown key" in error["message"]
