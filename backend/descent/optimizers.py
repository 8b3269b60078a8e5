"""Optimizer registry, shared by every lab: name -> factory(params, lr, hp) -> torch.optim.Optimizer.

Each entry names the hyper-parameters it reads (meta ``uses``) so the page shows only those."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable

from pydantic import BaseModel, ConfigDict, Field

from .registry import Registry

if TYPE_CHECKING:
    import torch

Factory = Callable[[Iterable["torch.Tensor"], float, "OptimizerParams"], Any]
OPTIMIZERS: Registry[Factory] = Registry("optimizer")


class OptimizerParams(BaseModel):
    """Hyper-parameters of every optimizer, flat so they fit in a URL."""

    model_config = ConfigDict(extra="forbid")

    momentum: float = Field(0.9, ge=0.0, lt=1.0, description="SGD momentum (leaky average of gradients)")
    beta1: float = Field(0.9, ge=0.0, lt=1.0, description="Adam: decay of the first moment")
    beta2: float = Field(0.999, ge=0.0, lt=1.0, description="Adam: decay of the second moment")
    eps: float = Field(1e-8, gt=0.0, le=1.0, description="added to the denominator for stability")
    weight_decay: float = Field(0.0, ge=0.0, le=1.0, description="L2 penalty folded into the update")


@OPTIMIZERS.register("sgd", uses=("weight_decay",))
def sgd(params: Iterable["torch.Tensor"], lr: float, hp: OptimizerParams) -> Any:
    from torch.optim import SGD

    return SGD(params, lr=lr, weight_decay=hp.weight_decay)


@OPTIMIZERS.register("adam", uses=("beta1", "beta2", "eps", "weight_decay"))
def adam(params: Iterable["torch.Tensor"], lr: float, hp: OptimizerParams) -> Any:
    from torch.optim import Adam

    return Adam(params, lr=lr, betas=(hp.beta1, hp.beta2), eps=hp.eps, weight_decay=hp.weight_decay)
