"""Optimizer update rules over stacked runs: one call updates the parameters of k runs (all
of them, as one (k, P) tensor, or any slice alike), each with its own learning rate and step number (a cohort of playground runs, one class on
one preset: labs/mlp/cohort.py), looked up by the optimizer's name in ``RULES`` (the names
of nn/optimizers.py's registry); an optimizer without one keeps its runs stepping alone.

Each rule is the update of the torch.optim class its optimizer builds, written out for
tensors with a leading run axis, in the same order of operations, so the results equal
torch.optim's up to float rounding (tests/test_cohort.py steps both). ``state`` holds the
optimizer-state tensors its registry meta ``state`` names, stacked, zero for a run that has
none yet (torch's first step gives what the update gives from zero: a momentum buffer of
``0 * momentum + g`` is g; Adam's moments and AdaGrad's sum start at zero).

    rule.update(p, g, state, lr, step, hp): p, g and each state tensor (k, ...); lr: the k
    runs' learning rates, step: their step numbers, this step included (1 = the first; only
    for a rule that ``counts_steps``), each (k,) float64."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # (torch-free at import, like optimizers.py: the rules only use tensor methods)
    import torch

    from descent.nn.optimizers import OptimizerParams

Update = Callable[["torch.Tensor", "torch.Tensor", "dict[str, torch.Tensor]", "torch.Tensor", "torch.Tensor | None", "OptimizerParams"], None]


# The same update on numpy arrays (the fused step's memory, fused.py), with the runs' learning
# rates and step numbers as Python floats: (p, g, state, lrs, steps, hp).
NumpyUpdate = Callable[["np.ndarray", "np.ndarray", "dict[str, np.ndarray]", "list[float]", "list[float]", "OptimizerParams"], None]


@dataclass(frozen=True)
class Rule:
    update: Update
    counts_steps: bool = False  # torch keeps the step number in the state ("step", Adam's)
    numpy: NumpyUpdate | None = None  # the update in numpy, where a rule has one (a small cohort's many ops cost less there)


_last: tuple[object, object, object] = (None, None, None)  # per_run's last (values, shape, result)


def per_run(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(k,) numbers as ``like``'s dtype, shaped (k, 1, ...) to broadcast over its run axis.
    (The last answer is kept: a cohort's learning rates are one tensor until they change
    (Stack.rates), and converting them costs more than a small update.)"""
    global _last
    shape = (like.dtype, like.dim())
    seen, seen_shape, result = _last  # (one read: another thread may replace it)
    if seen is values and seen_shape == shape:
        return result  # type: ignore[return-value]
    result = values.to(like.dtype).view(-1, *([1] * (like.dim() - 1)))
    _last = (values, shape, result)
    return result


def per_run_of(values: list[float], like: torch.Tensor) -> torch.Tensor:
    """Per-run numbers worked out in Python (float64, as torch.optim works out its bias
    corrections), as ``like``'s dtype shaped to broadcast over its run axis: one tensor
    made, where the same arithmetic on (k,) tensors would be several dispatched ops."""
    import torch

    return torch.tensor(values, dtype=like.dtype, device=like.device).view(-1, *([1] * (like.dim() - 1)))


def decayed(p: torch.Tensor, g: torch.Tensor, lr: torch.Tensor, hp: OptimizerParams, decoupled: bool = False) -> torch.Tensor:
    """Weight decay as torch.optim applies it: folded into the gradient (g + wd * p), or
    ``decoupled`` (AdamW: p shrinks by 1 - lr * wd, in place). Returns the gradient to use."""
    if not hp.weight_decay:
        return g
    if decoupled:
        p.mul_(per_run(1 - lr * hp.weight_decay, p))
        return g
    return g + hp.weight_decay * p


def _sgd(p: torch.Tensor, g: torch.Tensor, state: dict[str, torch.Tensor], lr: torch.Tensor, step: torch.Tensor | None,
         hp: OptimizerParams) -> None:
    """torch.optim.SGD: g + weight_decay * p, then p - lr * g."""
    g = decayed(p, g, lr, hp)
    p.sub_(g * per_run(lr, p))


