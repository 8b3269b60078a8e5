"""Cross-session batching: playground runs of one shape stepped together over stacked
parameters give what each gives stepped alone (real labs, real torch training), and the
worker steps a class running one preset that way."""

from __future__ import annotations

import copy
import math
import re
import time
from typing import Any

import pytest
import torch

from descent.history import Cursor
from descent.labs.mlp import cohort
from descent.labs.mlp.lab import Lab
from descent.labs.mlp.schema import Config
from descent.nn.optimizers import OPTIMIZERS
from descent.runtime.session import Session
from descent.runtime.worker import Worker

CPU = torch.device("cpu")
# (a deep-copied lab's scheduler no longer sees its optimizer's step wrapper, and says so)
pytestmark = pytest.mark.filterwarnings("ignore:Seems like `optimizer.step\\(\\)` has been overridden")
SETUPS: list[dict[str, Any]] = [
    {},  # the default preset
    {"batch_size": 7},  # 250 points: every epoch ends on a short batch, stepped alone
    {"hidden": [6, 4, 3], "activation": "relu", "weight_decay": 0.01, "regularization": "l2", "regularization_rate": 0.001},
    {"regularization": "l1", "regularization_rate": 0.003, "activation": "sigmoid"},
    {"problem": "multiclass", "dataset": "blobs", "loss": "ce", "classes": 4},
    {"dataset": "xor", "loss": "bce"},
    {"problem": "regression", "dataset": "plane", "loss": "huber"},
    {"schedule": "warmup_cosine", "schedule_steps": 80},
    # optimizers with state, stacked with it: each equals its torch.optim class. (With high
    # momentum these small nets amplify float rounding, alone as much as together: a 1e-7
    # nudge grows to 1e-2 in 250 steps of Nesterov at 0.9, so the momentum here is tamer.)
    {"optimizer": "momentum", "momentum": 0.8},
    {"optimizer": "nesterov", "weight_decay": 0.01, "batch_size": 7, "momentum": 0.5},  # (a short batch steps alone: its state goes and comes back)
    {"optimizer": "adam", "beta1": 0.8, "beta2": 0.99},
    {"optimizer": "adamw", "weight_decay": 0.05, "batch_size": 7, "schedule": "cosine", "schedule_steps": 60},
    {"optimizer": "adam", "weight_decay": 0.01, "loss": "bce", "dataset": "xor"},
    {"optimizer": "rmsprop", "rho": 0.95, "weight_decay": 0.01},
    {"optimizer": "adagrad", "batch_size": 7},
    {"optimizer": "adadelta", "rho": 0.8, "eps": 1e-6},
    {"optimizer": "yogi"},
    # dropout: each run's masks from its own generator, as alone (by hand: relu; by autograd: elu)
    {"dropout": 0.2, "hidden": [6, 4], "activation": "relu", "batch_size": 7},
    {"dropout": 0.1, "optimizer": "adam", "beta1": 0.8, "beta2": 0.99},
    {"dropout": 0.5, "activation": "elu", "loss": "bce", "dataset": "xor"},
]
# every optimizer's stacked rule, one step at a time from equal states (no room for rounding
# to grow): (optimizer, settings)
RULES: list[dict[str, Any]] = [
    *({"optimizer": name} for name in OPTIMIZERS.names()),
    {"optimizer": "nesterov", "weight_decay": 0.01, "momentum": 0.95},
    {"optimizer": "adam", "weight_decay": 0.01, "beta1": 0.5},
    {"optimizer": "adamw", "weight_decay": 0.05},
    {"optimizer": "adam", "bias_correction": False},  # (descent.nn.moments, not torch.optim)
    {"optimizer": "adamw", "bias_correction": False, "weight_decay": 0.02},
    {"optimizer": "yogi", "eps": 1e-3, "weight_decay": 0.01},
    {"optimizer": "yogi", "bias_correction": False},
    {"optimizer": "rmsprop", "rho": 0.5, "eps": 1e-4, "weight_decay": 0.1},
]


