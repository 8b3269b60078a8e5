"""A cohort's gradients without torch's per-op cost: the by-hand backward of cohort.py
(``_by_hand``), written in numpy on the same memory as the stack's weights.

A playground network is tiny (a few layers of up to 8 units, a batch of 10): each torch
call costs a microsecond or more of dispatch whatever its size, a numpy call on such arrays
about a third of that. A lone default session's step is ~25 calls either way, so this is
what takes its epochs/s past eager PyTorch's five times (bench/lone.py). Only the
gradients move here; the optimizer's update rule (stacked.py) still runs in torch, on the
same memory (``torch.from_numpy`` shares it), so the update stays torch.optim's.

Who takes it (``Fused.of``): CPU runs without dropout whose activation has a numpy form
(registry meta ``numpy``) and whose loss has an ``error`` (MSE). Equal to the torch path up
to float rounding, which is not bit for bit (numpy's small matrix products add in another
order): tests/test_cohort.py holds the cohort to stepping alone within 1e-6 over 88 steps
for every setup. (With dropout and Adam the rounding grew to 3.5e-6 there, so a run with
dropout keeps the torch path, which draws its masks anyway.)"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from descent.nn.activations import ACTIVATIONS
from descent.nn.losses import LOSSES


class Fused:
    """numpy views of a stack's weights and biases: ``gradients`` of one step of all its runs, and
    ``scores`` at their epoch ends."""

    def __init__(self, flat: torch.Tensor, bounds: list[int], shapes: list[torch.Size], cfg: Any) -> None:
        self.cfg = cfg
        self.bounds, self.shapes = bounds, shapes
        self.depth = len(shapes) // 2
        self.flat = flat.numpy()  # (shares the tensor's memory: updates in torch are seen here)
        self.params = self.views(self.flat)
        self.weights = self.params[: self.depth]  # (runs, out, in)
        self.oriented = _oriented(self.params)
        self.forward, self.slope = ACTIVATIONS[cfg.activation].meta["numpy"]
        self.error = LOSSES[cfg.loss].meta["error"]
        self.squash = cfg.problem == "classification" and not LOSSES[cfg.loss].meta["logits"]
        # one buffer for every step's gradients (a cohort keeps the last step's; an epoch end copies its own)
        self.flat_grad = np.empty((len(flat), bounds[-1]), dtype=np.float32)
        self.grads = self.views(self.flat_grad)
        self.grad_tensor = torch.from_numpy(self.flat_grad)

    @staticmethod
    def of(stack: Any, cfg: Any) -> Fused | None:
        """The numpy step for ``stack``'s runs, if their setup has one."""
        if stack.flat.device.type != "cpu" or cfg.dropout or "numpy" not in ACTIVATIONS[cfg.activation].meta:
            return None
        if LOSSES[cfg.loss].meta.get("error") is None:
            return None
        return Fused(stack.flat, stack.bounds, stack.shapes, cfg)

    def views(self, flat: np.ndarray) -> list[np.ndarray]:
        """Rows of the flat layout per parameter (as Stack.views), numpy views that write through."""
        out = []
        for a, b, shape in zip(self.bounds, self.bounds[1:], self.shapes):
            view = flat[:, a:b]
            view.shape = (len(flat), *shape)  # (raises rather than copy)
            out.append(view)
        return out

    def layers(self, params: list[np.ndarray], x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The stacked runs' forward pass for their inputs ``x`` (runs, rows, features):
        [x, each layer's output] (the last before any squash), and the hidden layers' outputs."""
        depth, inputs = self.depth, [x]
        weights, biases = self.oriented if params is self.params else _oriented(params)
        for i in range(depth):
            h = np.matmul(inputs[-1], weights[i])
            h += biases[i]
            if i < depth - 1:
                self.forward(h)
            inputs.append(h)
        return inputs, inputs[1:-1]

    def scores(self, flat: np.ndarray, x: np.ndarray, y: np.ndarray, n_train: int) -> tuple[list[str], list[list[float]]]:
        """scoring.scored for these runs (weights and biases ``flat``, (runs, P)) on their
        evaluation rows, the training rows first: half the mean squared error (the one loss
        this path takes) and, unless the problem is a regression, the accuracy, per split."""
        out = self.layers(self.views(flat), x)[0][-1][..., 0]  # (runs, rows); MSE's prediction is the first output
        if self.squash:
            np.tanh(out, out=out)
        error = out - y
        error *= error
        right = (out >= 0) == (y > 0)
        names, columns = [], []
        for split, part in (("train", slice(None, n_train)), ("test", slice(n_train, None))):
            names.append(f"{split}_loss")
            columns.append(0.5 * error[:, part].mean(1))
            if self.cfg.problem != "regression":
                names.append(f"{split}_accuracy")
                columns.append(right[:, part].mean(1))
        table = np.stack(columns, 1).astype(np.float64)
        table[~np.isfinite(table)] = np.nan
        return names, table.tolist()

    def gradients(self, x: np.ndarray, y: np.ndarray) -> torch.Tensor:
        """Every run's gradients for its batch (``x[r]``: (batch, features), ``y[r]``): one
        (runs, P) tensor in the flat layout (the same tensor each call, overwritten)."""
        depth = self.depth
        inputs, activations = self.layers(self.params, x)  # inputs[i]: layer i's input
        out = inputs.pop()  # (runs, batch, outputs)
        if self.squash:
            np.tanh(out, out=out)
        delta = self.error(out, y)[..., None]  # dloss/dout, per run
        if self.squash:
            delta *= 1 - out * out
        grads = self.grads
        for i in range(depth - 1, -1, -1):
            np.matmul(delta.transpose(0, 2, 1), inputs[i], out=grads[i])
            np.add.reduce(delta, axis=1, out=grads[depth + i])
            if i:
                delta = np.matmul(delta, self.weights[i])
                delta *= self.slope(activations[i - 1])
        rate = self.cfg.regularization_rate
        if rate and self.cfg.regularization in ("l1", "l2"):
            for grad, w in zip(grads, self.weights):
                grad += rate * (w if self.cfg.regularization == "l2" else np.sign(w))
        return self.grad_tensor


def _oriented(params: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Views of flat-layout parameters as the forward pass takes them: weights (runs, in,
    out), biases (runs, 1, out)."""
    depth = len(params) // 2
    return [w.transpose(0, 2, 1) for w in params[:depth]], [b[:, None, :] for b in params[depth:]]
