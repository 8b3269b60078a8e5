"""Optimizer registry, shared by every lab: name -> factory(params, lr, hp) -> torch.optim.Optimizer.

Each entry names the hyper-parameters it reads (meta ``uses``) so the page shows only those,
and the optimizer-state tensors it keeps (meta ``state``).
torch.optim is used wherever it has the optimizer; Yogi, and Adam/AdamW with bias
correction switched off, come from ``descent.nn.moments`` (written out, tested against the formula)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from descent.registry import Registry

if TYPE_CHECKING:
    import torch

Factory = Callable[[Iterable["torch.Tensor"], float, "OptimizerParams"], Any]
OPTIMIZERS: Registry[Factory] = Registry("optimizer")


class OptimizerParams(BaseModel):
    """Hyper-parameters of every optimizer, flat so they fit in a URL."""

    model_config = ConfigDict(extra="forbid")

    momentum: float = Field(0.9, title="momentum", ge=0.0, lt=1.0, description="momentum/Nesterov: decay of the velocity (horizon 1/(1-momentum))")
    beta1: float = Field(0.9, title="β₁", ge=0.0, lt=1.0, description="Adam/AdamW/Yogi: decay of the first moment")
    beta2: float = Field(0.999, title="β₂", ge=0.0, lt=1.0, description="Adam/AdamW/Yogi: decay of the second moment")
    rho: float = Field(0.9, title="ρ", ge=0.0, lt=1.0, description="RMSprop/Adadelta: decay of the squared-gradient average")
    eps: float = Field(1e-8, title="ε", gt=0.0, le=1.0, description="added to the denominator for stability")
    weight_decay: float = Field(0.0, title="weight decay", ge=0.0, le=1.0, description="L2 penalty folded into the gradient (decoupled in AdamW)")
    bias_correction: bool = Field(True, title="bias correction", description="Adam/AdamW/Yogi: divide the moments by 1-beta^t (matters in the first steps)")


@OPTIMIZERS.register("sgd", uses=("weight_decay",), label="SGD")
def sgd(params: Iterable[torch.Tensor], lr: float, hp: OptimizerParams) -> Any:
    from torch.optim import SGD

    return SGD(params, lr=lr, weight_decay=hp.weight_decay)


@OPTIMIZERS.register("momentum", short="Momentum", uses=("momentum", "weight_decay"), label="SGD + momentum", state=("momentum_buffer",))
def momentum(params: Iterable[torch.Tensor], lr: float, hp: OptimizerParams) -> Any:
    from torch.optim import SGD

    return SGD(params, lr=lr, momentum=hp.momentum, weight_decay=hp.weight_decay)


@OPTIMIZERS.register("nesterov", uses=("momentum", "weight_decay"), label="Nesterov", state=("momentum_buffer",))
def nesterov(params: Iterable[torch.Tensor], lr: float, hp: OptimizerParams) -> Any:
    from torch.optim import SGD

    return SGD(params, lr=lr, momentum=hp.momentum, nesterov=True, weight_decay=hp.weight_decay)


@OPTIMIZERS.register("adagrad", uses=("eps", "weight_decay"), label="AdaGrad", state=("sum",))
def adagrad(params: Iterable[torch.Tensor], lr: float, hp: OptimizerParams) -> Any:
    from torch.optim import Adagrad

    return Adagrad(params, lr=lr, eps=hp.eps, weight_decay=hp.weight_decay)


@OPTIMIZERS.register("rmsprop", uses=("rho", "eps", "weight_decay"), label="RMSprop", state=("square_avg",))
def rmsprop(params: Iterable[torch.Tensor], lr: float, hp: OptimizerParams) -> Any:
    from torch.optim import RMSprop

    return RMSprop(params, lr=lr, alpha=hp.rho, eps=hp.eps, weight_decay=hp.weight_decay)


@OPTIMIZERS.register("adadelta", uses=("rho", "eps", "weight_decay"), label="Adadelta", state=("square_avg", "acc_delta"))
def adadelta(params: Iterable[torch.Tensor], lr: float, hp: OptimizerParams) -> Any:
    """Adadelta needs no LR in theory; torch scales its step by ``lr`` (1.0 = the textbook rule)."""
    from torch.optim import Adadelta

    return Adadelta(params, lr=lr, rho=hp.rho, eps=hp.eps, weight_decay=hp.weight_decay)


ADAM_USES = ("beta1", "beta2", "eps", "weight_decay", "bias_correction")
ADAM_STATE = ("exp_avg", "exp_avg_sq")


@OPTIMIZERS.register("adam", uses=ADAM_USES, label="Adam", state=ADAM_STATE)
def adam(params: Iterable[torch.Tensor], lr: float, hp: OptimizerParams) -> Any:
    if not hp.bias_correction:
        from descent.nn.moments import Moments

        return Moments(params, lr=lr, betas=(hp.beta1, hp.beta2), eps=hp.eps, weight_decay=hp.weight_decay, bias_correction=False)
    from torch.optim import Adam

    return Adam(params, lr=lr, betas=(hp.beta1, hp.beta2), eps=hp.eps, weight_decay=hp.weight_decay)


@OPTIMIZERS.register("adamw", uses=ADAM_USES, label="AdamW", state=ADAM_STATE)
def adamw(params: Iterable[torch.Tensor], lr: float, hp: OptimizerParams) -> Any:
    if not hp.bias_correction:
        from descent.nn.moments import Moments

        return Moments(
            params, lr=lr, betas=(hp.beta1, hp.beta2), eps=hp.eps, weight_decay=hp.weight_decay,
            decoupled=True, bias_correction=False,
        )
    from torch.optim import AdamW

    return AdamW(params, lr=lr, betas=(hp.beta1, hp.beta2), eps=hp.eps, weight_decay=hp.weight_decay)


@OPTIMIZERS.register("yogi", uses=ADAM_USES, label="Yogi", state=ADAM_STATE)
def yogi(params: Iterable[torch.Tensor], lr: float, hp: OptimizerParams) -> Any:
    from descent.nn.moments import Yogi

    return Yogi(
        params, lr=lr, betas=(hp.beta1, hp.beta2), eps=hp.eps, weight_decay=hp.weight_decay,
        bias_correction=hp.bias_correction,
    )
