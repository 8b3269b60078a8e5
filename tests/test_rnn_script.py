"""Show the code, recurrent lab: the script written for a setup runs on its own and trains as
the lab does from a fresh start (first step's loss to float precision, first epoch's loss)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from descent.labs.rnn.lab import Lab
from descent.labs.rnn.schema import Config
from descent.labs.rnn.script import render
from tests.scriptrun import first_step_and_epoch, run_script

SETUPS: dict[str, dict[str, Any]] = {
    "default": {},  # GRU on the delay task, Adam, clipping
    "relu-sine-truncated": {"task": "sine", "cell": "rnn", "nonlinearity": "relu", "optimizer": "momentum",
                            "schedule": "cosine", "horizon": 40, "bptt": 4, "carry_state": True, "seed": 3},
    "lstm-text": {"task": "text", "cell": "lstm", "layers": 2, "hidden": 16, "clip": False, "forget_bias": 3},
    "parity-yogi": {"task": "parity", "optimizer": "yogi", "batch_size": 8},
}


@pytest.mark.parametrize("name", SETUPS)
def test_the_script_trains_like_the_lab(name: str, tmp_path: Path) -> None:
    config = Config(**SETUPS[name])
    first, epoch = first_step_and_epoch(run_script(render(config), tmp_path / "descent_rnn.py"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        lab = Lab(config, torch.device("cpu"))
        lab.step(1)
        lab_first = float(lab._epoch_losses[0])
        lab.step(lab.steps_per_epoch - 1)
    finally:
        torch.set_num_threads(threads)
    assert first == pytest.approx(lab_first, rel=1e-6, abs=1e-7)  # printed to 9 significant digits
    assert epoch == pytest.approx(lab.metrics()["train_loss"], abs=2e-5)


def test_the_script_shows_the_cell_the_cut_and_the_clipping() -> None:
    text = render(Config(cell="lstm", bptt=4, max_norm=0.5))
    for needle in ("class Recurrent(nn.Module)", "nn.LSTM", "def backprop_chunks", "state = detached(out)",
                   "clip_grad_norm_(model.parameters(), 0.5)", "loss.backward()", "optimizer.step()", "_delay(4)"):
        assert needle in text, needle
    assert "clip_grad_norm_" not in render(Config(clip=False))
