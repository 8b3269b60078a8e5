"""What a playground frame shows (``Views`` in schema.py): the decision boundary and the
neuron maps, weights and gradients, the optimizer's state, the planned LR, spikes, the
diagnosis, the fork's curves and the data points."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from descent.encoding import b64
from descent.labs.mlp import inside
from descent.labs.mlp.datasets import EXTENT
from descent.labs.mlp.schema import GRID
from descent.labs.mlp.training import Training
from descent.nn import stats
from descent.nn.activations import activation_curve


def encode_probability(p: torch.Tensor) -> str:
    """Probabilities in [0, 1] -> base64 of uint8 (byte = round(255 p))."""
    return b64((p * 255).round().to(torch.uint8).cpu().numpy())


def class_heatmap(probs: torch.Tensor) -> dict[str, Any]:
    """(GRID^2, classes) softmax probabilities -> the ``ClassHeatmap`` view: argmax class and its probability."""
    confidence, label = probs.max(1)
    return {
        "resolution": GRID,
        "extent": EXTENT,
        "classes": probs.shape[1],
        "encoding": "base64-uint8-class",
        "data": b64(label.to(torch.uint8).cpu().numpy()),
        "confidence": encode_probability(confidence),
    }


class Shown:
    """What the page has already been sent of what changes rarely: the fork, the data."""

    def __init__(self) -> None:
        self.fork = False  # a fork was shown (None once tells the page it ended)
        self.data = -1  # the data version the page has


# What a light frame leaves out (``detail`` False: a busy worker, runtime/pressure.py): the
# inside of the network and the inspector's slow statistics, which change little from one
# frame to the next and cost more than half of a big network's frame (its views, its bytes);
# the page keeps the last it had of each.
DETAIL = ("neurons", "weights", "biases", "histograms", "update_ratio", "optimizer_state")


@torch.no_grad()
def frame_views(lab: Training, shown: Shown, full: bool, detail: bool = True) -> dict[str, Any]:
    """The views of one frame of ``lab``; ``full`` adds what only a new client needs;
    without ``detail``, the ``DETAIL`` views are left out (and the neuron maps' grid rows
    are not computed)."""
    cells = GRID * GRID
    grid = lab.x_grid if detail else lab.x_grid[:cells]  # (the boundary's rows, then the neuron maps')
    out, hidden = inside.forward_with_taps(lab.model, grid, lab.taps if detail else [])
    depth = len(lab.linears)
    wanted = [*lab.weights, *(m.bias for m in lab.linears)] if detail else []
    host = stats.on_host([*wanted, *(w.grad for w in lab.weights)])  # (one host copy on a GPU)
    grads = host[len(wanted):]
    grad_norms = [stats.norm(g) for g in grads]
    if grads[0] is not None:
        lab.grad_trace.record(lab.step_count, grad_norms)
    if lab.config.problem == "multiclass":
        probs = torch.nan_to_num(out, nan=0.0).softmax(1)  # (GRID^2 [+ NEURON_GRID^2], classes)
        boundary = class_heatmap(probs[:cells])
    else:
        boundary = {
            "resolution": GRID,
            "extent": EXTENT,
            "range": (-1.0, 1.0),
            "encoding": "base64-uint8",
            "data": inside.encode_scaled(lab.predict(out[:cells]), 1.0),  # (NaN -> 0)
        }
    views: dict[str, Any] = {
        "boundary": boundary,
        "grad_norms": grad_norms,
        "layers": [f"layer {i + 1}" for i in range(depth)],
        "grad_trace": lab.grad_trace.encode(),
        **lab.schedule_views(full),
    }
    if detail:
        weights, biases = host[:depth], host[depth: 2 * depth]
        neurons = inside.neuron_maps([a[cells:] for a in hidden])
        if lab.config.problem == "multiclass":
            neurons["outputs"] = encode_probability(probs[cells:].T.contiguous())  # (classes, cells)
        views["neurons"] = neurons
        views.update(inside.weights_view([w for w in weights if w is not None], [b for b in biases if b is not None]))
        views["histograms"] = [
            {"weights": stats.histogram(w if w is not None else np.zeros(0, np.float32)),
             "grads": stats.histogram(g if g is not None else np.zeros(0, np.float32))}
            for w, g in zip(weights, grads)
        ]
        views["update_ratio"] = stats.update_ratios(lab.before_step, lab.weights)
        views["optimizer_state"] = stats.state_norms(lab.optimizer, lab.config.optimizer, lab.weights)
    if full:
        views["features"] = inside.feature_maps()
        views["activation"] = {"name": lab.config.activation, **activation_curve(lab.config.activation)}
    views["spikes"] = lab.spikes
    views["diagnosis"] = lab.watch.view()
    if lab.fork or shown.fork:  # None once tells the page the fork ended
        views["fork"] = lab.fork.view(full) if lab.fork else None
        shown.fork = lab.fork is not None
    if full or shown.data != lab.data_version:
        views["data"] = {
            "train": _points(lab.train_xy, lab.train_label),
            "test": _points(lab.test_xy, lab.test_label),
            "drawn": len(lab.config.drawn) // 3,
        }
        shown.data = lab.data_version
    return views


def _points(xy: np.ndarray, label: np.ndarray) -> dict[str, list[float]]:
    return {
        "x1": np.round(xy[:, 0], 3).tolist(),
        "x2": np.round(xy[:, 1], 3).tolist(),
        "label": np.round(label, 3).tolist(),
    }