def _column(values: list[float]) -> np.ndarray:
    """Per-run numbers (worked out in float64) as a (k, 1) float32 column, to broadcast over the runs' rows."""
    return np.array(values, dtype=np.float32)[:, None]


def _sgd_numpy(p: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray], lrs: list[float], steps: list[float],
               hp: OptimizerParams) -> None:
    """``_sgd`` in numpy."""
    if hp.weight_decay:
        g = g + np.float32(hp.weight_decay) * p
    p -= g * _column(lrs)


sgd = Rule(_sgd, numpy=_sgd_numpy)


def momentum(nesterov: bool) -> Rule:
    """torch.optim.SGD with momentum (dampening 0): v = momentum * v + g; the step is v, or
    g + momentum * v (Nesterov)."""

    def rule(p: torch.Tensor, g: torch.Tensor, state: dict[str, torch.Tensor], lr: torch.Tensor, step: torch.Tensor | None,
             hp: OptimizerParams) -> None:
        g = decayed(p, g, lr, hp)
        velocity = state["momentum_buffer"].mul_(hp.momentum).add_(g)
        p.sub_((g + hp.momentum * velocity if nesterov else velocity) * per_run(lr, p))

    def in_numpy(p: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray], lrs: list[float], steps: list[float],
                 hp: OptimizerParams) -> None:
        if hp.weight_decay:
            g = g + np.float32(hp.weight_decay) * p
        velocity = state["momentum_buffer"]
        velocity *= np.float32(hp.momentum)
        velocity += g
        p -= (g + np.float32(hp.momentum) * velocity if nesterov else velocity) * _column(lrs)

    return Rule(rule, numpy=in_numpy)


def adam(decoupled: bool) -> Rule:
    """torch.optim.Adam (AdamW: ``decoupled`` weight decay), with bias correction: moments
    m, v; step size lr / (1 - beta1^t); denominator sqrt(v) / sqrt(1 - beta2^t) + eps (the
    per-run scalars in float64, as torch computes them, then float32)."""

    def rule(p: torch.Tensor, g: torch.Tensor, state: dict[str, torch.Tensor], lr: torch.Tensor, step: torch.Tensor | None,
             hp: OptimizerParams) -> None:
        assert step is not None  # (the rule counts steps)
        g = decayed(p, g, lr, hp, decoupled)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(g, 1 - hp.beta1)
        v.mul_(hp.beta2).addcmul_(g, g, value=1 - hp.beta2)
        rates, steps = lr.tolist(), step.tolist()
        step_size = per_run_of([r / (1 - hp.beta1**t) for r, t in zip(rates, steps)], p)
        denom = (v.sqrt() / per_run_of([math.sqrt(1 - hp.beta2**t) for t in steps], p)).add_(hp.eps)
        p.sub_(m / denom * step_size)

    def in_numpy(p: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray], lrs: list[float], steps: list[float],
                 hp: OptimizerParams) -> None:
        """The same in numpy: ten array operations where torch takes a dozen dispatched ones."""
        if hp.weight_decay:
            if decoupled:
                p *= _column([1 - r * hp.weight_decay for r in lrs])
            else:
                g = g + np.float32(hp.weight_decay) * p
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += np.float32(1 - hp.beta1) * (g - m)  # (torch's lerp for a weight under 1/2)
        v *= np.float32(hp.beta2)
        v += np.float32(1 - hp.beta2) * (g * g)
        step_size = _column([r / (1 - hp.beta1**t) for r, t in zip(lrs, steps)])
        root = _column([math.sqrt(1 - hp.beta2**t) for t in steps])
        denom = np.sqrt(v)
        denom /= root
        denom += np.float32(hp.eps)
        p -= m / denom * step_size

    return Rule(rule, counts_steps=True, numpy=in_numpy)


def _rmsprop(p: torch.Tensor, g: torch.Tensor, state: dict[str, torch.Tensor], lr: torch.Tensor, step: torch.Tensor | None,
             hp: OptimizerParams) -> None:
    """torch.optim.RMSprop (alpha = rho; no momentum, not centered): s = rho * s + (1 - rho) g²;
    p - lr * g / (sqrt(s) + eps)."""
    g = decayed(p, g, lr, hp)
    average = state["square_avg"].mul_(hp.rho).addcmul_(g, g, value=1 - hp.rho)
    p.sub_(g / average.sqrt().add_(hp.eps) * per_run(lr, p))


