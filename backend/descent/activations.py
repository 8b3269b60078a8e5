"""Activation registry: name -> factory() -> torch.nn.Module."""

from __future__ import annotations

from typing import Any, Callable

from .registry import Registry

ACTIVATIONS: Registry[Callable[[], Any]] = Registry("activation")


@ACTIVATIONS.register("relu")
def relu() -> Any:
    from torch import nn

    return nn.ReLU()


@ACTIVATIONS.register("tanh")
def tanh() -> Any:
    from torch import nn

    return nn.Tanh()


@ACTIVATIONS.register("sigmoid")
def sigmoid() -> Any:
    from torch import nn

    return nn.Sigmoid()


@ACTIVATIONS.register("linear")
def linear() -> Any:
    from torch import nn

    return nn.Identity()
