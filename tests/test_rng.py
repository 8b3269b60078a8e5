"""The same run for everyone: every random draw of a session (initial weights, data and batch
order, dropout masks, gradient noise) comes from the session's own generators, so a run is
bit-identical whatever other sessions in the same worker process build, train or ask for
their code in between, and nothing a lab does touches torch's (or numpy's) global generator."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from descent.labs.arena.lab import Lab as ArenaLab
from descent.labs.arena.schema import Config as ArenaConfig
from descent.labs.attention.lab import Lab as AttentionLab
from descent.labs.attention.schema import Config as AttentionConfig
from descent.labs.backprop.lab import Lab as BackpropLab
from descent.labs.backprop.schema import Config as BackpropConfig
from descent.labs.cnn.lab import Lab as CnnLab
from descent.labs.cnn.schema import Config as CnnConfig
from descent.labs.mlp.lab import Lab as MlpLab
from descent.labs.mlp.schema import Config as MlpConfig
from descent.labs.mlp.script import render

CPU = torch.device("cpu")
# the example: pressing "Show the code" before play changed this run's losses
DROPOUT_RUN = dict(dataset="circle", hidden=[6, 4], activation="relu", optimizer="adam", learning_rate=0.01,
                   dropout=0.2, seed=11)


def mlp(**overrides: Any) -> MlpLab:
    return MlpLab(MlpConfig(**overrides), CPU)


def attention(**overrides: Any) -> AttentionLab:
    small = dict(d_model=16, ffn=16, heads=2, layers=1, batch_size=8, length=6)
    return AttentionLab(AttentionConfig(**{**small, **overrides}), CPU)


def arena(**overrides: Any) -> ArenaLab:
    return ArenaLab(ArenaConfig(**overrides), CPU)


def backprop(**overrides: Any) -> BackpropLab:
    return BackpropLab(BackpropConfig(**overrides), CPU)


def cnn(**overrides: Any) -> CnnLab:
    small = dict(dataset="bars", blocks=["conv4k3", "bn", "act", "max2", "gap"], batch_size=16)
    return CnnLab(CnnConfig(**{**small, **overrides}), CPU)


def train(lab: Any, steps: int) -> None:
    """``steps`` steps, unpaced (the arena and backprop pace ``step`` to their speed setting)."""
    if isinstance(lab, ArenaLab):
        lab.advance(steps)
    elif isinstance(lab, BackpropLab):
        for _ in range(steps):
            lab.whole_step()
    else:
        lab.step(steps)


def numbers(lab: Any) -> tuple[Any, ...]:
    """What a run is: its whole history and every trained number, exactly."""
    from descent.history import Cursor

    if isinstance(lab, ArenaLab):
        params = [r.point for r in lab.runners]
    elif isinstance(lab, BackpropLab):
        params = list(lab.params.values())
    else:
        params = list(lab.model.state_dict().values())
    return lab.history.since(Cursor()), [p.detach().clone().numpy().tobytes() for p in params]


def others() -> None:
    """What the other sessions of a worker do meanwhile: build every lab, train it, ask for
    its code, fork; and some code that uses torch's global generator (reseeding it too)."""
    torch.manual_seed(12345)
    torch.rand(100)
    np.random.seed(7)
    for lab in (mlp(dropout=0.5, hidden=[5, 5], init="he"), mlp(seed=11, dropout=0.2, hidden=[6, 4]),
                attention(dropout=0.3), arena(noise=2.0, seed=4), backprop(), cnn(seed=3)):
        train(lab, 7)
        lab.views(True)
        if isinstance(lab, CnnLab):
            lab.command("code", {})
        if isinstance(lab, MlpLab):
            lab.command("code", {})
            lab.command("fork", {"patch": {"learning_rate": 0.2}})
            train(lab, 3)
        lab.reset()
    torch.rand(3)


RUNS: dict[str, tuple[Callable[[], Any], int]] = {
    "mlp-dropout": (lambda: mlp(**DROPOUT_RUN), 60),
    "mlp-he-dropout-batchnorm": (lambda: mlp(init="he", dropout=0.3, norm="batch", hidden=[5, 3], seed=2), 60),
    "mlp-normal-init": (lambda: mlp(init="normal", init_scale=0.8, seed=5), 40),
    "attention-dropout": (lambda: attention(dropout=0.2, positional="learned"), 30),
    "attention-rope": (lambda: attention(positional="rope", seed=3, dropout=0.1), 30),
    "arena-noise": (lambda: arena(noise=3.0, seed=9), 40),
    "backprop": (backprop, 5),
    "cnn": (lambda: cnn(init="he", seed=6), 30),
}


