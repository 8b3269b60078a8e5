"""The two networks of backprop by hand, each written out scalar by scalar: the forward pass
in torch (so autograd can differentiate it) and, separately, every gradient as a chain-rule
product of plain floats (what a student writes on paper).

Notation follows the course notes: a = weighted sum (pre-activation), y = sigmoid(a)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import torch

from descent.labs.backprop.schema import PRESETS as LABELS

Tensor = torch.Tensor


def val(t: Tensor) -> float:
    return t.detach().item()


def num(v: float) -> str:
    """A number as it appears in a formula: 6 significant digits, negatives in brackets."""
    text = f"{v:.6g}"
    return f"({text})" if v < 0 else text


@dataclass
class Quantity:
    name: str
    formula: str
    numbers: str
    value: Tensor  # 0-d, part of the autograd graph


@dataclass
class ChainRule:
    factors: list[str]
    terms: list[list[float]]  # per sample, the factor values

    @property
    def value(self) -> float:
        return sum(math.prod(t) for t in self.terms)


@dataclass
class Preset:
    name: str
    label: str
    init: dict[str, float]  # parameter name -> initial value (the order shown)
    inputs: list[tuple[str, float]]  # the data, named
    forward: Callable[[dict[str, Tensor]], list[Quantity]]
    loss: Callable[[dict[str, Tensor], dict[str, Tensor]], Quantity]
    # (parameter values, forward values) as floats -> parameter name -> chain rule
    chains: Callable[[dict[str, float], dict[str, float]], dict[str, ChainRule]]
    notes: list[str] = field(default_factory=list)


# ---- linear regression: y = w·x + b on four points of y = 2x + 1, MSE -------------------

LINEAR_X = (-1.0, 0.0, 1.0, 2.0)
LINEAR_Y = tuple(2 * x + 1 for x in LINEAR_X)


def _linear_forward(p: dict[str, Tensor]) -> list[Quantity]:
    w, b = p["w"], p["b"]
    return [
        Quantity(f"ŷ{i + 1}", f"w·x{i + 1} + b", f"{num(val(w))}·{num(x)} + {num(val(b))}", w * x + b)
        for i, x in enumerate(LINEAR_X)
    ]


def _linear_loss(p: dict[str, Tensor], f: dict[str, Tensor]) -> Quantity:
    n = len(LINEAR_X)
    preds = [f[f"ŷ{i + 1}"] for i in range(n)]
    loss = sum((yh - y) ** 2 for yh, y in zip(preds, LINEAR_Y)) / n
    formula = f"(1/{n})·Σ (ŷi − yi)²"
    numbers = f"(1/{n})·(" + " + ".join(f"({num(val(yh))} − {num(y)})²" for yh, y in zip(preds, LINEAR_Y)) + ")"
    return Quantity("L", formula, numbers, cast(Tensor, loss))  # (a sum of tensors)


def _linear_chains(p: dict[str, float], f: dict[str, float]) -> dict[str, ChainRule]:
    n = len(LINEAR_X)
    dl_dyhat = [2 * (f[f"ŷ{i + 1}"] - y) / n for i, y in enumerate(LINEAR_Y)]  # ∂L/∂ŷi = 2(ŷi − yi)/N
    return {
        "w": ChainRule(["∂L/∂ŷi", "∂ŷi/∂w"], [[d, x] for d, x in zip(dl_dyhat, LINEAR_X)]),
        "b": ChainRule(["∂L/∂ŷi", "∂ŷi/∂b"], [[d, 1.0] for d in dl_dyhat]),
    }


LINEAR = Preset(
    name="linear",
    label=LABELS["linear"],
    init={"w": 0.0, "b": 0.0},
    inputs=[*((f"x{i + 1}", x) for i, x in enumerate(LINEAR_X)), *((f"y{i + 1}", y) for i, y in enumerate(LINEAR_Y))],
    forward=_linear_forward,
    loss=_linear_loss,
    chains=_linear_chains,
    notes=["ŷ = w·x + b on four points of y = 2x + 1; L = mean squared error; w → 2, b → 1"],
)


# ---- the 2-2-1 sigmoid network, one sample, L = ½(y3 − y)² --------------------------------
# Inputs, target and initial weights are the widely used worked-example numbers
# (x = (0.05, 0.10), w1..w4 = 0.15..0.30, w5, w6 = 0.40, 0.45); the course notes give the
# formulas only, so the target (0.01) and biases (0.35, 0.35, 0.60) are our choice.

SIGMOID_X = {"x1": 0.05, "x2": 0.10}
SIGMOID_TARGET = 0.01
SIGMOID_INIT = {"w1": 0.15, "w2": 0.20, "w3": 0.25, "w4": 0.30, "w5": 0.40, "w6": 0.45, "b1": 0.35, "b2": 0.35, "b3": 0.60}


def _sigmoid_forward(p: dict[str, Tensor]) -> list[Quantity]:
    x1, x2 = SIGMOID_X["x1"], SIGMOID_X["x2"]
    v = lambda t: num(val(t))  # noqa: E731
    a1 = p["w1"] * x1 + p["w2"] * x2 + p["b1"]
    y1 = torch.sigmoid(a1)
    a2 = p["w3"] * x1 + p["w4"] * x2 + p["b2"]
    y2 = torch.sigmoid(a2)
    a3 = p["w5"] * y1 + p["w6"] * y2 + p["b3"]
    y3 = torch.sigmoid(a3)
    return [
        Quantity("a1", "w1·x1 + w2·x2 + b1", f"{v(p['w1'])}·{num(x1)} + {v(p['w2'])}·{num(x2)} + {v(p['b1'])}", a1),
        Quantity("y1", "σ(a1) = 1/(1+e^(−a1))", f"1/(1+e^(−{v(a1)}))", y1),
        Quantity("a2", "w3·x1 + w4·x2 + b2", f"{v(p['w3'])}·{num(x1)} + {v(p['w4'])}·{num(x2)} + {v(p['b2'])}", a2),
        Quantity("y2", "σ(a2) = 1/(1+e^(−a2))", f"1/(1+e^(−{v(a2)}))", y2),
        Quantity("a3", "w5·y1 + w6·y2 + b3", f"{v(p['w5'])}·{v(y1)} + {v(p['w6'])}·{v(y2)} + {v(p['b3'])}", a3),
        Quantity("y3", "σ(a3) = 1/(1+e^(−a3))", f"1/(1+e^(−{v(a3)}))", y3),
    ]


def _sigmoid_loss(p: dict[str, Tensor], f: dict[str, Tensor]) -> Quantity:
    y3 = f["y3"]
    return Quantity("L", "½·(y3 − y)²", f"½·({num(val(y3))} − {num(SIGMOID_TARGET)})²", 0.5 * (y3 - SIGMOID_TARGET) ** 2)


def _sigmoid_chains(p: dict[str, float], f: dict[str, float]) -> dict[str, ChainRule]:
    y1, y2, y3 = f["y1"], f["y2"], f["y3"]
    x1, x2 = SIGMOID_X["x1"], SIGMOID_X["x2"]
    top = [y3 - SIGMOID_TARGET, y3 * (1 - y3)]  # ∂L/∂y3, ∂y3/∂a3
    top_names = ["∂L/∂y3", "∂y3/∂a3"]
    h1 = [*top, p["w5"], y1 * (1 - y1)]  # ... ∂a3/∂y1, ∂y1/∂a1
    h1_names = [*top_names, "∂a3/∂y1", "∂y1/∂a1"]
    h2 = [*top, p["w6"], y2 * (1 - y2)]
    h2_names = [*top_names, "∂a3/∂y2", "∂y2/∂a2"]
    return {
        "w1": ChainRule([*h1_names, "∂a1/∂w1"], [[*h1, x1]]),
        "w2": ChainRule([*h1_names, "∂a1/∂w2"], [[*h1, x2]]),
        "w3": ChainRule([*h2_names, "∂a2/∂w3"], [[*h2, x1]]),
        "w4": ChainRule([*h2_names, "∂a2/∂w4"], [[*h2, x2]]),
        "w5": ChainRule([*top_names, "∂a3/∂w5"], [[*top, y1]]),
        "w6": ChainRule([*top_names, "∂a3/∂w6"], [[*top, y2]]),
        "b1": ChainRule([*h1_names, "∂a1/∂b1"], [[*h1, 1.0]]),
        "b2": ChainRule([*h2_names, "∂a2/∂b2"], [[*h2, 1.0]]),
        "b3": ChainRule([*top_names, "∂a3/∂b3"], [[*top, 1.0]]),
    }


SIGMOID = Preset(
    name="2-2-1",
    label=LABELS["2-2-1"],
    init=SIGMOID_INIT,
    inputs=[("x1", SIGMOID_X["x1"]), ("x2", SIGMOID_X["x2"]), ("y", SIGMOID_TARGET)],
    forward=_sigmoid_forward,
    loss=_sigmoid_loss,
    chains=_sigmoid_chains,
    notes=["a = weighted sum, y = σ(a); sigmoid hidden and output units; L = ½(y3 − y)² on one sample"],
)

PRESETS = {p.name: p for p in (LINEAR, SIGMOID)}
