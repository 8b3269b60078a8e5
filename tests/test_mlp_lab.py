import copy

import pytest
import torch
from torch import nn

from descent.labs.mlp.lab import Lab
from descent.labs.mlp.network import build_network
from descent.labs.mlp.schema import Config

CPU = torch.device("cpu")


def make(**overrides: object) -> Lab:
    return Lab(Config(**overrides), CPU)


def test_network_shape_follows_config() -> None:
    net = build_network(Config(features=["x1", "x2", "x1sq"], hidden=[5, 3], activation="relu"), seed=0)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(3, 5), (5, 3), (3, 1)]
    assert sum(isinstance(m, nn.ReLU) for m in net) == 2
    assert isinstance(net[-1], nn.Tanh)  # classification output in [-1, 1]


def test_no_hidden_layers_and_regression_output() -> None:
    net = build_network(Config(hidden=[], problem="regression", dataset="plane"), seed=0)
    assert len(net) == 1 and isinstance(net[0], nn.Linear)


def test_same_seed_same_weights() -> None:
    a, b = make(), make()
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(p, q)


def test_one_sgd_step_is_w_minus_lr_grad() -> None:
    lab = make(learning_rate=0.1, batch_size=10)
    before = [p.detach().clone() for p in lab.model.parameters()]
    # the gradient of the first batch, computed independently on a copy
    lab.new_epoch()
    xb, yb = lab.epoch_x[:10], lab.epoch_y[:10]  # (the epoch's first batch)
    twin = copy.deepcopy(lab.model)
    loss = 0.5 * (twin(xb).squeeze(1) - yb).square().mean()
    grads = torch.autograd.grad(loss, list(twin.parameters()))
    lab.step(1)
    for w0, g, w1 in zip(before, grads, lab.model.parameters()):
        torch.testing.assert_close(w1.detach(), w0 - 0.1 * g)


def test_epoch_counts_steps() -> None:
    lab = make(batch_size=7)  # 250 training points -> 36 steps per epoch
    assert lab.steps_per_epoch == 36
    lab.step(lab.steps_per_epoch)
    assert (lab.epoch, lab.step_count) == (1, 36)
    assert len(lab.history.x) == 2  # epoch 0 and epoch 1


@pytest.mark.parametrize("dataset", ["circle", "xor"])
def test_loss_falls(dataset: str) -> None:
    lab = make(dataset=dataset, learning_rate=0.1)
    start = lab.metrics()["train_loss"]
    lab.step(lab.steps_per_epoch * 60)
    assert lab.metrics()["train_loss"] < 0.5 * start
    assert lab.metrics()["test_accuracy"] > 0.85


def test_lr_and_optimizer_changes_keep_the_network() -> None:
    lab = make()
    lab.step(lab.steps_per_epoch * 3)
    weights = [p.detach().clone() for p in lab.model.parameters()]
    assert lab.configure(Config(learning_rate=0.3)) == "none"
    assert lab.lr == 0.3 and lab.epoch == 3
    assert lab.configure(Config(learning_rate=0.3, optimizer="adam")) == "optimizer"
    assert lab.epoch == 3
    for p, q in zip(weights, lab.model.parameters()):
        assert torch.equal(p, q)


@pytest.mark.parametrize("change", [{"dataset": "xor"}, {"noise": 20}, {"hidden": [3]}, {"activation": "relu"}, {"features": ["x1"]}])
def test_data_or_architecture_change_resets(change: dict) -> None:
    lab = make()
    lab.step(lab.steps_per_epoch * 2)
    assert lab.configure(Config(**change)) == "network"
    assert lab.epoch == 0 and lab.step_count == 0 and lab.history.x == [0]


def test_l2_regularization_shrinks_weights() -> None:
    plain, reg = make(), make(regularization="l2", regularization_rate=0.3)
    plain.step(plain.steps_per_epoch * 20)
    reg.step(reg.steps_per_epoch * 20)
    norm = lambda lab: sum(float(w.detach().norm()) for w in lab.weights)  # noqa: E731
    assert norm(reg) < 0.7 * norm(plain)


def test_divergence_is_detected() -> None:
    lab = make(problem="regression", dataset="plane", features=["x1", "x2", "x1sq", "x2sq", "x1x2"], hidden=[8, 8], activation="relu", learning_rate=10)
    lab.step(lab.steps_per_epoch * 20)
    assert lab.diverged and "loss" in lab.diverged
    # explained: the LR there, the layer whose gradient blew up, what to do (the status
    # message carries the step and epoch: the page's banner says them once)
    assert "learning rate 10" in lab.diverged and "Layer " in lab.diverged and "reset" in lab.diverged
    lab.reset()
    assert lab.diverged is None and lab.epoch == 0


def test_views_encode_the_boundary() -> None:
    import base64

    lab = make()
    views = lab.views(full=True)
    data = base64.b64decode(views["boundary"]["data"])
    assert len(data) == views["boundary"]["resolution"] ** 2
    assert len(views["grad_norms"]) == 3 and len(views["data"]["train"]["x1"]) == 250
    lab.step(1)
    assert all(g > 0 for g in lab.views(full=False)["grad_norms"])
    assert "data" not in lab.views(full=False)


def test_config_limits() -> None:
    from pydantic import ValidationError

    for bad in ({"hidden": [4] * 7}, {"hidden": [9]}, {"hidden": [0]}, {"noise": 60}, {"train_ratio": 5},
                {"learning_rate": 0}, {"learning_rate": 11}, {"batch_size": 400}, {"dataset": "plane"},
                {"features": []}, {"features": ["x1", "x1"]}, {"seed": -1}):
        with pytest.raises(ValidationError):
            Config(**bad)
    assert Config(train_ratio=90, batch_size=450).batch_size == 450  # up to the training-set size


def test_loss_spikes_are_marked_and_explained() -> None:
    # (0.6: plane's targets are TensorFlow Playground's (x1 + x2) / 10, 1.2x the old ones; at 0.8
    # this run's ReLUs now die before any spike)
    lab = make(problem="regression", dataset="plane", hidden=[8, 8], activation="relu", learning_rate=0.6)
    lab.step(lab.steps_per_epoch * 20)
    assert lab.diverged is None and lab.spikes
    first = lab.spikes[0]
    losses = lab.history.series["train_loss"]
    assert losses[first["epoch"]] > 2 * losses[first["epoch"] - 1]  # a real jump at that epoch
    assert f"step {first['step']}" in first["text"] and "lr 0.6" in first["text"] and "layer " in first["text"]
    assert lab.views(False)["spikes"] == lab.spikes
    calm = make(dataset="circle")
    calm.step(calm.steps_per_epoch * 10)
    assert calm.spikes == []
