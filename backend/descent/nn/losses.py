"""Loss registry, shared by every lab that predicts a value or a label:
name -> fn(out, y) -> scalar tensor.

``out`` is the network output, shape (B, meta outputs); ``y`` is (B,): a value for
regression, -1/+1 for binary classification, the class index 0 .. k-1 for multiclass.
Meta says which problems a loss applies to (the first registered for a problem is its
default), how many outputs it needs (a number, or "classes": one logit per class, 2 for
binary classification), whether the output is logits (no tanh squashing on the last
layer), ``predict``: out -> (B,) the binary prediction on the label scale ([-1, 1]), and,
where it is that simple, ``error``: (out, y) -> dloss/dout[..., 0] over the last batch axis
(the batched step of same-shaped sessions, labs/mlp/cohort.py, backpropagates by hand)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from descent.registry import Registry

LOSSES: Registry[Callable[[Any, Any], Any]] = Registry("loss")
BOTH = ("classification", "regression")


def default_loss(problem: str) -> str | None:
    """The loss a problem gets when none that applies to it is named: the first registered for it."""
    return next((e.name for e in LOSSES if problem in e.meta["problems"]), None)


def _first(out: Any) -> Any:
    return out[:, 0]


@LOSSES.register("mse", short="MSE", problems=BOTH, outputs=1, logits=False, predict=_first, label="MSE (half mean squared error)",
                 error=lambda out, y: (out[..., 0] - y) / y.shape[-1])
def mse(out: Any, y: Any) -> Any:
    """0.5 * mean((out - y)^2): the 1/2 makes its gradient the plain error (out - y)."""
    from torch.nn import functional as F

    return 0.5 * F.mse_loss(out[:, 0], y)


@LOSSES.register("mae", short="MAE", problems=BOTH, outputs=1, logits=False, predict=_first, label="MAE (mean absolute error)")
def mae(out: Any, y: Any) -> Any:
    from torch.nn import functional as F

    return F.l1_loss(out[:, 0], y)


@LOSSES.register("huber", short="Huber", problems=BOTH, outputs=1, logits=False, predict=_first, label="Huber (delta 1)")
def huber(out: Any, y: Any) -> Any:
    """Squared near 0, absolute beyond |error| = 1: robust to outliers, smooth at the minimum."""
    from torch.nn import functional as F

    return F.huber_loss(out[:, 0], y, delta=1.0)


@LOSSES.register(
    "bce", short="Binary cross-entropy", problems=("classification",), outputs=1, logits=True,
    predict=lambda out: (out[:, 0] / 2).tanh(),  # 2 sigmoid(z) - 1
    label="binary cross-entropy",
)
def bce(out: Any, y: Any) -> Any:
    """One logit z, p(+1) = sigmoid(z); labels -1/+1 become 0/1."""
    from torch.nn import functional as F

    return F.binary_cross_entropy_with_logits(out[:, 0], (y + 1) / 2)


@LOSSES.register(
    "ce", short="Cross-entropy", problems=("multiclass", "classification"), outputs="classes", logits=True,
    predict=lambda out: ((out[:, 1] - out[:, 0]) / 2).tanh(),  # binary: softmax p(+1) - p(-1)
    label="cross-entropy (softmax over the classes)",
)
def ce(out: Any, y: Any) -> Any:
    """One logit per class, softmax cross-entropy (what nn.CrossEntropyLoss computes) on
    long class indices: multiclass labels are 0 .. k-1 already, binary -1/+1 become 0/1."""
    from torch.nn import functional as F

    return F.cross_entropy(out, y.clamp(min=0).long())
