"""Weight-initializer registry, shared by every lab: name -> fn(layer, hp) that fills a
layer's weight and bias in place (``layer`` has ``.weight`` of shape (fan_out, fan_in) and
``.bias``). ``default`` keeps PyTorch's own init; the others zero the bias, so only the
weights tell units apart (which is what the symmetry trap is about)."""

from __future__ import annotations

from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field

from .registry import Registry

INITIALIZERS: Registry[Callable[[Any, "InitParams"], None]] = Registry("initializer")


def _zero_bias(layer: Any) -> None:
    if getattr(layer, "bias", None) is not None:
        layer.bias.data.zero_()


@INITIALIZERS.register("default", uses=(), label="PyTorch default")
def default(layer: Any, hp: "InitParams") -> None:
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and bias (torch.nn.Linear.reset_parameters)."""
    layer.reset_parameters()


@INITIALIZERS.register("normal", uses=("init_scale",), label="normal N(0, scale²)")
def normal(layer: Any, hp: "InitParams") -> None:
    from torch import nn

    nn.init.normal_(layer.weight, mean=0.0, std=hp.init_scale)
    _zero_bias(layer)


@INITIALIZERS.register("uniform", uses=("init_scale",), label="uniform U(-scale, scale)")
def uniform(layer: Any, hp: "InitParams") -> None:
    from torch import nn

    nn.init.uniform_(layer.weight, -hp.init_scale, hp.init_scale)
    _zero_bias(layer)


@INITIALIZERS.register("zeros", uses=(), label="zeros")
def zeros(layer: Any, hp: "InitParams") -> None:
    from torch import nn

    nn.init.zeros_(layer.weight)
    _zero_bias(layer)


@INITIALIZERS.register("constant", uses=("init_value",), label="constant (the symmetry trap)")
def constant(layer: Any, hp: "InitParams") -> None:
    """Every weight the same value: all units of a layer compute the same function, get the
    same gradient and so stay identical forever."""
    from torch import nn

    nn.init.constant_(layer.weight, hp.init_value)
    _zero_bias(layer)


@INITIALIZERS.register("xavier", uses=(), label="Xavier/Glorot")
def xavier(layer: Any, hp: "InitParams") -> None:
    """U(-a, a), a = sqrt(6 / (fan_in + fan_out)): keeps activation and gradient variance
    roughly constant across layers for tanh/sigmoid-like units."""
    from torch import nn

    nn.init.xavier_uniform_(layer.weight)
    _zero_bias(layer)


@INITIALIZERS.register("he", uses=(), label="He/Kaiming")
def he(layer: Any, hp: "InitParams") -> None:
    """N(0, 2 / fan_in): compensates ReLU zeroing half its inputs."""
    from torch import nn

    nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")
    _zero_bias(layer)


InitName = Literal[INITIALIZERS.names()]  # type: ignore[valid-type]


class InitParams(BaseModel):
    """How weights start; flat so they fit in a URL. Lab configs inherit it."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    init: InitName = Field("default", description="weight initializer")
    init_scale: float = Field(0.5, gt=0.0, le=10.0, description="normal: standard deviation; uniform: half-width")
    init_value: float = Field(0.5, ge=-10.0, le=10.0, description="constant: the value of every weight")
