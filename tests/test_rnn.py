"""The recurrent lab against torch: the stacked cells equal torch's modules, the hand unroll
equals them too, the gates shown equal the formulas, truncated BPTT cuts the graph where it
says, clipping gives the clipped norm, and the BPTT view equals autograd's dL/dh_t."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from descent.labs.rnn.lab import Lab, backprop_chunks, sequence_loss
from descent.labs.rnn.model import MODULES
from descent.labs.rnn.schema import Config
from descent.labs.rnn.unroll import unroll

CPU = torch.device("cpu")
torch.set_num_threads(1)  # as the worker trains
CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]


def lab_of(**config: object) -> Lab:
    return Lab(Config(**config), CPU)  # type: ignore[arg-type]


def decode(g: dict) -> np.ndarray:
    raw = base64.b64decode(g["data"])
    if g["encoding"] == "base64-uint8":
        return g["low"] + np.frombuffer(raw, np.uint8).reshape(g["shape"]) / 255 * (g["high"] - g["low"])
    return np.frombuffer(raw, "<f2").reshape(g["shape"]).astype(np.float64)


@pytest.mark.parametrize(("cell", "act"), CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_stack_equals_torch_multilayer_module(cell: str, act: str, bidirectional: bool) -> None:
    lab = lab_of(task="delay", cell=cell, nonlinearity=act, layers=2, hidden=8, bidirectional=bidirectional)
    extra = {"nonlinearity": act} if cell == "rnn" else {}
    ref = MODULES[cell](lab.task.features, 8, num_layers=2, batch_first=True, bidirectional=bidirectional, **extra)
    with torch.no_grad():
        for i, layer in enumerate(lab.model.layers):
            for name, p in layer.named_parameters():
                getattr(ref, name.replace("_l0", f"_l{i}")).copy_(p)
    x = lab.eval_x[:5]
    out, _ = ref(x)
    logits, _ = lab.model(x)
    torch.testing.assert_close(logits, lab.model.head(out))


@pytest.mark.parametrize(("cell", "act"), CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_hand_unroll_equals_the_modules(cell: str, act: str, bidirectional: bool) -> None:
    lab = lab_of(task="parity", cell=cell, nonlinearity=act, layers=2, hidden=6, bidirectional=bidirectional, length=9)
    x = lab.eval_x[:4]
    run = unroll(lab.model, x, act)
    out = x
    for i, layer in enumerate(lab.model.layers):
        out, _ = layer(out)
        torch.testing.assert_close(run.outputs[i], out)
    torch.testing.assert_close(run.logits, lab.model(x)[0])


def test_lstm_gates_shown_equal_the_formula() -> None:
    lab = lab_of(task="delay", cell="lstm", hidden=5, length=6)
    lab.step(3)
    lab.viewer.stale = True
    inside = lab.views(True)["inside"]
    assert inside["gate_names"] == ["input", "forget", "candidate", "output"]
    gates, cell, hidden = decode(inside["gates"]), decode(inside["cell"]), decode(inside["hidden"])
    layer = lab.model.layers[0]
    w_ih, w_hh, b = layer.weight_ih_l0.detach(), layer.weight_hh_l0.detach(), (layer.bias_ih_l0 + layer.bias_hh_l0).detach()
    x = lab.eval_x[0]
    h, c = torch.zeros(5), torch.zeros(5)
    for t in range(2):  # two steps by hand (the second reads a nonzero h and c)
        pre = w_ih @ x[t] + w_hh @ h + b
        i, f, g, o = torch.sigmoid(pre[0:5]), torch.sigmoid(pre[5:10]), torch.tanh(pre[10:15]), torch.sigmoid(pre[15:20])
        c = f * c + i * g
        h = o * torch.tanh(c)
        for row, gate in enumerate((i, f, g, o)):
            np.testing.assert_allclose(gates[row, t], gate.numpy(), atol=1.01 / 255 * 2)
        np.testing.assert_allclose(cell[0, t], c.numpy(), atol=2e-3, rtol=2e-3)
        np.testing.assert_allclose(hidden[0, t], h.numpy(), atol=1.01 / 255 * 2)


def test_gru_gates_shown_equal_the_formula() -> None:
    lab = lab_of(task="parity", cell="gru", hidden=4, length=5)
    lab.step(2)
    lab.viewer.stale = True
    inside = lab.views(True)["inside"]
    assert inside["gate_names"] == ["reset", "update", "candidate"] and "cell" not in inside
    gates = decode(inside["gates"])
    layer = lab.model.layers[0]
    w_ih, w_hh = layer.weight_ih_l0.detach(), layer.weight_hh_l0.detach()
    b_ih, b_hh = layer.bias_ih_l0.detach(), layer.bias_hh_l0.detach()
    x, h = lab.eval_x[0], torch.zeros(4)
    for t in range(2):
        gi, gh = w_ih @ x[t] + b_ih, w_hh @ h + b_hh
        r = torch.sigmoid(gi[0:4] + gh[0:4])
        z = torch.sigmoid(gi[4:8] + gh[4:8])
        n = torch.tanh(gi[8:12] + r * gh[8:12])
        h = (1 - z) * n + z * h
        for row, gate in enumerate((r, z, n)):
            np.testing.assert_allclose(gates[row, t], gate.numpy(), atol=1.01 / 255 * 2)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_truncated_bptt_cuts_the_graph_where_it_says(cell: str) -> None:
    lab = lab_of(task="sine", cell=cell, hidden=6, length=12, bptt=4)
    x = lab.eval_x[:3].clone().requires_grad_()
    y = lab.eval_y[:3]
    backprop_chunks(lab.model, lab.task, x, y, 4, None)
    # the loss of chunk [8, 12) reaches no input before step 8, though the state does carry on
    only_last = x.grad.clone()
    x.grad = None
    x2 = x.detach().clone().requires_grad_()
    logits, _ = lab.model(x2)
    sequence_loss(lab.task, logits[:, 8:], y[:, 8:], 36).backward()
    assert x2.grad[:, :8].abs().sum() > 0  # untruncated, the last chunk's loss reaches step 0
    # truncated: each input's gradient comes from its own chunk's loss only
    for a in (0, 4, 8):
        x3 = x.detach().clone().requires_grad_()
        state = None
        with torch.no_grad():
            if a:
                _, state = lab.model(x3[:, :a])
        logits, _ = lab.model(x3[:, a : a + 4], state)
        sequence_loss(lab.task, logits, y[:, a : a + 4], 36).backward()
        torch.testing.assert_close(only_last[:, a : a + 4], x3.grad[:, a : a + 4])
    # and the BPTT view puts zeros exactly before the cut for a loss at the end only
    lab = lab_of(task="delay", cell=cell, hidden=6, length=12, bptt=4)
    bptt = lab.views(True)["bptt"]
    assert bptt["cuts"] == [4, 8]
    norms = bptt["norms"][0]
    assert all(n == 0.0 for n in norms[:8]) and all(n > 0 for n in norms[8:])


def test_untruncated_delay_gradient_reaches_the_first_step() -> None:
    norms = lab_of(task="delay", cell="rnn", hidden=6, length=12).views(True)["bptt"]["norms"][0]
    assert all(n > 0 for n in norms)
    assert norms[0] < norms[-1]  # a tanh RNN at init: the gradient decays toward early steps


def test_clipping_gives_exactly_the_clipped_norm() -> None:
    lab = lab_of(task="sine", cell="rnn", nonlinearity="relu", hidden=16, clip=True, max_norm=0.01, optimizer="sgd", learning_rate=0.001)
    lab.optimizer.step = lambda *a, **k: None  # type: ignore[method-assign]  (keep the grads to read)
    lab.train_step()
    norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in lab.model.parameters()]))
    assert abs(float(norm) - 0.01) < 1e-6
    before, after = lab._epoch_norms[-1][:2].tolist()
    assert before > 0.01 and abs(after - 0.01) < 1e-6
    lab = lab_of(task="sine", cell="rnn", hidden=16, clip=False)
    lab.train_step()
    before, after = lab._epoch_norms[-1][:2].tolist()
    assert before == after and before > 0


@pytest.mark.parametrize(("cell", "act"), CELLS)
def test_bptt_view_equals_autograd_dl_dh(cell: str, act: str) -> None:
    """dL/dh_t from the module itself: run it up to t, make h_t a leaf, run on from it."""
    lab = lab_of(task="sine", cell=cell, nonlinearity=act, hidden=5, length=7)
    lab.step(2)
    lab.viewer.stale = True
    shown = lab.views(True)["bptt"]["norms"][0]
    x, y = lab.eval_x[:32], lab.eval_y[:32]
    layer = lab.model.layers[0]
    for t in range(7):
        with torch.no_grad():
            before, state = layer(x[:, : t + 1])
        h_t = before[:, -1].clone().requires_grad_()
        start = (h_t[None], state[1]) if cell == "lstm" else h_t[None]
        after, _ = layer(x[:, t + 1 :], start) if t < 6 else (before[:, :0], None)
        out = torch.cat([before[:, :-1], h_t[:, None], after], dim=1)
        loss = sequence_loss(lab.task, lab.model.head(out), y, y.numel())
        (grad,) = torch.autograd.grad(loss, h_t)
        assert shown[t] == pytest.approx(float(grad.norm()), rel=1e-4, abs=1e-9)


def test_sizes_are_bounded_and_errors_name_the_field() -> None:
    for bad, field in [({"hidden": 65}, "hidden"), ({"layers": 4}, "layers"), ({"length": 101}, "length"),
                       ({"batch_size": 257}, "batch_size"), ({"symbols": 11}, "symbols"), ({"bptt": 101}, "bptt")]:
        with pytest.raises(ValidationError) as e:
            Config(**bad)  # type: ignore[arg-type]
        assert field in str(e.value)
    with pytest.raises(ValidationError, match="bidirectional: task 'text'"):
        Config(task="text", bidirectional=True)
    with pytest.raises(ValidationError, match="bptt 20: at most the sequence length 12"):
        Config(length=12, bptt=20)
    with pytest.raises(ValidationError, match="view_layer 2: the network has 1 layer"):
        Config(view_layer=2)


@pytest.mark.parametrize("config", [{"cell": "lstm", "layers": 3, "bidirectional": True}, {"cell": "gru", "task": "text", "layers": 2},
                                    {"cell": "rnn", "task": "sine"}])
def test_parameter_formula_matches_the_model(config: dict) -> None:
    lab = lab_of(**config)
    assert Lab.parameter_count(lab.config) == lab.parameter_total()
    assert Lab.step_work(lab.config) > 0


@pytest.mark.parametrize("task", ["sine", "delay", "parity", "text"])
def test_each_task_trains_and_snapshot_restores(task: str) -> None:
    lab = lab_of(task=task, length=10, hidden=16, carry_state=task in ("sine", "text"), bptt=5 if task != "delay" else 0)
    first = lab.metrics()["test_loss"]
    lab.step(60)
    assert lab.metrics()["test_loss"] < first
    copy = Lab.restore(lab.snapshot())
    lab.step(20)
    copy.step(20)
    assert copy.metrics() == lab.metrics()
    views = lab.views(True)
    assert len(views["prediction"]["target"]) == 10 and views["clip"]["step"][-1] == 80
    assert (views["sample"] is not None) == (task == "text")


def test_the_planned_lr_curve_is_the_shared_shape_sent_when_it_changes() -> None:
    """The lab base's schedule view: with a full frame and after a schedule change, not otherwise;
    a change keeps the optimizer (only the schedule is rebuilt)."""
    lab = lab_of(schedule="cosine", horizon=400)
    curve = lab.views(True)["schedule"]
    assert curve["horizon"] == 400 and curve["steps_per_epoch"] == lab.steps_per_epoch
    assert curve["steps"][0] == 0 and curve["steps"][-1] == 399 and len(curve["steps"]) <= 201
    assert curve["lr"][0] == pytest.approx(0.01) and curve["lr"][-1] < 0.001
    assert "schedule" not in lab.views(False)
    optimizer = lab.optimizer
    assert lab.configure(Config(**{**lab.config.model_dump(), "horizon": 800})) == "none"
    assert lab.optimizer is optimizer and lab.views(False)["schedule"]["horizon"] == 800
