"""Inside the network: every hidden neuron's output over the input plane, the input
features as maps, and the weights the diagram draws. One batched forward pass over
the grid serves both the main heatmap and all neuron maps."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import numpy as np
import torch
from torch import nn

from descent.encoding import b64
from descent.labs.mlp.datasets import EXTENT, FEATURES, featurize, grid
from descent.labs.mlp.schema import WEIGHT_LIMIT  # a typed weight or bias lies in [-WEIGHT_LIMIT, WEIGHT_LIMIT]
from descent.nn import stats
from descent.nn.activations import ACTIVATIONS

NEURON_GRID = 16  # cells per side of a neuron map: 256 bytes per neuron
_NORMS = (nn.BatchNorm1d, nn.LayerNorm)


def hidden_taps(model: nn.Sequential) -> list[int]:
    """Index of each hidden layer's activation module in ``model``: Linear, [Norm], act.
    (The activation class alone cannot tell: the classification output is a Tanh too.)"""
    modules = list(model)
    linears = [i for i, m in enumerate(modules) if isinstance(m, nn.Linear)]
    taps = []
    for i in linears[:-1]:
        j = i + 1
        while isinstance(modules[j], _NORMS):
            j += 1
        taps.append(j)
    return taps


def encode_scaled(values: torch.Tensor | np.ndarray, scale: float) -> str:
    """Values in [-scale, scale] -> base64 of uint8 (0 = -scale, 255 = +scale), clamped; NaN
    -> the middle. (In numpy: a few thousand numbers, where each torch op's overhead would
    dominate.)"""
    v = values if isinstance(values, np.ndarray) else stats.on_host([values])[0]
    assert v is not None  # (from a tensor)
    scaled = v * np.float32(127.5 / scale) + np.float32(127.5)
    np.clip(scaled, 0, 255, out=scaled)
    missing = np.isnan(scaled)
    if missing.any():
        scaled[missing] = 127.5
    return b64(np.rint(scaled, out=scaled).astype(np.uint8))


def layer_scale(values: np.ndarray) -> float:
    """The colour range of a layer: ±1 (tanh, sigmoid ...) or its largest |output| (relu ...),
    rounded up to 2 significant digits so the legend reads cleanly."""
    top = float(np.abs(values).max()) if values.size else 1.0
    if math.isnan(top):  # (rare: a diverging run) the largest of the others
        top = float(np.nanmax(np.abs(values))) if not np.isnan(values).all() else 1.0
    if not math.isfinite(top) or top <= 1:
        return 1.0
    digits = 10 ** (math.floor(math.log10(top)) - 1)
    return math.ceil(top / digits) * digits


MODAL = (nn.Dropout, nn.BatchNorm1d)  # layers that act differently in training and in eval mode


@contextmanager
def evaluating(model: nn.Sequential) -> Iterator[None]:
    """Eval mode (dropout off, BatchNorm on its running statistics) for the block, then back
    to training; a model without such layers is left alone (the toggles cost more than a
    small forward pass)."""
    modal = any(isinstance(m, MODAL) for m in model)  # (the lab's models are flat Sequentials)
    if modal:
        model.eval()
    try:
        yield
    finally:
        if modal:
            model.train()


@torch.no_grad()
def forward_with_taps(model: nn.Sequential, x: torch.Tensor, taps: list[int]) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(model output, [hidden activations after each tap]) in eval mode (dropout off); each
    (rows, width), as ``x`` is (rows, features)."""
    kept: list[torch.Tensor] = []
    with evaluating(model):
        if any(isinstance(m, _NORMS) for m in model):  # they normalize rows: row layout
            for i, module in enumerate(model):
                x = module(x)
                if i in taps:
                    kept.append(x)
            return x, kept
        # Without them every layer is a Linear or works elementwise, so the pass runs on
        # columns (width, rows): on thousands of rows of 2-8 columns, W @ x^T + b as one addmm
        # takes half the time of x @ W^T + b (whose bias add broadcasts along a short last
        # axis), float rounding aside; the results are transposed views.
        # Activations with a numpy form run in numpy, in place: on a grid's thousands of
        # values numpy's tanh took a seventh of torch's time here (bench.mlp's big setup).
        forms = _numpy_forms() if x.device.type == "cpu" else {}
        h = x.T
        for i, module in enumerate(model):
            if isinstance(module, nn.Linear):
                h = torch.addmm(module.bias.unsqueeze(1), module.weight, h)
            elif type(module) in forms:
                forms[type(module)](h.numpy())
            else:
                h = module(h)
            if i in taps:
                kept.append(h.T)
    return h.T, kept


