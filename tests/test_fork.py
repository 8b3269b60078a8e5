"""Fork and compare: a second run from the main run's current point, on the same batches,
differing only in the training settings the user changed (real training)."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from descent.labs.mlp.lab import Lab
from descent.labs.mlp.schema import Config

CPU = torch.device("cpu")


def trained(**overrides: Any) -> Lab:
    lab = Lab(Config(dataset="xor", **overrides), CPU)
    lab.step(3 * lab.steps_per_epoch)
    return lab


def test_a_fork_starts_from_the_same_point_and_sees_the_same_batches() -> None:
    # fork at lr 0.1, then give the main run lr 0.1 too: from then on both must be the same
    # run (same weights, same momentum, same batches), so their curves coincide
    lab = trained(optimizer="momentum")
    lab.command("fork", {"patch": {"learning_rate": 0.1}})
    lab.configure(lab.config.model_copy(update={"learning_rate": 0.1}))
    lab.step(4 * lab.steps_per_epoch)
    fork = lab.fork
    assert fork is not None
    for main, forked in zip(lab.weights, fork.weights):
        assert torch.allclose(main, forked, atol=1e-6)
    assert fork.history.series["test_loss"] == pytest.approx(lab.history.series["test_loss"][3:], abs=1e-6)


def test_a_fork_that_differs_learns_differently_and_is_labelled() -> None:
    lab = trained()
    reply = lab.command("fork", {"patch": {"optimizer": "adam"}})
    assert reply["label"] == "fork: optimizer adam"
    lab.step(6 * lab.steps_per_epoch)
    view = lab.views(True)["fork"]
    assert view["label"] == "fork: optimizer adam" and view["history"]["epoch"] == list(range(3, 10))
    # on xor, Adam at the same LR pulls well ahead of SGD in a few epochs
    assert view["history"]["series"]["test_loss"][-1] < 0.8 * lab.metrics()["test_loss"]


@pytest.mark.parametrize(("patch", "needle"), [
    ({"hidden": [3]}, "args.patch.hidden: a fork changes only how the network is trained"),
    ({"learning_rate": -1}, "learning_rate"),
    ({"learning_rate": 0.03}, "change at least one"),
    ("adam", "args.patch"),
])
def test_bad_forks_are_refused_and_the_run_goes_on(patch: Any, needle: str) -> None:
    lab = trained()
    with pytest.raises(ValueError, match=needle):
        lab.command("fork", {"patch": patch})
    assert lab.fork is None
    lab.step(lab.steps_per_epoch)
    assert lab.epoch == 4


def test_a_network_change_ends_the_fork_and_the_page_is_told() -> None:
    lab = trained()
    lab.command("fork", {"patch": {"optimizer": "adam"}})
    assert lab.views(False)["fork"]["label"]
    lab.configure(lab.config.model_copy(update={"hidden": [3]}))
    assert lab.views(False)["fork"] is None  # once
    assert "fork" not in lab.views(False)


def test_fork_through_the_protocol(client: Any) -> None:
    with client.websocket_connect("/ws") as ws:
        while ws.receive_json()["type"] != "frame":
            pass
        ws.send_json({"type": "command", "name": "fork", "args": {"patch": {"optimizer": "rmsprop"}}})
        while (msg := ws.receive_json())["type"] != "reply":
            pass
        assert msg["label"] == "fork: optimizer rmsprop"
        ws.send_json({"type": "control", "action": "step"})
        while not ((msg := ws.receive_json())["type"] == "frame" and msg["epoch"] == 1 and msg["views"].get("fork")):
            pass
        assert msg["views"]["fork"]["history"]["epoch"][-1] == 1
