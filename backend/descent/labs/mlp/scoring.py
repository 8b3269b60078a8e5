"""A run's scores at the end of an epoch: loss (and accuracy) on the training and the test
split, for one run (``Lab.evaluate``) or many stacked (a cohort's epoch ends, cohort.py)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch


def scored(out: torch.Tensor, y: torch.Tensor, n_train: int, problem: str,
           loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], predict: Callable[[torch.Tensor], torch.Tensor]
           ) -> tuple[list[str], list[list[float]]]:
    """Each run's loss (and accuracy) on both splits. ``out``: (runs, rows, outputs) over
    the training rows then the test rows; ``y``: (runs, rows); ``loss``: (out, y) of that
    shape -> (runs,). Returns the metric names and each run's values (NaN where not
    finite), read in one go. (Called under no_grad.)"""
    if problem == "multiclass":
        right = out.argmax(-1) == y.long()
    elif problem == "classification":
        right = (predict(out.reshape(-1, out.shape[-1])).view(y.shape) >= 0) == (y > 0)
    names, values = [], []
    for split, part in (("train", slice(None, n_train)), ("test", slice(n_train, None))):
        names.append(f"{split}_loss")
        values.append(loss(out[:, part], y[:, part]))
        if problem != "regression":
            names.append(f"{split}_accuracy")
            values.append(right[:, part].float().mean(1))
    table = torch.stack(values, 1).tolist()
    return names, [[v if math.isfinite(v) else math.nan for v in run] for run in table]
