"""Fork and compare in the convolution and recurrent labs (labs/base/twin.py): a second run
that forks from the main run's point on the same batches, or starts a different network from
scratch on the same data; refusals name the field and change nothing; a reset ends it; it
survives a snapshot; the two runs together are held to one setup's limits over a real server."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest
import torch
from websockets.sync.client import connect

from descent.labs import config_model, lab_class
from descent.labs.cnn.schema import PRESETS
from descent.labs.commands import CommandError

CPU = torch.device("cpu")
# per lab: a training change (forks here), a network change (from scratch), a data change (refused)
CASES = {
    "cnn": ({"learning_rate": 0.003}, {"blocks": PRESETS["mlp"]["blocks"]}, {"dataset": "bars"}),
    "rnn": ({"learning_rate": 0.003}, {"cell": "lstm"}, {"task": "sine"}),
}


def build(lab: str, **config: Any) -> Any:
    return lab_class(lab)(config_model(lab)(**config), CPU)


def params(lab: Any) -> list[torch.Tensor]:
    return [p.detach().clone() for p in lab.model.parameters()]


@pytest.mark.parametrize("name", CASES)
def test_a_fork_starts_here_and_sees_the_main_runs_batches(name: str) -> None:
    lab = build(name)
    lab.train_steps(lab.steps_per_epoch)
    training, _, _ = CASES[name]
    reply = lab.command("fork", {"patch": training})
    assert reply["label"] == "fork: lr 0.003"
    twin = lab.twin.run
    assert all(torch.equal(a, b) for a, b in zip(params(twin), params(lab)))  # the same point
    assert twin.epoch == lab.epoch == 1 and twin.history.x == [1]  # its curve starts here
    # the main run takes the fork's setting too: from here on both compute the same steps
    lab.configure(config_model(name).model_validate({**lab.config.model_dump(), **training}))
    lab.train_steps(lab.steps_per_epoch)
    assert twin.step_count == lab.step_count
    assert all(torch.equal(a, b) for a, b in zip(params(twin), params(lab)))  # same batches, same order


@pytest.mark.parametrize("name", CASES)
def test_a_network_change_compares_from_scratch_on_the_same_data(name: str) -> None:
    lab = build(name)
    lab.train_steps(2 * lab.steps_per_epoch)
    _, network, _ = CASES[name]
    label = lab.command("fork", {"patch": network})["label"]
    assert label == {"cnn": "compare: MLP on pixels (from scratch)", "rnn": "compare: cell lstm (from scratch)"}[name]
    twin = lab.twin.run
    assert twin.epoch == 0 and twin.step_count == 0
    fresh = build(name, **network)  # what a new run of that network does
    assert all(torch.equal(a, b) for a, b in zip(params(twin), params(fresh)))
    lab.train_steps(lab.steps_per_epoch)
    fresh.step(fresh.steps_per_epoch)
    assert twin.epoch == 1 and all(torch.allclose(a, b) for a, b in zip(params(twin), params(fresh)))
    # the frame carries its curves from epoch 0, and (recurrent lab) its BPTT view
    view = lab.views(True)["fork"]
    assert view["label"] == label and view["history"]["epoch"] == [0, 1] and not view["diverged"]
    assert ("views" in view) == (name == "rnn")
    if name == "rnn":
        assert len(view["views"]["bptt"]["norms"][0]) == lab.config.length
    importlib.import_module(f"descent.labs.{name}.schema").Views.model_validate(lab.views(True))  # the frame schema holds


@pytest.mark.parametrize("name", CASES)
def test_refusals_name_the_field_and_keep_the_runs(name: str) -> None:
    lab = build(name)
    training, _, data = CASES[name]
    lab.command("fork", {"patch": training})
    before = lab.twin
    key = next(iter(data))
    for patch, words in [(data, f"args.patch.{key}: a second run keeps the main run's data"),
                         ({"learning_rate": -1}, "args.patch.learning_rate"),
                         ({}, "args.patch: the settings the second run changes"),
                         ({"learning_rate": lab.config.learning_rate}, "the main run's settings already"),
                         ({"optimizer": "newton"}, "args.patch.optimizer")]:
        with pytest.raises(CommandError) as error:
            lab.command("fork", {"patch": patch})
        assert words in str(error.value), (patch, str(error.value))
        assert error.value.loc[:2] == ["args", "patch"]
    assert lab.twin is before  # the running second run is untouched


@pytest.mark.parametrize("name", CASES)
def test_a_reset_ends_the_second_run_and_the_page_is_told_once(name: str) -> None:
    lab = build(name)
    lab.command("fork", {"patch": CASES[name][1]})
    assert lab.views(False)["fork"]["label"]
    lab.reset()
    assert lab.twin is None
    assert lab.views(False)["fork"] is None  # once: the page drops the curves
    assert "fork" not in lab.views(False)
    lab.command("fork", {"patch": CASES[name][0]})
    assert lab.views(False)["fork"]["label"].startswith("fork: ")
    lab.command("unfork", {})
    assert lab.views(False)["fork"] is None and "fork" not in lab.views(False)


@pytest.mark.parametrize("name", CASES)
def test_a_snapshot_keeps_the_second_run(name: str) -> None:
    lab = build(name)
    lab.train_steps(3)
    lab.command("fork", {"patch": CASES[name][1]})
    lab.train_steps(lab.steps_per_epoch)
    back = type(lab).restore(lab.snapshot())
    assert back.twin.label == lab.twin.label and back.twin.run.step_count == lab.twin.run.step_count
    lab.train_steps(2)
    back.train_steps(2)
    assert all(torch.equal(a, b) for a, b in zip(params(back.twin.run), params(lab.twin.run)))


def test_over_a_real_server_two_runs_stream_and_stay_within_one_setups_limits(server_url: str) -> None:
    def until(ws: Any, want: Any) -> dict:
        for _ in range(3000):
            message = json.loads(ws.recv(timeout=120))
            if want(message):
                return message
        raise AssertionError("no wanted message")

    with connect(server_url.replace("http", "ws", 1) + "/ws", max_size=2**24) as ws:
        until(ws, lambda m: m["type"] == "hello")
        ws.send(json.dumps({"type": "configure", "config": {"lab": "rnn", "length": 10, "hidden": 16}}))
        until(ws, lambda m: m["type"] == "config" and m["config"]["lab"] == "rnn")
        ws.send(json.dumps({"type": "command", "name": "fork", "args": {"patch": {"cell": "rnn"}}}))
        assert until(ws, lambda m: m["type"] == "reply")["label"] == "compare: cell rnn (from scratch)"
        ws.send(json.dumps({"type": "control", "action": "play"}))
        frame = until(ws, lambda m: m["type"] == "frame" and (m["views"].get("fork") or {}).get("history") and m["epoch"] >= 3)
        assert frame["views"]["fork"]["views"]["bptt"]["norms"]
        # a big main run (just under the step limit): a second one beside it would pass the limit
        big = {"cell": "lstm", "layers": 3, "hidden": 64, "length": 100, "batch_size": 10}
        ws.send(json.dumps({"type": "configure", "config": big}))
        frame = until(ws, lambda m: m["type"] == "frame" and "fork" in m["views"])
        assert frame["views"]["fork"] is None  # the new network ended the comparison: the page is told once
        ws.send(json.dumps({"type": "command", "name": "fork", "args": {"patch": {"batch_size": 14}}}))
        error = until(ws, lambda m: m["type"] == "error")
        assert error["message"].startswith("args.patch: with the second run beside it, one training step") and "lower batch_size" in error["message"]
        assert error["loc"] == ["command", "fork", "args", "patch"]
        later = until(ws, lambda m: m["type"] == "frame" and m["step"] > frame["step"])
        assert later["state"] == "running" and "fork" not in later["views"]