@cache
def _numpy_forms() -> dict[type, Callable[[np.ndarray], Any]]:
    """Activation module class -> its in-place numpy forward (activations.py's meta ``numpy``)."""
    return {type(entry.fn()): entry.meta["numpy"][0] for entry in ACTIVATIONS if "numpy" in entry.meta}


def neuron_maps(activations: list[torch.Tensor]) -> dict[str, Any]:
    """activations: per hidden layer (NEURON_GRID**2, width) -> the ``NeuronMaps`` view."""
    layers = []
    for a in stats.on_host([a.T for a in activations]):  # (width, cells) each
        assert a is not None  # (from a tensor)
        scale = layer_scale(a)
        layers.append({"scale": scale, "data": encode_scaled(a, scale)})
    return {"resolution": NEURON_GRID, "extent": EXTENT, "encoding": "base64-uint8", "layers": layers}


def feature_maps() -> dict[str, Any]:
    """Every input feature over the plane (all of them, chosen or not), each on its own ±max scale."""
    xy = grid(NEURON_GRID)
    maps = {}
    for name in FEATURES.names():
        values = featurize(xy, [name])[:, 0].astype(np.float32)
        scale = layer_scale(values)
        maps[name] = {"scale": scale, "data": encode_scaled(values, scale)}
    return {"resolution": NEURON_GRID, "extent": EXTENT, "encoding": "base64-uint8", "features": maps}


def weights_view(weights: list[np.ndarray], biases: list[np.ndarray]) -> dict[str, Any]:
    """Weights per layer as [out][in] and biases as [out] (host arrays, ``stats.on_host``),
    rounded to 4 significant digits."""
    rounded = significant([*weights, *biases])
    return {"weights": rounded[: len(weights)], "biases": rounded[len(weights):]}


def significant(arrays: list[np.ndarray], digits: int = 4) -> list[Any]:
    """Each array rounded to ``digits`` significant digits, as nested lists of Python floats
    (None where not finite): each value is the double nearest its rounded decimal, so JSON
    writes it short (0.1234, not 0.12339999...). In numpy, all arrays in one pass: a layer
    is a few hundred numbers, where per-array overhead would dominate."""
    x = np.concatenate([a.ravel() for a in arrays]).astype(np.float64)
    finite = np.isfinite(x) & (x != 0)
    exponent = np.floor(np.log10(np.abs(np.where(finite, x, 1.0))))
    shift = digits - 1 - exponent  # round(x * 10^shift) / 10^shift, with exact powers of ten either way
    up, down = 10.0 ** np.maximum(shift, 0), 10.0 ** np.maximum(-shift, 0)
    rounded = np.where(finite, np.round(x * up / down) / up * down, x)
    out, start = [], 0
    for a in arrays:
        out.append(rounded[start: start + a.size].reshape(a.shape).tolist())
        start += a.size
    return out if np.isfinite(x).all() else _nones(out)


def _nones(v: Any) -> Any:
    if isinstance(v, list):
        return [_nones(x) for x in v]
    return v if math.isfinite(v) else None


def set_parameter(linears: list[nn.Linear], args: dict[str, Any]) -> dict[str, Any]:
    """Write one weight or bias of the live model. args: layer (0 = input side), kind
    ("weight" | "bias"), to (neuron of that layer's output), from (input index; weights only), value."""
    kind = args.get("kind", "weight")
    if kind not in ("weight", "bias"):
        raise ValueError(f"args.kind: 'weight' or 'bias', not {kind!r}")
    layer = _index(args, "layer", len(linears))
    linear = linears[layer]
    to = _index(args, "to", linear.out_features)
    value = args.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"args.value: a finite number in [-{WEIGHT_LIMIT:g}, {WEIGHT_LIMIT:g}], not {value!r}")
    if abs(value) > WEIGHT_LIMIT:
        raise ValueError(f"args.value: {value:g} is out of range; allowed [-{WEIGHT_LIMIT:g}, {WEIGHT_LIMIT:g}]")
    with torch.no_grad():
        if kind == "bias":
            linear.bias[to] = float(value)
        else:
            linear.weight[to, _index(args, "from", linear.in_features)] = float(value)
    return {"layer": layer, "kind": kind, "to": to, "from": args.get("from"), "value": float(value)}


def _index(args: dict[str, Any], key: str, size: int) -> int:
    v = args.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < size:
        raise ValueError(f"args.{key}: an integer in [0, {size - 1}], not {v!r}")
    return v
