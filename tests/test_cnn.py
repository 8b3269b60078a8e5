"""The convolution lab: shapes by formula, receptive fields, data, a step as torch.optim's, views."""

from __future__ import annotations

import base64
import itertools

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from descent.labs.cnn.blocks import out_size, parameter_count, plan
from descent.labs.cnn.datasets import DATASETS, load
from descent.labs.cnn.lab import Lab, layers_of
from descent.labs.cnn.network import Network
from descent.labs.cnn.schema import PRESETS, Config
from descent.labs.commands import CommandError

CPU = torch.device("cpu")


@pytest.mark.parametrize("kind", ["conv", "max", "avg"])
def test_every_block_output_size_is_the_formula(kind: str) -> None:
    """Over a grid of (H, K, P, S): the built module's output equals (H + 2P - K)/S + 1 (floored),
    and a size below 1 is refused naming the block and the formula."""
    checked = 0
    for h, k, p, s in itertools.product((4, 5, 7, 8, 10), (1, 2, 3, 5, 7), (0, 1, 2, 3), (1, 2, 3)):
        if kind == "conv":
            token = f"conv4k{k}s{s}p{p}"
        elif k in (2, 3) and p == 0 and s == k:
            token = f"{kind}{k}"
        else:
            continue
        tokens = [token, "flatten"]
        if h + 2 * p < k:
            with pytest.raises(ValueError, match=r"blocks\[0\].*\(H \+ 2P − K\)/S \+ 1"):
                plan(tokens, h, 3)
            continue
        layers = plan(tokens, h, 3)
        expected = (h + 2 * p - k) // s + 1
        assert layers[0].shape_out[1:] == (expected, expected) and out_size(h, k, p, s) == expected
        assert layers[0].formula == f"({h} + 2·{p} − {k})/{s} + 1 = {expected}"
        net = Network(layers, "relu", Config(), torch.Generator().manual_seed(0))
        _, outputs = net(torch.zeros(2, 1, h, h), keep=True)
        assert tuple(outputs[0].shape[1:]) == layers[0].shape_out
        checked += 1
    assert checked >= 10


def test_every_block_kind_shapes_and_params_match_torch() -> None:
    tokens = ["conv6k3p1", "bn", "act", "res", "avg2", "conv4k1", "act", "max2", "gap", "dense12", "bn", "act"]
    layers = plan(tokens, 8, 10)
    net = Network(layers, "tanh", Config(), torch.Generator().manual_seed(0))
    _, outputs = net(torch.rand(3, 1, 8, 8), keep=True)
    assert [tuple(o.shape[1:]) for o in outputs] == [layer.shape_out for layer in layers]
    for block, layer in zip(net.blocks, layers):
        assert sum(p.numel() for p in block.parameters()) == layer.params, layer.token
    assert parameter_count(layers) == sum(p.numel() for p in net.parameters())


def test_lenet_receptive_field_by_hand() -> None:
    """The LeNet preset on 8x8 digits: conv 5x5 -> rf 5 (jump 1); max 2 -> 5 + 1 = 6 (jump 2);
    conv 3x3 -> 6 + 2*2 = 10 (jump 2); max 2 -> 10 + 1*2 = 12 (jump 4)."""
    layers = layers_of(Config(blocks=PRESETS["lenet"]["blocks"]))
    by_token = [(layer.token, layer.rf, layer.jump) for layer in layers[:6]]
    assert by_token == [("conv8k5p2", 5, 1), ("act", 5, 1), ("max2", 6, 2), ("conv16k3p1", 10, 2), ("act", 10, 2), ("max2", 12, 4)]
    # where output pixel 0 is centred on the input (for outlining a receptive field): the 5x5
    # conv with padding 2 keeps it at 0; a 2x2 pool moves it half a pixel; padding 1 of a 3x3 keeps it
    assert [layer.center for layer in layers[:6]] == [0.0, 0.0, 0.5, 0.5, 0.5, 1.5]
    # a residual block adds two 3x3 convolutions: 2 * 2 * jump
    assert plan(["conv2k3", "res", "gap"], 8, 2)[1].rf == 3 + 4


def test_bad_setups_name_the_field() -> None:
    cases = {
        ("conv8k9",): "kernel 9 is out of range; allowed 1-7",
        ("conv17k3", "gap"): "channels 17 is out of range; allowed 1-16",
        ("conv8k3s4", "gap"): "stride 4 is out of range; allowed 1-3",
        ("conv8k3p4", "gap"): "padding 4 is out of range; allowed 0-3",
        ("conv8k3", "conv8k7", "gap"): "blocks[1] 'conv8k7': kernel 7 does not fit its 6x6 input: output size (H + 2P − K)/S + 1 = (6 + 2·0 − 7)/1 + 1",
        ("flatten", "conv8k3"): "blocks[1] 'conv8k3': needs feature maps",
        ("conv8k3",): "end with flatten or gap",
        ("conv8k3", "dense4"): "put flatten or gap before it",
        ("pool2",): "unknown block",
    }
    for tokens, message in cases.items():
        with pytest.raises(ValidationError) as e:
            Config(blocks=list(tokens))
        assert message in str(e.value), (tokens, str(e.value))
    with pytest.raises(ValidationError, match="blocks"):
        Config(blocks=["act"] * 17)


