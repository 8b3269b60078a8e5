"""Multiclass in the playground: k-class data, softmax cross-entropy over k outputs, accuracy,
the class heatmap, drawn class labels, and switching to it over the websocket."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pytest
import torch
from pydantic import ValidationError
from torch import nn

from descent.errors import describe
from descent.labs.mlp.lab import Lab
from descent.labs.mlp.network import build_network
from descent.labs.mlp.schema import GRID, Config, Views
from tests.wsutil import of_type, open_lab, serve, until

CPU = torch.device("cpu")
torch.set_num_threads(1)  # as the worker trains
MULTI = {"problem": "multiclass", "dataset": "blobs"}


def make(**overrides: Any) -> Lab:
    return Lab(Config(**{**MULTI, **overrides}), CPU)


def error_of(**values: Any) -> str:
    with pytest.raises(ValidationError) as e:
        Config(**values)
    return describe(e.value, ("config",), Config)[0]


def test_multiclass_gets_cross_entropy_and_one_output_per_class() -> None:
    config = Config(**MULTI, classes=5)
    assert config.loss == "ce" and config.outputs == 5  # no loss named: the problem's default
    net = build_network(config, seed=0)
    assert isinstance(net[-1], nn.Linear) and net[-1].out_features == 5  # logits, no tanh
    assert Config(loss="ce").outputs == 2  # binary cross-entropy keeps its two logits


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({**MULTI, "classes": 9}, "config.classes: Input should be less than or equal to 6"),
        ({**MULTI, "classes": 2}, "config.classes: Input should be greater than or equal to 3"),
        ({"problem": "classification", "dataset": "blobs"}, "dataset 'blobs' is a multiclass dataset; for classification use one of ['circle'"),
        ({"problem": "multiclass", "dataset": "circle"}, "for multiclass use one of ['blobs', 'spirals']"),
        ({**MULTI, "loss": "mse"}, "loss 'mse' does not apply to multiclass; use one of ['ce']"),
        ({**MULTI, "drawn": [1, 1, 3]}, "drawn: each point's label (every third number) must be a class index 0 .. 2 for multiclass, not 3"),
        ({**MULTI, "drawn": [1, 1, 0.5]}, "must be a class index 0 .. 2 for multiclass, not 0.5"),
        ({"drawn": [1, 1, 0]}, "must be -1 or +1 for classification, not 0"),
        ({"problem": "regression", "dataset": "plane", "drawn": [1, 1, 2]}, "must be in [-1, 1] for regression, not 2"),
    ],
)
def test_bad_multiclass_configs_name_the_field_and_the_allowed_values(values: dict[str, Any], message: str) -> None:
    assert message in error_of(**values)


def test_classes_with_a_binary_dataset_is_ignored() -> None:
    lab = Lab(Config(classes=5), CPU)
    lab.step(lab.steps_per_epoch * 2)
    assert lab.configure(Config(classes=4)) == "none"  # the run goes on
    assert lab.epoch == 2 and lab.linears[-1].out_features == 1


def test_blobs_train_to_high_test_accuracy() -> None:
    lab = make(classes=4, noise=20, learning_rate=0.1)
    start = lab.metrics()
    assert start["test_accuracy"] < 0.6  # about chance before training
    lab.step(lab.steps_per_epoch * 30)
    end = lab.metrics()
    assert end["train_loss"] < 0.5 * start["train_loss"]
    assert end["test_accuracy"] >= 0.9 and end["train_accuracy"] >= 0.9
    # accuracy is argmax == label, on the test split
    with torch.no_grad():
        lab.model.eval()
        hits = (lab.model(lab.x_test).argmax(1) == lab.y_test.long()).float().mean()
        lab.model.train()
    assert end["test_accuracy"] == pytest.approx(float(hits))


def test_the_boundary_is_the_argmax_class_and_its_confidence() -> None:
    lab = make(classes=3, learning_rate=0.1)
    lab.step(lab.steps_per_epoch * 20)
    views = lab.views(full=True)
    Views.model_validate(views)  # the frame's documented shape
    b = views["boundary"]
    assert b["encoding"] == "base64-uint8-class" and b["classes"] == 3 and b["resolution"] == GRID
    label = np.frombuffer(base64.b64decode(b["data"]), np.uint8)
    confidence = np.frombuffer(base64.b64decode(b["confidence"]), np.uint8)
    assert label.shape == confidence.shape == (GRID * GRID,)
    assert set(label.tolist()) == {0, 1, 2}  # every class has its region
    assert confidence.min() >= 255 // 3 and confidence.max() > 240  # max prob in [1/k, 1]
    # each output node's map: its softmax probability; they sum to 1 per cell
    n = views["neurons"]["resolution"]
    probs = np.frombuffer(base64.b64decode(views["neurons"]["outputs"]), np.uint8).reshape(3, n * n) / 255
    np.testing.assert_allclose(probs.sum(0), 1, atol=0.02)
    # the data points carry their class index
    assert set(views["data"]["train"]["label"]) == {0, 1, 2}


def test_binary_frames_keep_their_boundary() -> None:
    views = Lab(Config(), CPU).views(full=False)
    assert views["boundary"]["encoding"] == "base64-uint8" and "outputs" not in views["neurons"]


def test_drawn_class_points_join_the_training_data() -> None:
    lab = make()
    n = len(lab.y_train)
    lab.configure(Config(**MULTI, drawn=[1.0, 2.0, 2, -3.0, 0.5, 0]))
    assert len(lab.y_train) == n + 2 and lab.y_train[-2:].tolist() == [2.0, 0.0]
    lab.step(lab.steps_per_epoch)  # trains on them


def test_editing_an_output_weight_of_k_outputs() -> None:
    lab = make(classes=4, hidden=[3])
    reply = lab.command("set_weight", {"layer": 1, "kind": "bias", "to": 3, "value": 2.5})
    assert reply["to"] == 3 and lab.linears[1].bias[3] == 2.5
    with pytest.raises(ValueError, match=r"args.to: an integer in \[0, 3\]"):
        lab.command("set_weight", {"layer": 1, "kind": "weight", "to": 4, "from": 0, "value": 1})


def test_switching_to_multiclass_over_the_websocket() -> None:
    with serve() as client, client.websocket_connect("/ws") as ws:
        open_lab(ws, "mlp", loss="huber")
        until(ws, lambda m: m["type"] == "config" and m["config"]["loss"] == "huber")
        # the page's one click: the problem and its first dataset; the loss follows the problem
        ws.send_json({"type": "configure", "config": {"problem": "multiclass", "dataset": "spirals", "classes": 4}})
        config = until(ws, of_type("config"))["config"]
        assert (config["problem"], config["classes"], config["loss"]) == ("multiclass", 4, "ce")
        ws.send_json({"type": "control", "action": "play"})
        frame = until(ws, lambda m: m["type"] == "frame" and m["epoch"] >= 3)
        assert frame["views"]["boundary"]["classes"] == 4
        assert {"train_accuracy", "test_accuracy", "train_loss", "test_loss"} <= set(frame["metrics"])
        assert 0 <= frame["metrics"]["test_accuracy"] <= 1

        # bad input: an error naming the field; the session keeps its last good config
        ws.send_json({"type": "configure", "config": {"classes": 9}})
        error = until(ws, of_type("error"))
        assert error["loc"] == ["config", "classes"] and "less than or equal to 6" in error["message"]
        ws.send_json({"type": "configure", "config": {"problem": "classification", "dataset": "blobs"}})
        error = until(ws, of_type("error"))
        assert "for classification use one of ['circle'" in error["message"]
        ws.send_json({"type": "configure", "config": {"loss": "mse"}})
        assert "loss 'mse' does not apply to multiclass" in until(ws, of_type("error"))["message"]
        ws.send_json({"type": "configure", "config": {"drawn": [0, 0, 5]}})
        assert "class index 0 .. 3" in until(ws, of_type("error"))["message"]
        ws.send_json({"type": "configure", "config": {"drawn": [0, 0, 2]}})
        config = until(ws, of_type("config"))["config"]
        assert (config["classes"], config["dataset"], config["drawn"]) == (4, "spirals", [0, 0, 2])

        # back to binary: ce applies there too and stays (two logits)
        ws.send_json({"type": "configure", "config": {"problem": "classification", "dataset": "circle", "drawn": []}})
        config = until(ws, of_type("config"))["config"]
        assert (config["problem"], config["loss"]) == ("classification", "ce")
        frame = until(ws, lambda m: m["type"] == "frame" and m["views"]["boundary"]["encoding"] == "base64-uint8")
        # to regression, which ce does not apply to: its default, mse
        ws.send_json({"type": "configure", "config": {"problem": "regression", "dataset": "plane"}})
        assert until(ws, of_type("config"))["config"]["loss"] == "mse"


def test_dataset_previews_have_the_asked_class_count() -> None:
    with serve() as client:
        previews = {d["name"]: d for d in client.get("/api/datasets", params={"classes": 5}).json()}
        assert set(previews["blobs"]["points"]["label"]) == {0, 1, 2, 3, 4}
        assert set(previews["circle"]["points"]["label"]) == {-1, 1}  # binary ones are as before
        refused = client.get("/api/datasets", params={"classes": 9})
        assert refused.status_code == 422 and "classes" in refused.text and "6" in refused.text
