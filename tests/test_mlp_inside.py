"""Inside the network (MLP lab): neuron maps from one forward pass, feature maps, the
weights the diagram draws, and set_weight editing the live model."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from descent.labs.mlp import inside
from descent.labs.mlp.datasets import featurize, grid
from descent.labs.mlp.lab import Lab
from descent.labs.mlp.schema import Config, Views
from tests.wsutil import greet, of_type, serve, until

CPU = torch.device("cpu")
N = inside.NEURON_GRID


def make(**overrides: object) -> Lab:
    return Lab(Config(**overrides), CPU)


def decode(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=np.uint8)


def test_neuron_maps_match_each_layer_computed_by_hand() -> None:
    lab = make(hidden=[3, 2], activation="tanh", features=["x1", "x2", "x1x2"])
    lab.step(30)
    views = lab.views(full=False)
    x = torch.from_numpy(featurize(grid(N), ["x1", "x2", "x1x2"]))
    a1 = torch.tanh(x @ lab.linears[0].weight.T + lab.linears[0].bias)  # (N*N, 3)
    a2 = torch.tanh(a1 @ lab.linears[1].weight.T + lab.linears[1].bias)  # (N*N, 2)
    for layer, expected in zip(views["neurons"]["layers"], (a1, a2)):
        assert layer["scale"] == 1.0
        got = decode(layer["data"]).reshape(expected.shape[1], N * N)  # (neuron, cell)
        values = got / 127.5 - 1
        assert np.abs(values - expected.T.detach().numpy()).max() <= 1 / 127.5 + 1e-6


def test_relu_maps_use_the_layers_largest_output_as_scale() -> None:
    lab = make(hidden=[4], activation="relu")
    lab.linears[0].weight.data.fill_(1.0)
    layer = lab.views(full=False)["neurons"]["layers"][0]
    with torch.no_grad():
        top = float(torch.relu(torch.from_numpy(featurize(grid(N), ["x1", "x2"])) @ lab.linears[0].weight.T + lab.linears[0].bias).max())
    assert top <= layer["scale"] < top * 1.1 and decode(layer["data"]).max() >= 250


def test_encoding_clamps_and_shows_nan_in_the_middle() -> None:
    values = np.array([-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 9.0, np.nan, np.inf, -np.inf], dtype=np.float32)
    assert list(decode(inside.encode_scaled(values, 2.0))) == [0, 0, 64, 128, 191, 255, 255, 128, 255, 0]
    assert list(decode(inside.encode_scaled(torch.from_numpy(values), 2.0))) == list(decode(inside.encode_scaled(values, 2.0)))
    assert inside.layer_scale(np.array([np.nan, 3.5, -1.0], dtype=np.float32)) == 3.5  # the others' largest
    assert inside.layer_scale(np.full(4, np.nan, dtype=np.float32)) == 1.0


def test_weights_are_rounded_to_4_significant_digits_as_python_would() -> None:
    rng = np.random.default_rng(1)
    values = (rng.uniform(-1, 1, 5000) * 10.0 ** rng.integers(-6, 4, 5000)).astype(np.float32)
    values[:4] = [0.0, 99.99, 1e-8, 123456.0]
    matrix, rest = inside.significant([values[:100].reshape(10, 10), values[100:]])
    assert [v for row in matrix for v in row] + rest == [float(f"{float(v):.4g}") for v in values]
    assert inside.significant([np.array([[np.nan, 1.23456], [np.inf, -0.0001234567]], dtype=np.float32)]) == [[[None, 1.235], [None, -0.0001235]]]


@pytest.mark.parametrize("overrides", [{}, {"activation": "relu", "hidden": [5, 3]}, {"norm": "layer"}, {"norm": "batch", "dropout": 0.3},
                                       {"problem": "multiclass", "loss": "ce", "dataset": "blobs"}])
def test_the_forward_pass_with_taps_is_the_models(overrides: dict[str, Any]) -> None:
    """The grid pass runs on columns where it can (no norm layer): the same numbers as the model."""
    lab = make(**overrides)
    lab.step(20)
    out, taps = inside.forward_with_taps(lab.model, lab.x_grid, lab.taps)
    lab.model.eval()
    with torch.no_grad():
        assert torch.allclose(out, lab.model(lab.x_grid), atol=1e-6)
        h = lab.x_grid
        for i, module in enumerate(lab.model):
            h = module(h)
            if i in lab.taps:
                assert torch.allclose(taps.pop(0), h, atol=1e-6)
    assert not taps


def test_taps_skip_norms_and_the_output_tanh() -> None:
    lab = make(hidden=[3, 3], norm="batch", dropout=0.2, activation="sigmoid")
    mods = list(lab.model)
    assert [type(mods[i]) for i in lab.taps] == [nn.Sigmoid, nn.Sigmoid]
    assert isinstance(mods[-1], nn.Tanh) and len(mods) - 1 not in lab.taps
    assert make(hidden=[]).views(False)["neurons"]["layers"] == []


def test_views_validate_and_weights_are_the_models() -> None:
    lab = make(hidden=[4, 2])
    views = lab.views(full=True)
    Views.model_validate(views)
    json.dumps(views, allow_nan=False)
    assert len(views["weights"]) == 3 and len(views["weights"][0]) == 4 and len(views["weights"][0][0]) == 2
    assert views["weights"][1][1][3] == pytest.approx(float(lab.linears[1].weight[1, 3]), rel=1e-3, abs=1e-6)
    assert views["biases"][2][0] == pytest.approx(float(lab.linears[2].bias[0]), rel=1e-3, abs=1e-6)
    assert set(views["features"]["features"]) >= {"x1", "x2", "sinx1"} and "features" not in lab.views(full=False)
    x1 = decode(views["features"]["features"]["x1"]["data"]).reshape(N, N)
    assert x1[0, 0] < 10 and x1[0, -1] > 245  # x1 grows left to right


def test_set_weight_edits_the_live_model_and_the_loss() -> None:
    lab = make()
    before = lab.metrics()["train_loss"]
    reply = lab.command("set_weight", {"layer": 0, "kind": "weight", "to": 1, "from": 0, "value": 5.5})
    assert reply["value"] == 5.5 and float(lab.linears[0].weight[1, 0]) == 5.5
    assert lab.metrics()["train_loss"] != before
    lab.command("set_weight", {"layer": 2, "kind": "bias", "to": 0, "value": -0.25})
    assert float(lab.linears[2].bias[0]) == -0.25
    lab.step(lab.steps_per_epoch)  # training goes on from the edited weights
    assert math.isfinite(lab.metrics()["train_loss"])


@pytest.mark.parametrize(
    "args, field",
    [
        ({"layer": 0, "to": 0, "from": 0, "value": float("nan")}, "args.value"),
        ({"layer": 0, "to": 0, "from": 0, "value": "abc"}, "args.value"),
        ({"layer": 0, "to": 0, "from": 0, "value": 1e6}, "args.value"),
        ({"layer": 9, "to": 0, "from": 0, "value": 1}, "args.layer"),
        ({"layer": 0, "to": 4, "from": 0, "value": 1}, "args.to"),
        ({"layer": 0, "to": 0, "from": 2, "value": 1}, "args.from"),
        ({"layer": 0, "kind": "gain", "to": 0, "value": 1}, "args.kind"),
    ],
)
def test_bad_edits_name_the_field_and_change_nothing(args: dict[str, Any], field: str) -> None:
    lab = make()
    before = [p.detach().clone() for p in lab.model.parameters()]
    with pytest.raises(ValueError, match=field):
        lab.command("set_weight", args)
    assert all(torch.equal(p, q) for p, q in zip(before, lab.model.parameters()))


def test_set_weight_over_the_websocket() -> None:
    with serve() as client, client.websocket_connect("/ws") as ws:
        greet(ws)
        ws.send_json({"type": "command", "name": "set_weight", "args": {"layer": 0, "to": 0, "from": 1, "value": "x"}})
        error = until(ws, of_type("error"))
        assert "args.value" in error["message"] and "finite" in error["message"]
        ws.send_json({"type": "command", "name": "set_weight", "args": {"layer": 0, "to": 0, "from": 1, "value": -3}})
        assert until(ws, of_type("reply", name="set_weight"))["value"] == -3
        frame = until(ws, of_type("frame"))
        assert frame["views"]["weights"][0][0][1] == -3


def test_drawn_points_join_the_training_data_and_keep_the_network() -> None:
    lab = make()
    lab.step(lab.steps_per_epoch)
    weights = [p.detach().clone() for p in lab.model.parameters()]
    n = len(lab.y_train)
    rebuilt = lab.configure(Config(drawn=[1.5, -2.0, 1, -4.0, 4.0, -1]))
    assert rebuilt == "none" and all(torch.equal(p, q) for p, q in zip(weights, lab.model.parameters()))
    assert len(lab.y_train) == n + 2 and lab.y_train[-1] == -1 and lab.x_train[-2].tolist() == [1.5, -2.0]
    data = lab.views(full=False)["data"]  # sent because the data changed
    assert data["drawn"] == 2 and data["train"]["x1"][-1] == -4.0 and "data" not in lab.views(full=False)
    lab.step(lab.steps_per_epoch)  # the drawn points are in the batches
    assert lab.steps_per_epoch == math.ceil((n + 2) / lab.config.batch_size)


@pytest.mark.parametrize(
    "drawn, message",
    [
        ([1.0, 2.0], "multiple of 3"),
        ([1.0, 2.0, 0.5], r"-1 or \+1"),
        ([9.0, 2.0, 1], "less than or equal to 6"),
        ([0.0, 0.0, 1] * 101, "at most 300"),
    ],
)
def test_drawn_points_are_checked(drawn: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Config(drawn=drawn)


BIG = {"dataset": "spiral", "features": ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"], "hidden": [8] * 6}


@pytest.mark.parametrize("setup", [{}, {"problem": "multiclass", "dataset": "blobs", "loss": "ce", "classes": 3}, BIG])
def test_a_light_frame_leaves_out_the_inside_of_the_network(setup: dict[str, Any]) -> None:
    """A busy worker's light frames (runtime/pressure.py) carry everything but the slow
    views (views.DETAIL: neuron maps, weights, biases, histograms), and both kinds are
    frames the schema describes; a detailed frame after a light one has them again."""
    from descent.labs.mlp.views import DETAIL

    lab = make(**setup)
    lab.step(20)
    lab.views(full=True)
    light = lab.views(full=False, detail=False)
    detailed = lab.views(full=False)
    assert not set(DETAIL) & set(light) and set(DETAIL) <= set(detailed)
    assert set(detailed) - set(light) == set(DETAIL)
    assert light["boundary"] == detailed["boundary"] and light["grad_norms"] == detailed["grad_norms"]
    for views in (light, detailed):
        Views.model_validate(json.loads(json.dumps(views)))
    assert len(json.dumps(light)) < len(json.dumps(detailed)) / (3 if setup is BIG else 1.3)  # (the big net: 28 kB -> 8)