def class_of(n: int, **setup: Any) -> list[Lab]:
    """``n`` runs of one setup, as students would have them: their own seeds and rates."""
    return [Lab(Config(seed=i, learning_rate=0.01 * (i + 1), **setup), CPU) for i in range(n)]


def nans(values: list[float | None]) -> list[float]:
    return [math.nan if v is None else v for v in values]


def assert_same(together: list[Lab], alone: list[Lab]) -> None:
    for a, b in zip(together, alone):
        assert (a.step_count, a.epoch, a.lr) == (b.step_count, b.epoch, b.lr)
        for la, lb in zip(a.linears, b.linears):
            for pa, pb in ((la.weight, lb.weight), (la.bias, lb.bias), (la.weight.grad, lb.weight.grad), (la.bias.grad, lb.bias.grad)):
                torch.testing.assert_close(pa.detach(), pb.detach(), rtol=0, atol=1e-6)
        for wa, wb in zip(a.before_step, b.before_step):
            torch.testing.assert_close(wa, wb, rtol=0, atol=1e-6)
        for pa, pb in zip(a.model.parameters(), b.model.parameters()):  # the optimizer state, as torch.optim keeps it
            sa, sb = a.optimizer.state.get(pa, {}), b.optimizer.state.get(pb, {})
            assert sa.keys() == sb.keys()
            for k in sa:
                torch.testing.assert_close(sa[k], sb[k], rtol=1e-5, atol=1e-6)
        assert [(x["epoch"], x["step"], x["lr"]) for x in a.spikes] == [(x["epoch"], x["step"], x["lr"]) for x in b.spikes]
        ha, hb = a.history.since(Cursor()), b.history.since(Cursor())
        assert ha["epoch"] == hb["epoch"]
        for name in ("train_loss", "test_loss", "lr"):
            assert ha["series"][name] == pytest.approx(hb["series"][name], rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("setup", SETUPS, ids=lambda s: ",".join(s) or "default")
def test_stepping_together_equals_stepping_alone(setup: dict[str, Any]) -> None:
    together = class_of(4, **setup)
    alone = [copy.deepcopy(lab) for lab in together]
    assert len({lab.cohort_key() for lab in together}) == 1 and together[0].cohort_key() is not None
    for n in (1, 37, 2 * together[0].steps_per_epoch):  # across epoch ends, in calls of several lengths
        Lab.step_together(together, n)
        for lab in alone:
            lab.step(n)
        assert_same(together, alone)
    assert together[0].epoch >= 2


@pytest.mark.parametrize("setup", RULES, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_each_stacked_rule_takes_the_optimizers_own_step(setup: dict[str, Any]) -> None:
    """From equal weights and optimizer state, one stacked step gives what the run's own
    optimizer (torch.optim, or descent.nn.moments) gives, at several points of training."""
    together = class_of(3, **setup)
    assert together[0].cohort_key() is not None
    for before in (0, 1, 30):  # fresh state, after a step, well into training
        for lab in together:
            lab.step(before)
        alone = [copy.deepcopy(lab) for lab in together]
        Lab.step_together(together, 1)
        for lab in alone:
            lab.step(1)
        for a, b in zip(together, alone):
            for pa, pb in zip(a.model.parameters(), b.model.parameters()):
                torch.testing.assert_close(pa.detach(), pb.detach(), rtol=1e-6, atol=1e-7)
                sa, sb = a.optimizer.state.get(pa, {}), b.optimizer.state.get(pb, {})
                assert sa.keys() == sb.keys()
                for k in sa:
                    torch.testing.assert_close(sa[k], sb[k], rtol=1e-6, atol=1e-7)


def test_runs_at_different_points_of_their_epochs_step_together() -> None:
    together = class_of(3)
    together[1].step(9)
    together[2].step(31)
    alone = [copy.deepcopy(lab) for lab in together]
    Lab.step_together(together, 70)
    for lab in alone:
        lab.step(70)
    assert_same(together, alone)


@pytest.mark.parametrize("setup", [{}, {"optimizer": "adam", "beta1": 0.8}, {"optimizer": "nesterov", "momentum": 0.5}],
                         ids=["sgd", "adam", "nesterov"])
def test_a_run_leaves_its_cohort_and_comes_back(setup: dict[str, Any]) -> None:
    """A cohort leaves each run's weights, gradients and optimizer state as views of one
    buffer each (labs/mlp/flat.py); torch.optim stepping the run alone after that, and the
    cohort taking it back, give what stepping alone all along gives."""
    together = class_of(3, **setup)
    alone = [copy.deepcopy(lab) for lab in together]
    for n, solo in ((30, 0), (0, 17), (41, 0), (0, 5), (12, 0)):
        if n:
            Lab.step_together(together, n)
        for lab in together:
            lab.step(solo)
        for lab in alone:
            lab.step(n + solo)
        assert_same(together, alone)
    lab = together[0]
    buffer = lab.flat.params()
    starts = [0, 8, 16, 18, 22, 24]  # (2-4-2-1: weights 8, 8, 2, biases 4, 2, 1; float32)
    assert [(p.data_ptr() - buffer.data_ptr()) // 4 for p in lab.flat.own] == starts and len(buffer) == 25
    assert lab.linears[0].weight.grad.data_ptr() == lab.flat.grads.data_ptr()  # (the cohort's last call came last)


@pytest.mark.parametrize("calls", [[150], [20, 40]], ids=["one call", "diverging on a call's last step"])
def test_a_diverging_run_stops_alone_and_the_others_go_on(calls: list[int]) -> None:
    """Epoch ends are scored after each batched call: a run found diverged at one is put back there."""
    together = class_of(3, problem="regression", dataset="plane", activation="relu")
    # (4: with plane's targets 1.2x larger (TensorFlow Playground's), 5 and above blow up within
    # one step, where the stacked backward's NaN gradients and autograd's zeros differ)
    together[1].configure(together[1].config.model_copy(update={"learning_rate": 4.0}))
    alone = [copy.deepcopy(lab) for lab in together]
    for n in calls:
        Lab.step_together(together, n)
        for lab in alone:
            lab.step(n)
    assert together[1].diverged and not together[0].diverged and not together[2].diverged
    assert together[1].step_count == alone[1].step_count <= sum(calls) == together[0].step_count
    assert_same([together[0], together[2]], [alone[0], alone[2]])
    # the diverged run is put back where it stopped alone: the same message (epoch, step, lr,
    # blown layer), counters, history and (huge: relative rounding) weights and gradients
    a, b = together[1], alone[1]
    assert a.diverged == b.diverged and (a.step_count, a.epoch, a.lr) == (b.step_count, b.epoch, b.lr)
    ha, hb = a.history.since(Cursor()), b.history.since(Cursor())
    assert ha["epoch"] == hb["epoch"] and ha["series"].keys() == hb["series"].keys()
    for name, values in ha["series"].items():
        assert nans(values) == pytest.approx(nans(hb["series"][name]), rel=1e-5, nan_ok=True)
    for wa, wb in zip(a.before_step, b.before_step, strict=True):
        torch.testing.assert_close(wa, wb, rtol=1e-5, atol=1e-6, equal_nan=True)
    for la, lb in zip(a.linears, b.linears):
        for pa, pb in ((la.weight, lb.weight), (la.bias, lb.bias), (la.weight.grad, lb.weight.grad), (la.bias.grad, lb.bias.grad)):
            torch.testing.assert_close(pa.detach(), pb.detach(), rtol=1e-5, atol=1e-6, equal_nan=True)


def same_text_but_rounding(a: str, b: str) -> bool:
    """Equal texts up to the last printed digit of each number in them (float rounding can
    tip a printed digit; it cannot change a word, a step or a layer)."""
    number = r"(\d+(?:\.\d+)?(?:e[+-]\d+)?)"
    pa, pb = re.split(number, a), re.split(number, b)
    if len(pa) != len(pb) or pa[0::2] != pb[0::2]:
        return False
    for x, y in zip(pa[1::2], pb[1::2]):
        mantissa = x.split("e")[0]
        unit = 10.0 ** -(len(mantissa.split(".")[1]) if "." in mantissa else 0) * 10.0 ** int(x.split("e")[1] if "e" in x else 0)
        if abs(float(x) - float(y)) > 1.0001 * unit:
            return False
    return True


def test_a_spike_is_explained_as_stepping_alone_explains_it() -> None:
    """Epoch ends scored after the call still explain a spike with that step's gradients."""
    # A spike needs an unstable step, and unstable steps amplify float rounding; so the run
    # is steady (lr 0.01) until its student raises the LR to 2 between two calls: one epoch
    # later the loss spikes, and rounding has had only those 20 steps to grow (a run left
    # chaotic for hundreds of steps differs by more than rounding, alone as much as together).
    together = class_of(3, problem="regression", dataset="plane", hidden=[8, 8], activation="sigmoid")
    alone = [copy.deepcopy(lab) for lab in together]
    Lab.step_together(together, 100)
    for lab in alone:
        lab.step(100)
    for lab in (together[0], alone[0]):
        lab.configure(lab.config.model_copy(update={"learning_rate": 2.0}))
    Lab.step_together(together, 150)  # steps 101-250: epochs end at 120, 180 and 240, inside the call
    for lab in alone:
        lab.step(150)
    spikes, expected = together[0].spikes, alone[0].spikes
    assert spikes and not together[0].diverged
    assert all(100 < x["step"] < 250 for x in spikes)  # scored after the call that stepped it
    assert [(x["epoch"], x["step"], x["lr"]) for x in spikes] == [(x["epoch"], x["step"], x["lr"]) for x in expected]
    for x, y in zip(spikes, expected):
        assert same_text_but_rounding(x["text"], y["text"]), (x["text"], y["text"])
    ha, hb = together[0].history.since(Cursor()), alone[0].history.since(Cursor())
    assert ha["series"]["train_loss"] == pytest.approx(hb["series"]["train_loss"], rel=1e-4)
    assert_same(together[1:], alone[1:])


def test_who_may_join_a_cohort() -> None:
    default = Lab(Config(), CPU)
    assert default.cohort_key() == Lab(Config(seed=5, learning_rate=0.3, noise=20), CPU).cohort_key()
    for other in ({"hidden": [4, 3]}, {"activation": "relu"}, {"batch_size": 20}, {"features": ["x1", "x2", "x1x2"]}, {"weight_decay": 0.1}):
        assert Lab(Config(**other), CPU).cohort_key() not in (None, default.cohort_key()), other
    for alone in ({"norm": "batch"}, {"norm": "layer"}):
        assert Lab(Config(**alone), CPU).cohort_key() is None, alone
    dropout = Lab(Config(dropout=0.1), CPU).cohort_key()  # (its masks come from each run's own generator)
    assert dropout not in (None, default.cohort_key(), Lab(Config(dropout=0.2), CPU).cohort_key())
    adam = Lab(Config(optimizer="adam"), CPU).cohort_key()
    assert adam not in (None, default.cohort_key(), Lab(Config(optimizer="adam", beta2=0.99), CPU).cohort_key())
    assert adam == Lab(Config(optimizer="adam", learning_rate=0.1, momentum=0.5), CPU).cohort_key()  # (Adam reads no momentum)
    forked = Lab(Config(), CPU)
    forked.command("fork", {"patch": {"learning_rate": 0.1}})
    assert forked.cohort_key() is None
    assert cohort.key(default) == default.cohort_key()


def test_the_worker_steps_a_class_running_one_preset_together() -> None:
    calls: list[int] = []
    real = Lab.step_together.__func__  # type: ignore[attr-defined]

    def counted(cls: type[Lab], labs: list[Lab], n: int) -> None:
        calls.append(len(labs))
        real(cls, labs, n)

    worker = Worker()
    Lab.step_together = classmethod(counted)  # type: ignore[method-assign]
    worker.start()
    try:
        def make(i: int, **setup: Any) -> Session:
            s = Session(f"s{i}", CPU, lambda m: None)
            s.send = lambda m, s=s: s.ack() if m["type"] == "frame" else None
            if setup:
                s.configure(setup)
            worker.add(s)
            s.control("play")
            return s

        sessions = [worker.submit(lambda i=i: make(i)).result() for i in range(4)]
        loner = worker.submit(lambda: make(9, optimizer="adam")).result()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and min(s.lab.epoch for s in [*sessions, loner]) < 3:
            time.sleep(0.05)
        worker.submit(lambda: [s.control("pause") for s in [*sessions, loner]]).result()
    finally:
        worker.stop()
        Lab.step_together = classmethod(real)  # type: ignore[method-assign]
    assert calls and max(calls) == 4  # the four default sessions, in one batched computation
    assert min(s.lab.epoch for s in sessions) >= 3 and loner.lab.epoch >= 3  # and the adam one alone
    assert all(s.state == "paused" and not s.failed for s in [*sessions, loner])


@pytest.mark.parametrize(("setup", "fused"), [({}, True), ({"activation": "relu", "hidden": [6, 4, 3]}, True),
                                              ({"activation": "sigmoid", "optimizer": "adam"}, True),
                                              ({"activation": "linear", "problem": "regression", "dataset": "plane"}, True),
                                              ({"dropout": 0.1}, False), ({"activation": "elu"}, False),
                                              ({"loss": "bce", "dataset": "xor"}, False)])
def test_the_numpy_step_takes_the_setups_it_is_written_for(setup: dict[str, Any], fused: bool) -> None:
    """labs/mlp/fused.py steps the by-hand family without dropout (the equality tests above
    then hold it to stepping alone); the others keep the torch path."""
    from descent.labs.mlp.stack import Stack

    assert (Stack(class_of(2, **setup)).fused is not None) is fused


@pytest.mark.parametrize("name", ["sgd", "nesterov", "adam", "adamw"])
def test_the_update_runs_in_numpy_on_the_fused_step(name: str) -> None:
    """The fused step's update is numpy's where the rule has one (stacked.py ``Rule.numpy``):
    taken, and equal to torch.optim (the equality tests above step it too; here it is seen
    being used)."""
    import dataclasses

    from descent.labs.mlp import stacked

    used: list[int] = []
    real = stacked.RULES[name]
    rule = real(Config(optimizer=name))
    assert rule.numpy is not None

    def spy(*args: Any) -> None:
        used.append(1)
        rule.numpy(*args)  # type: ignore[misc]

    stacked.RULES[name] = lambda hp: dataclasses.replace(real(hp), numpy=spy)
    try:
        together = class_of(3, optimizer=name, weight_decay=0.02)
        alone = [copy.deepcopy(lab) for lab in together]
        Lab.step_together(together, 60)
        for lab in alone:
            lab.step(60)
    finally:
        stacked.RULES[name] = real
    assert len(used) == 60
    assert_same(together, alone)


@pytest.mark.parametrize("setup", [{}, {"problem": "regression", "dataset": "plane", "activation": "relu"}])
def test_the_numpy_scores_are_the_labs_own(setup: dict[str, Any]) -> None:
    """A cohort's epoch ends scored in numpy (fused.py) give what the run's own evaluate gives."""
    from descent.labs.mlp.stack import Stack

    labs = class_of(2, **setup)
    for lab in labs:
        lab.step(30)
    stack = Stack(labs)
    assert stack.fused is not None
    x, y = torch.stack([lab.x_eval for lab in labs]), torch.stack([lab.y_eval for lab in labs])
    names, values = stack.fused.scores(stack.flat.numpy(), x.numpy(), y.numpy(), len(labs[0].y_train))
    for lab, run in zip(labs, values):
        own = lab.evaluate()
        assert names == list(own)
        assert run == pytest.approx([own[name] for name in names], rel=1e-5, abs=1e-7)