@pytest.mark.parametrize("name", list(DATASETS))
def test_datasets_shapes_labels_and_seeded(name: str) -> None:
    data = DATASETS[name]
    train_x, train_y, test_x, test_y = load(name)
    assert train_x.shape[1:] == (data.size, data.size) and test_x.shape[1:] == (data.size, data.size)
    assert train_x.dtype == np.float32 and 0 <= train_x.min() and train_x.max() <= 1
    assert set(np.unique(train_y)) == set(range(len(data.classes)))
    assert len(test_y) == pytest.approx(0.25 * len(train_y), rel=0.02)
    again = data.make()
    assert np.array_equal(again[0], data.make()[0])  # generated sets are seeded
    if name == "digits":
        assert len(train_y) + len(test_y) == 1797


def test_presets_fit_every_dataset() -> None:
    for (preset, spec), name in itertools.product(PRESETS.items(), DATASETS):
        layers = layers_of(Config(dataset=name, blocks=spec["blocks"]))
        assert layers[-1].shape_out == (len(DATASETS[name].classes),), (preset, name)


def test_a_step_is_torch_optim_stepping_alone() -> None:
    config = Config(optimizer="adam", learning_rate=0.01, batch_size=16)
    lab = Lab(config, CPU)
    twin = Network(lab.layers, config.activation, config, torch.Generator().manual_seed(0))
    twin.load_state_dict(lab.model.state_dict())
    optimizer = torch.optim.Adam(twin.parameters(), lr=0.01)
    for _ in range(3):
        at = (lab.step_count % lab.steps_per_epoch) * 16
        index = lab._order[at : at + 16]
        x, y = lab.train_x[index], lab.train_y[index]
        lab.step(1)
        loss = torch.nn.functional.cross_entropy(twin(x)[0], y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for mine, theirs in zip(lab.model.parameters(), twin.parameters()):
        torch.testing.assert_close(mine, theirs, rtol=1e-5, atol=1e-6)


def test_parameters_and_work_by_formula_match_the_build() -> None:
    for spec in PRESETS.values():
        config = Config(blocks=spec["blocks"], dataset="digits16")
        lab = Lab(config, CPU)
        assert Lab.parameter_count(config) == lab.parameter_total()
        assert 0 < Lab.step_work(config) < 4e8


def decode(images: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(images["data"]), np.uint8).reshape(images["shape"])


def test_training_learns_and_views_change() -> None:
    torch.set_num_threads(1)
    lab = Lab(Config(show=[0, 2, 3, 5]), CPU)
    before = lab.views(True)
    assert [f["layer"] for f in before["filters"]] == [0, 3]
    assert decode(before["filters"][0]).shape == (8, 1, 5, 5) and before["filters"][0]["signed"]
    assert [m["shape"] for m in before["example"]["maps"]] == [[8, 8, 8], [8, 4, 4], [16, 4, 4], [16, 2, 2]]
    start = lab.metrics()["test_accuracy"]
    lab.step(6 * lab.steps_per_epoch)
    after = lab.views(False)
    assert lab.metrics()["test_accuracy"] > max(0.85, start + 0.5)
    assert np.abs(decode(after["filters"][0]).astype(int) - decode(before["filters"][0])).max() > 5
    assert sum(map(sum, after["confusion"])) == len(lab.test_y)
    assert set(lab.history.series) >= {"grad_0", "grad_3", "grad_7", "grad_9", "test_accuracy"}
    assert all(v is not None and v > 0 for v in (lab.history.series["grad_0"][-1], lab.history.series["grad_9"][-1]))
    restored = Lab.restore(lab.snapshot())
    assert restored.views(False)["example"] == after["example"]
    restored.step(1)


def test_predict_a_drawing() -> None:
    lab = Lab(Config(), CPU)
    reply = lab.command("predict", {"pixels": [0.0] * 30 + [1.0] * 4 + [0.0] * 30})
    assert len(reply["probabilities"]) == 10 and abs(sum(reply["probabilities"]) - 1) < 1e-3
    assert reply["label"] is None and [m["layer"] for m in reply["maps"]] == [0]
    with pytest.raises(CommandError, match="64 values in"):
        lab.command("predict", {"pixels": [0.0] * 10})
    with pytest.raises(CommandError, match=r"args.pixels\[3\]: 2 is out of range"):
        lab.command("predict", {"pixels": [0.0, 0, 0, 2] + [0.0] * 60})


def test_a_frame_carries_only_the_shown_layers_and_switching_keeps_the_run() -> None:
    """config.show picks the rows whose filters and maps travel; changing it rebuilds nothing."""
    torch.set_num_threads(1)
    lab = Lab(Config(), CPU)  # shows row 0: the first conv
    views = lab.views(True)
    assert [f["layer"] for f in views["filters"]] == [0] and [m["layer"] for m in views["example"]["maps"]] == [0]
    lab.step(5)
    weights = [p.detach().clone() for p in lab.model.parameters()]
    config = Config(show=[5, 3, 3, 12])  # out of order, twice, and a row past the network (carries nothing)
    assert lab.configure(config) == "none"
    assert lab.step_count == 5 and all(torch.equal(a, b) for a, b in zip(weights, lab.model.parameters()))
    views = lab.views(False)
    assert [f["layer"] for f in views["filters"]] == [3]
    assert [(m["layer"], m["shape"]) for m in views["example"]["maps"]] == [(3, [16, 4, 4]), (5, [16, 2, 2])]
    assert [m["layer"] for m in lab.command("predict", {"pixels": [0.5] * 64})["maps"]] == [3, 5]
    lab.step(1)
    assert lab.step_count == 6
    lab.configure(Config(show=[]))
    views = lab.views(False)
    assert views["filters"] == [] and views["example"]["maps"] == [] and views["example"]["image"]
    with pytest.raises(ValidationError, match="show"):
        Config(show=[0, 1, 2, 3, 4])
    with pytest.raises(ValidationError, match="show.0"):
        Config(show=[-1])
