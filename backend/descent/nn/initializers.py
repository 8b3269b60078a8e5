"""Weight-initializer registry, shared by every lab: name -> fn(layer, hp, generator) that
fills a layer's weight and bias in place (``layer`` has ``.weight`` of shape (fan_out,
fan_in) and ``.bias``), drawing from ``generator`` only: a run's own random stream, never
torch's global one (which every session of a worker shares). ``default`` is PyTorch's own
init of nn.Linear; the others zero the bias, so only the weights tell units apart (which is
what the symmetry trap is about)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from descent.registry import Registry

if TYPE_CHECKING:
    import torch

INITIALIZERS: Registry[Callable[[Any, InitParams, torch.Generator], None]] = Registry("initializer")


def _zero_bias(layer: Any) -> None:
    if getattr(layer, "bias", None) is not None:
        layer.bias.data.zero_()


@INITIALIZERS.register("default", uses=(), label="PyTorch default")
def default(layer: Any, hp: InitParams, generator: torch.Generator) -> None:
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and bias: torch.nn.Linear.reset_parameters,
    draw for draw (kaiming_uniform_ with a = sqrt(5) is that uniform)."""
    import math

    from torch import nn

    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
    if getattr(layer, "bias", None) is not None:
        bound = 1 / math.sqrt(layer.weight.shape[1])
        nn.init.uniform_(layer.bias, -bound, bound, generator=generator)


@INITIALIZERS.register("normal", short="Normal", uses=("init_scale",), label="normal N(0, scale²)")
def normal(layer: Any, hp: InitParams, generator: torch.Generator) -> None:
    from torch import nn

    nn.init.normal_(layer.weight, mean=0.0, std=hp.init_scale, generator=generator)
    _zero_bias(layer)


@INITIALIZERS.register("uniform", short="Uniform", uses=("init_scale",), label="uniform U(-scale, scale)")
def uniform(layer: Any, hp: InitParams, generator: torch.Generator) -> None:
    from torch import nn

    nn.init.uniform_(layer.weight, -hp.init_scale, hp.init_scale, generator=generator)
    _zero_bias(layer)


@INITIALIZERS.register("zeros", short="Zeros", uses=(), label="zeros")
def zeros(layer: Any, hp: InitParams, generator: torch.Generator) -> None:
    from torch import nn

    nn.init.zeros_(layer.weight)
    _zero_bias(layer)


@INITIALIZERS.register("constant", short="Constant", uses=("init_value",), label="constant (the symmetry trap)")
def constant(layer: Any, hp: InitParams, generator: torch.Generator) -> None:
    """Every weight the same value: all units of a layer compute the same function, get the
    same gradient and so stay identical forever."""
    from torch import nn

    nn.init.constant_(layer.weight, hp.init_value)
    _zero_bias(layer)


@INITIALIZERS.register("xavier", short="Xavier (Glorot)", uses=(), label="Xavier/Glorot")
def xavier(layer: Any, hp: InitParams, generator: torch.Generator) -> None:
    """U(-a, a), a = sqrt(6 / (fan_in + fan_out)): keeps activation and gradient variance
    roughly constant across layers for tanh/sigmoid-like units."""
    from torch import nn

    nn.init.xavier_uniform_(layer.weight, generator=generator)
    _zero_bias(layer)


@INITIALIZERS.register("he", short="He (Kaiming)", uses=(), label="He/Kaiming")
def he(layer: Any, hp: InitParams, generator: torch.Generator) -> None:
    """N(0, 2 / fan_in): compensates ReLU zeroing half its inputs."""
    from torch import nn

    nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu", generator=generator)
    _zero_bias(layer)


def linear(fan_in: int, fan_out: int, generator: torch.Generator, hp: InitParams | None = None) -> Any:
    """An nn.Linear filled by ``hp.init`` (PyTorch's default without ``hp``) from ``generator``
    alone: nn.Linear's constructor would first draw its default init from the global
    generator; skip_init builds the layer without drawing."""
    from torch import nn

    layer = nn.utils.skip_init(nn.Linear, fan_in, fan_out)
    hp = hp or InitParams()  # (its init is "default")
    INITIALIZERS[hp.init].fn(layer, hp, generator)
    return layer


if TYPE_CHECKING:  # the names are known only once the registry is filled: a str to mypy
    InitName = str
else:
    InitName = Literal[INITIALIZERS.names()]


class InitParams(BaseModel):
    """How weights start; flat so they fit in a URL. Lab configs inherit it."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    init: InitName = Field("default", title="Initialization", json_schema_extra=INITIALIZERS.schema_extra(), description="weight initializer")
    init_scale: float = Field(0.5, title="scale", gt=0.0, le=10.0, description="normal: standard deviation; uniform: half-width")
    init_value: float = Field(0.5, title="value", ge=-10.0, le=10.0, description="constant: the value of every weight")