@pytest.mark.parametrize("name", RUNS)
def test_a_run_is_the_same_whatever_others_do_meanwhile(name: str) -> None:
    make, steps = RUNS[name]
    alone = make()
    train(alone, steps)
    among_others = make()  # (built after the first run: no reseed in between puts it back)
    others()
    train(among_others, steps // 2)
    others()
    train(among_others, steps - steps // 2)
    assert numbers(among_others) == numbers(alone)


def test_show_the_code_before_play_changes_nothing() -> None:
    """The issue's example: {circle, hidden 6,4, relu, adam 0.01, dropout 0.2, seed 11} for 10
    epochs, with and without "Show the code" pressed (and another lab built) before play."""
    alone = mlp(**DROPOUT_RUN)
    train(alone, 10 * alone.steps_per_epoch)
    shown = mlp(**DROPOUT_RUN)
    shown.command("code", {})
    mlp(seed=4, hidden=[3])  # someone else's session starts
    train(shown, 10 * shown.steps_per_epoch)
    assert numbers(shown) == numbers(alone)
    losses = numbers(alone)[0]["series"]["train_loss"]
    assert losses[10] < losses[1]  # (it does train)


def test_a_fork_leaves_the_main_runs_dropout_alone() -> None:
    """A fork draws its masks from its own copy of the stream: the main run is the run it
    would have been without the fork."""
    alone = mlp(**DROPOUT_RUN)
    train(alone, 50)
    forked = mlp(**DROPOUT_RUN)
    train(forked, 10)
    forked.command("fork", {"patch": {"learning_rate": 0.05}})
    train(forked, 40)
    assert numbers(forked)[1] == numbers(alone)[1]


def global_state() -> tuple[Any, ...]:
    return torch.random.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()


@pytest.mark.parametrize("make", [lambda: mlp(**DROPOUT_RUN), lambda: mlp(init="xavier", norm="layer", dropout=0.1),
                                  lambda: attention(dropout=0.2), lambda: arena(noise=1.0), backprop, cnn],
                         ids=["mlp-dropout", "mlp-xavier-layernorm", "attention-dropout", "arena-noise", "backprop", "cnn"])
def test_no_lab_touches_the_global_generators(make: Callable[[], Any]) -> None:
    torch.manual_seed(2024)
    np.random.seed(2024)
    random.seed(2024)
    before = global_state()
    lab = make()
    train(lab, 25)
    lab.views(True)
    if isinstance(lab, CnnLab):
        lab.command("code", {})
        lab.command("predict", {"pixels": [0.5] * 100})
    if isinstance(lab, MlpLab):
        lab.command("code", {})
        render(lab.config)
        lab.command("fork", {"patch": {"learning_rate": 0.2}})
        train(lab, 5)
    lab.reset()
    train(lab, 5)
    after = global_state()
    assert torch.equal(before[0], after[0]), "torch's global generator was used or reseeded"
    assert np.array_equal(before[1], after[1]) and before[2] == after[2]


def test_a_cohort_touches_no_global_generator_and_steps_as_alone() -> None:
    """Runs stepped together (cohort.py) draw their batch order from their own generators
    too: the same numbers as each run alone, whatever reseeds the global generator."""
    setups = [dict(seed=1, hidden=[4]), dict(seed=2, hidden=[4], learning_rate=0.1)]
    alone = [mlp(**s) for s in setups]
    for lab in alone:
        train(lab, 30)
    together = [mlp(**s) for s in setups]
    assert together[0].cohort_key() == together[1].cohort_key() is not None
    MlpLab.step_together(together, 15)
    others()
    torch.manual_seed(0)
    before = global_state()
    MlpLab.step_together(together, 15)
    assert torch.equal(before[0], global_state()[0])
    for a, b in zip(alone, together):
        for p, q in zip(a.model.parameters(), b.model.parameters()):
            torch.testing.assert_close(p, q, rtol=0, atol=1e-6)  # (batched sums round differently)
