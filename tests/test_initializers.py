"""Initializers against their distributions, and the symmetry trap in a real training run."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from descent.labs.mlp.lab import Lab
from descent.labs.mlp.schema import Config
from descent.nn.initializers import INITIALIZERS, InitParams, linear

CPU = torch.device("cpu")


def layer(fan_in: int = 400, fan_out: int = 300, name: str = "default", seed: int = 0, **hp: float) -> nn.Linear:
    return linear(fan_in, fan_out, torch.Generator().manual_seed(seed), InitParams(init=name, **hp))


@pytest.mark.parametrize("name", INITIALIZERS.names())
def test_each_initializer_draws_from_its_generator_alone(name: str) -> None:
    """The run's own generator decides the weights; torch's global one is neither read nor
    moved (every session of a worker shares it)."""
    torch.manual_seed(1)
    before = torch.random.get_rng_state()
    a, b = layer(30, 20, name, seed=5), layer(30, 20, name, seed=5)
    assert torch.equal(torch.random.get_rng_state(), before)
    torch.rand(10)  # someone else draws meanwhile
    c = layer(30, 20, name, seed=5)
    assert torch.equal(a.weight, b.weight) and torch.equal(a.weight, c.weight) and torch.equal(a.bias, c.bias)
    if name not in ("zeros", "constant"):
        assert not torch.equal(a.weight, layer(30, 20, name, seed=6).weight)


def test_default_is_pytorchs_own_init_draw_for_draw() -> None:
    torch.manual_seed(3)
    torch_own = nn.Linear(7, 5)
    ours = layer(7, 5, "default", seed=3)
    assert torch.equal(ours.weight, torch_own.weight) and torch.equal(ours.bias, torch_own.bias)


def test_names() -> None:
    assert {"normal", "uniform", "zeros", "constant", "xavier", "he"} <= set(INITIALIZERS.names())


def test_normal_and_uniform_use_the_scale() -> None:
    w = layer(name="normal", init_scale=0.2).weight
    assert float(w.std()) == pytest.approx(0.2, rel=0.02) and abs(float(w.mean())) < 0.005
    w = layer(name="uniform", init_scale=0.3).weight
    assert float(w.abs().max()) <= 0.3 and float(w.abs().max()) > 0.299
    assert float(w.std()) == pytest.approx(0.3 / math.sqrt(3), rel=0.02)  # std of U(-a, a)


def test_xavier_and_he_follow_fan_in_and_out() -> None:
    w = layer(400, 300, "xavier").weight
    bound = math.sqrt(6 / (400 + 300))
    assert float(w.abs().max()) <= bound and float(w.std()) == pytest.approx(bound / math.sqrt(3), rel=0.02)
    w = layer(400, 300, "he").weight
    assert float(w.std()) == pytest.approx(math.sqrt(2 / 400), rel=0.02)


@pytest.mark.parametrize("name", ["normal", "uniform", "zeros", "constant", "xavier", "he"])
def test_bias_starts_at_zero(name: str) -> None:
    assert torch.count_nonzero(layer(name=name).bias) == 0


def test_constant_and_zeros() -> None:
    assert torch.all(layer(name="constant", init_value=-0.7).weight == -0.7)
    assert torch.count_nonzero(layer(name="zeros").weight) == 0


def rows_identical(w: torch.Tensor) -> bool:
    return bool(torch.allclose(w, w[:1].expand_as(w), rtol=0, atol=1e-6))


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_symmetry_trap_hidden_units_stay_identical(optimizer: str) -> None:
    """Constant init: every unit of a hidden layer computes the same function, gets the same
    gradient, takes the same step, so after any amount of training they are still equal."""
    lab = Lab(Config(init="constant", init_value=0.3, hidden=[5, 4], optimizer=optimizer, learning_rate=0.03), CPU)
    start = [w.detach().clone() for w in lab.weights]
    lab.step(lab.steps_per_epoch * 8)
    w1, w2, w3 = (w.detach() for w in lab.weights)
    assert not torch.allclose(w1, start[0])  # it did train ...
    assert rows_identical(w1) and rows_identical(w2)  # ... but each layer's units are clones
    assert torch.allclose(w2, w2[:, :1].expand_as(w2), atol=1e-6)  # and see identical inputs
    assert rows_identical(lab.linears[0].bias.detach()[:, None])


def test_random_init_breaks_the_symmetry() -> None:
    lab = Lab(Config(init="xavier", hidden=[5, 4]), CPU)
    lab.step(lab.steps_per_epoch * 2)
    assert not rows_identical(lab.weights[0].detach())
