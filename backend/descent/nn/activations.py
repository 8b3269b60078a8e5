"""Activation registry: name -> factory() -> torch.nn.Module. Meta ``slope``, where the
derivative is a function of the output alone: y -> dy/dx (the batched step of same-shaped
sessions, labs/mlp/cohort.py, backpropagates through those by hand). Meta ``numpy``, for
some of those: (forward in place, slope), both on numpy arrays (labs/mlp/fused.py: the same
step without torch's per-op cost)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from descent.registry import Registry

ACTIVATIONS: Registry[Callable[[], Any]] = Registry("activation")


@ACTIVATIONS.register("relu", label="ReLU", slope=lambda y: (y > 0).to(y.dtype),
                      numpy=(lambda h: np.maximum(h, 0, out=h), lambda y: (y > 0).astype(y.dtype)))
def relu() -> Any:
    from torch import nn

    return nn.ReLU()


@ACTIVATIONS.register("tanh", label="Tanh", slope=lambda y: 1 - y * y, numpy=(lambda h: np.tanh(h, out=h), lambda y: 1 - y * y))
def tanh() -> Any:
    from torch import nn

    return nn.Tanh()


def _sigmoid_in_place(h: Any) -> Any:
    """1 / (1 + exp(-h)), written into ``h`` (a numpy array)."""
    np.exp(np.negative(h, out=h), out=h)
    return np.reciprocal(np.add(h, 1, out=h), out=h)


@ACTIVATIONS.register("sigmoid", label="Sigmoid", slope=lambda y: (1 - y) * y, numpy=(_sigmoid_in_place, lambda y: (1 - y) * y))
def sigmoid() -> Any:
    from torch import nn

    return nn.Sigmoid()


@ACTIVATIONS.register("linear", label="Linear", slope=lambda y: 1.0, numpy=(lambda h: h, lambda y: 1.0))
def linear() -> Any:
    from torch import nn

    return nn.Identity()


@ACTIVATIONS.register("leaky_relu", label="Leaky ReLU")
def leaky_relu() -> Any:
    """max(x, 0.01 x): a small slope for x < 0 keeps 'dead' units trainable."""
    from torch import nn

    return nn.LeakyReLU(0.01)


@ACTIVATIONS.register("elu", label="ELU")
def elu() -> Any:
    from torch import nn

    return nn.ELU()


@ACTIVATIONS.register("gelu", label="GELU")
def gelu() -> Any:
    """x * Phi(x), the transformer's activation."""
    from torch import nn

    return nn.GELU()


@ACTIVATIONS.register("silu", label="SiLU")
def silu() -> Any:
    """x * sigmoid(x) (a.k.a. swish)."""
    from torch import nn

    return nn.SiLU()


def activation_curve(name: str, lo: float = -5.0, hi: float = 5.0, points: int = 101) -> dict[str, list[float]]:
    """The activation and its derivative on [lo, hi], by autograd through the real module."""
    import torch

    with torch.enable_grad():  # callers may be inside no_grad (frame views)
        x = torch.linspace(lo, hi, points, dtype=torch.float64, requires_grad=True)
        y = ACTIVATIONS[name].fn()(x)
        (dy,) = torch.autograd.grad(y.sum(), x)
    r = lambda t: [round(v, 5) for v in t.detach().tolist()]  # noqa: E731
    return {"x": r(x), "y": r(y), "dy": r(dy)}