def _adagrad(p: torch.Tensor, g: torch.Tensor, state: dict[str, torch.Tensor], lr: torch.Tensor, step: torch.Tensor | None,
             hp: OptimizerParams) -> None:
    """torch.optim.Adagrad (no LR decay, accumulator from 0): s = s + g²; p - lr * g / (sqrt(s) + eps)."""
    g = decayed(p, g, lr, hp)
    total = state["sum"].addcmul_(g, g, value=1)
    p.sub_(g / total.sqrt().add_(hp.eps) * per_run(lr, p))


def _adadelta(p: torch.Tensor, g: torch.Tensor, state: dict[str, torch.Tensor], lr: torch.Tensor, step: torch.Tensor | None,
              hp: OptimizerParams) -> None:
    """torch.optim.Adadelta: s = rho * s + (1 - rho) g²; Δ = sqrt(a + eps) / sqrt(s + eps) * g;
    a = rho * a + (1 - rho) Δ²; p - lr * Δ."""
    g = decayed(p, g, lr, hp)
    average = state["square_avg"].mul_(hp.rho).addcmul_(g, g, value=1 - hp.rho)
    delta = state["acc_delta"].add(hp.eps).sqrt_().div_(average.add(hp.eps).sqrt_()).mul_(g)
    state["acc_delta"].mul_(hp.rho).addcmul_(delta, delta, value=1 - hp.rho)
    p.sub_(delta * per_run(lr, p))


rmsprop = Rule(_rmsprop, counts_steps=True)
adagrad = Rule(_adagrad, counts_steps=True)
adadelta = Rule(_adadelta, counts_steps=True)


def moments(decoupled: bool, yogi: bool, corrected: bool) -> Rule:
    """descent.nn.moments.Moments (Adam/AdamW, with or without bias correction) and its Yogi:
    m = b1 m + (1 - b1) g; v by Adam's leaky average, or Yogi's v - (1 - b2) sign(v - g²) g²;
    p - lr * m̂ / (sqrt(v̂) + eps), the hats dividing by 1 - b^t when ``corrected``."""

    def rule(p: torch.Tensor, g: torch.Tensor, state: dict[str, torch.Tensor], lr: torch.Tensor, step: torch.Tensor | None,
             hp: OptimizerParams) -> None:
        g = decayed(p, g, lr, hp, decoupled)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.mul_(hp.beta1).add_(g, alpha=1 - hp.beta1)
        g2 = g * g
        if yogi:
            v.addcmul_((v - g2).sign(), g2, value=-(1 - hp.beta2))
        else:
            v.mul_(hp.beta2).add_(g2, alpha=1 - hp.beta2)
        if corrected:
            assert step is not None  # (the rule counts steps)
            m, v = m / per_run(1 - hp.beta1**step, p), v / per_run(1 - hp.beta2**step, p)
        p.sub_(m / v.sqrt().add_(hp.eps) * per_run(lr, p))

    return Rule(rule, counts_steps=True)


# The stacked rule of each optimizer of the registry (nn/optimizers.py), by its name: hp ->
# the rule for those hyper-parameters. An optimizer missing here keeps its runs stepping alone.
RULES: dict[str, Callable[[OptimizerParams], Rule]] = {
    "sgd": lambda hp: sgd,
    "momentum": lambda hp: momentum(nesterov=False),
    "nesterov": lambda hp: momentum(nesterov=True),
    "adagrad": lambda hp: adagrad,
    "rmsprop": lambda hp: rmsprop,
    "adadelta": lambda hp: adadelta,
    "adam": lambda hp: adam(decoupled=False) if hp.bias_correction else moments(decoupled=False, yogi=False, corrected=False),
    "adamw": lambda hp: adam(decoupled=True) if hp.bias_correction else moments(decoupled=True, yogi=False, corrected=False),
    "yogi": lambda hp: moments(decoupled=False, yogi=True, corrected=hp.bias_correction),
}
