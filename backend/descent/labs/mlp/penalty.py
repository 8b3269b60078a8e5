"""The L1/L2 regularization term, shared by a run's own step, its fork's and a cohort's."""

from __future__ import annotations

import torch

from descent.labs.mlp.schema import Config


def penalty(config: Config, weights: list[torch.Tensor]) -> torch.Tensor | float:
    """The L1/L2 regularization term of ``config`` over ``weights``."""
    if config.regularization == "none" or config.regularization_rate == 0:
        return 0.0
    if config.regularization == "l1":
        return config.regularization_rate * sum(w.abs().sum() for w in weights)
    return config.regularization_rate * 0.5 * sum((w * w).sum() for w in weights)
