"""The MLP lab with the shared registries: optimizers, schedules, losses, norms, dropout
and the gradient views, in real training runs."""

from __future__ import annotations

import base64

import pytest
import torch
from pydantic import ValidationError
from torch import nn

from descent.errors import describe
from descent.labs.mlp.lab import Lab
from descent.labs.mlp.schema import Config
from descent.nn.optimizers import OPTIMIZERS
from descent.nn.schedules import SCHEDULES, schedule_curve

CPU = torch.device("cpu")
# Tiny networks run on one thread, as the worker runs them: with more, each BatchNorm call
# pays an OpenMP fork/join that costs milliseconds on a busy machine.
torch.set_num_threads(1)
LRS = {"sgd": 0.3, "momentum": 0.1, "nesterov": 0.1, "adagrad": 0.1, "rmsprop": 0.01, "adadelta": 1.0,
       "adam": 0.01, "adamw": 0.01, "yogi": 0.03}


def make(**overrides: object) -> Lab:
    return Lab(Config(**overrides), CPU)


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_every_optimizer_trains_the_playground(name: str) -> None:
    lab = make(optimizer=name, learning_rate=LRS[name], eps=1e-6)
    start = lab.metrics()["train_loss"]
    lab.step(lab.steps_per_epoch * 12)
    assert lab.metrics()["train_loss"] < 0.8 * start, name


def test_frame_lr_follows_the_schedule() -> None:
    cfg = dict(schedule="step", step_size=30, gamma=0.5, learning_rate=0.1, schedule_steps=200)
    lab = make(**cfg)
    curve = schedule_curve(Config(**cfg), 0.1, 200)
    for k in (1, 29, 30, 61, 150):
        lab.step(k - lab.step_count)
        assert lab.lr == pytest.approx(curve[k]), k
    lab.step(100)  # past the horizon the LR holds
    assert lab.lr == pytest.approx(curve[-1])
    view = lab.views(full=True)["schedule"]
    assert view["horizon"] == 200 and view["steps"][0] == 0 and view["steps"][-1] == 199
    assert view["lr"] == pytest.approx([curve[s] for s in view["steps"]])
    assert "schedule" not in lab.views(full=False)  # only sent again when it changes


def test_optimizer_change_mid_run_keeps_the_network_and_the_step_axis() -> None:
    lab = make(optimizer="momentum", schedule="cosine", learning_rate=0.1, schedule_steps=1000)
    lab.step(100)
    weights = [p.detach().clone() for p in lab.model.parameters()]
    assert lab.configure(Config(**{**lab.config.model_dump(), "optimizer": "adam"})) == "optimizer"
    assert lab.step_count == 100 and isinstance(lab.optimizer, torch.optim.Adam)
    for p, q in zip(weights, lab.model.parameters()):
        assert torch.equal(p, q)
    curve = schedule_curve(lab.config, 0.1, 1000)
    assert lab.lr == pytest.approx(curve[100])  # the schedule continues at step 100
    lab.step(10)
    assert lab.lr == pytest.approx(curve[110])


def test_schedule_change_mid_run_jumps_onto_the_new_curve() -> None:
    lab = make(learning_rate=0.1, schedule_steps=500)
    lab.step(200)
    assert lab.lr == 0.1
    views = lab.views(full=False)
    cfg = Config(**{**lab.config.model_dump(), "schedule": "multistep", "milestones": [100, 300], "gamma": 0.1})
    assert lab.configure(cfg) == "optimizer"
    assert lab.lr == pytest.approx(0.01) and lab.step_count == 200
    new = lab.views(full=False)["schedule"]  # the changed curve comes with the next frame
    assert new["lr"][0] == pytest.approx(0.1) and new["lr"][-1] == pytest.approx(0.001)
    assert "schedule" not in views or views["schedule"] != new


def test_lr_change_keeps_optimizer_state_and_rescales_the_schedule() -> None:
    lab = make(optimizer="momentum", schedule="exponential", factor=0.99, learning_rate=0.1)
    lab.step(50)
    buffer = lab.optimizer.state[lab.weights[0]]["momentum_buffer"].clone()
    assert lab.configure(Config(**{**lab.config.model_dump(), "learning_rate": 0.3})) == "none"
    assert torch.equal(lab.optimizer.state[lab.weights[0]]["momentum_buffer"], buffer)
    assert lab.lr == pytest.approx(0.3 * 0.99**50)


@pytest.mark.parametrize("loss", ["mse", "mae", "huber", "bce", "ce"])
def test_every_classification_loss_learns(loss: str) -> None:
    lab = make(loss=loss, learning_rate=0.03, optimizer="adam", hidden=[8, 4], activation="relu")
    lab.step(lab.steps_per_epoch * 15)
    assert lab.metrics()["train_accuracy"] > 0.85, loss
    assert isinstance(lab.model[-1], nn.Tanh) == (loss in ("mse", "mae", "huber"))
    assert lab.model[-1 if loss in ("bce", "ce") else -2].out_features == (2 if loss == "ce" else 1)


@pytest.mark.parametrize("norm,module", [("batch", nn.BatchNorm1d), ("layer", nn.LayerNorm)])
def test_norm_layers_and_dropout(norm: str, module: type) -> None:
    lab = make(norm=norm, dropout=0.2, hidden=[6, 6], batch_size=3, optimizer="adam", learning_rate=0.01)
    kinds = [type(m) for m in lab.model]
    assert kinds.count(module) == 2 and sum(isinstance(m, nn.Dropout) for m in lab.model) == 2
    # 250 % 3 == 1: BatchNorm drops the 1-sample remainder, LayerNorm keeps it
    assert lab.steps_per_epoch == (83 if norm == "batch" else 84)
    start = lab.metrics()["train_loss"]
    lab.step(lab.steps_per_epoch * 5)
    assert lab.epoch == 5 and lab.metrics()["train_loss"] < start
    a, b = lab.views(False)["boundary"]["data"], lab.views(False)["boundary"]["data"]
    assert a == b and lab.model.training  # evaluated without dropout, back in training mode


def test_gradient_views() -> None:
    lab = make(optimizer="momentum", hidden=[4, 2])
    first = lab.views(full=True)
    assert first["grad_trace"]["steps"] == [] and first["optimizer_state"] == []
    assert first["activation"]["name"] == "tanh" and len(first["activation"]["dy"]) == 101
    for _ in range(3):
        lab.step(7)
        views = lab.views(full=False)
    trace = views["grad_trace"]
    assert trace["steps"] == [7, 14, 21] and len(base64.b64decode(trace["data"])) == 3 * 3
    assert [sum(h["weights"]["counts"]) for h in views["histograms"]] == [w.numel() for w in lab.weights]
    assert all(0 < r < 1 for r in views["update_ratio"])
    (state,) = views["optimizer_state"]
    assert state["key"] == "momentum_buffer"
    assert state["values"] == pytest.approx([float(lab.optimizer.state[w]["momentum_buffer"].norm()) for w in lab.weights])


def test_vanishing_gradients_in_a_deep_sigmoid_net() -> None:
    """The view that shows it: the first layer's gradient is orders of magnitude below the last's."""
    lab = make(activation="sigmoid", hidden=[8, 8, 8, 8, 8, 8], init="normal", init_scale=0.5)
    lab.step(1)
    norms = lab.views(full=False)["grad_norms"]
    assert norms[0] < 1e-3 * norms[-1]


def test_activation_curve_is_the_derivative() -> None:
    views = make(activation="silu").views(full=True)["activation"]
    x = torch.tensor(views["x"])
    torch.testing.assert_close(torch.tensor(views["dy"]), torch.sigmoid(x) * (1 + x * (1 - torch.sigmoid(x))), atol=1e-4, rtol=0)


@pytest.mark.parametrize(
    "patch,needle",
    [
        ({"beta2": 1.0}, "config.beta2: Input should be less than 1"),
        ({"eps": -1e-8}, "config.eps: Input should be greater than 0"),
        ({"milestones": [300, 200]}, "config.milestones"),
        ({"schedule": "warmup_cosine", "warmup_steps": 5000}, "warmup_steps 5000"),
        ({"schedule_steps": 10**6}, "config.schedule_steps"),
        ({"schedule": "onecycle", "schedule_steps": 3}, "schedule_steps 3: onecycle needs"),
        ({"problem": "regression", "dataset": "plane", "loss": "bce"}, "loss 'bce' does not apply to regression"),
        ({"norm": "batch", "batch_size": 1}, "BatchNorm"),
        ({"dropout": 0.95}, "config.dropout"),
        ({"init": "orthogonal"}, "config.init"),
    ],
)
def test_bad_hyper_parameters_name_the_field(patch: dict, needle: str) -> None:
    with pytest.raises(ValidationError) as err:
        Config(**patch)
    message, _ = describe(err.value, ("config",), Config)
    assert needle in message, message


def test_schema_documents_optimizer_and_schedule() -> None:
    props = Config.model_json_schema()["properties"]
    assert set(props["optimizer"]["enum"]) == set(OPTIMIZERS.names())
    assert set(props["schedule"]["enum"]) == set(SCHEDULES.names())
    assert props["beta1"]["exclusiveMaximum"] == 1 and props["gamma"]["maximum"] == 1


def test_history_records_the_lr_at_each_epoch() -> None:
    """The LR goes into the per-epoch history, so the page draws it on the loss chart's axis."""
    lab = make(schedule="exponential", factor=0.99, learning_rate=0.1)
    lab.step(lab.steps_per_epoch * 3)
    spe = lab.steps_per_epoch
    assert lab.history.series["lr"] == pytest.approx([0.1 * 0.99 ** (spe * e) for e in range(4)])
