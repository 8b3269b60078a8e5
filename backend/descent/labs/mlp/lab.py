"""The MLP playground lab: data, network, training loop and the views it shows."""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np
import torch
from torch import nn

from ...activations import ACTIVATIONS
from ...datasets import EXTENT, featurize, generate, grid
from ...history import History
from ...optimizers import OPTIMIZERS, OptimizerParams
from ..base import Lab as BaseLab
from ..base import Rebuilt
from .schema import GRID, Config

DATA_KEYS = {"problem", "dataset", "noise", "train_ratio", "seed"}
NETWORK_KEYS = {"features", "hidden", "activation"}
OPTIMIZER_KEYS = {"optimizer"} | set(OptimizerParams.model_fields)


def build_network(config: Config, seed: int) -> nn.Sequential:
    """features -> hidden... -> 1, the chosen activation between layers; tanh output for
    classification (labels are -1/+1), linear for regression."""
    torch.manual_seed(seed)
    widths = [len(config.features), *config.hidden, 1]
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(widths) - 2:
            layers.append(ACTIVATIONS[config.activation].fn())
    if config.problem == "classification":
        layers.append(nn.Tanh())
    return nn.Sequential(*layers)


def encode_unit(values: torch.Tensor) -> str:
    """Values in [-1, 1] -> base64 of uint8 (0 = -1, 255 = +1)."""
    scaled = ((values.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return base64.b64encode(scaled.cpu().numpy().tobytes()).decode("ascii")


class Lab(BaseLab):
    def __init__(self, config: Config, device: torch.device) -> None:
        self.device = device
        self.config = config
        self.resets = 0
        self._build_data()
        self._build_network()

    # ---- building -------------------------------------------------------------------

    def _build_data(self) -> None:
        cfg = self.config
        xy, label = generate(cfg.dataset, cfg.noise / 100, cfg.seed)
        n_train = cfg.train_size
        self.train_xy, self.train_label = xy[:n_train], label[:n_train]
        self.test_xy, self.test_label = xy[n_train:], label[n_train:]
        self.data_version = getattr(self, "data_version", 0) + 1

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).to(self.device)

    def _build_network(self) -> None:
        cfg = self.config
        self.x_train = self._tensor(featurize(self.train_xy, cfg.features))
        self.y_train = self._tensor(self.train_label)
        self.x_test = self._tensor(featurize(self.test_xy, cfg.features))
        self.y_test = self._tensor(self.test_label)
        self.x_grid = self._tensor(featurize(grid(GRID), cfg.features))
        self.model = build_network(cfg, seed=cfg.seed * 1009 + self.resets).to(self.device)
        self.linears = [m for m in self.model if isinstance(m, nn.Linear)]
        self.weights = [m.weight for m in self.linears]
        self._build_optimizer()
        self.step_count = 0
        self.epoch = 0
        self.diverged = None
        self._batches: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.history = History(("train_loss", "test_loss"))
        self._epoch_metrics = self._evaluate()
        self.history.append(0, self._epoch_metrics)

    def _build_optimizer(self) -> None:
        cfg = self.config
        self.optimizer = OPTIMIZERS[cfg.optimizer].fn(self.model.parameters(), cfg.learning_rate, cfg)

    # ---- training -------------------------------------------------------------------

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.y_train) / self.config.batch_size)

    def _new_epoch(self) -> None:
        order = torch.randperm(len(self.y_train), device=self.device)
        bs = self.config.batch_size
        self._batches = list(zip(self.x_train[order].split(bs), self.y_train[order].split(bs)))
        self._batches.reverse()  # pop() from the end is O(1)

    def _penalty(self) -> torch.Tensor | float:
        cfg = self.config
        if cfg.regularization == "none" or cfg.regularization_rate == 0:
            return 0.0
        if cfg.regularization == "l1":
            return cfg.regularization_rate * sum(w.abs().sum() for w in self.weights)
        return cfg.regularization_rate * 0.5 * sum((w * w).sum() for w in self.weights)

    def step(self, n: int) -> None:
        model, optimizer = self.model, self.optimizer
        for _ in range(n):
            if not self._batches:
                self._new_epoch()
            xb, yb = self._batches.pop()
            out = model(xb).squeeze(1)
            loss = 0.5 * (out - yb).square().mean() + self._penalty()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            self.step_count += 1
            if not self._batches:
                self._end_epoch()
                if self.diverged:
                    return

    def _end_epoch(self) -> None:
        self.epoch += 1
        self._epoch_metrics = self._evaluate()
        self.history.append(self.epoch, self._epoch_metrics)
        loss = self._epoch_metrics["train_loss"]
        if loss is None or not math.isfinite(loss):
            self.diverged = f"train loss became {loss if loss is not None else 'NaN'} at epoch {self.epoch}"

    @torch.no_grad()
    def _evaluate(self) -> dict[str, float | None]:
        metrics: dict[str, float | None] = {}
        for split, x, y in (("train", self.x_train, self.y_train), ("test", self.x_test, self.y_test)):
            out = self.model(x).squeeze(1)
            loss = float(0.5 * (out - y).square().mean())
            metrics[f"{split}_loss"] = loss if math.isfinite(loss) else float("nan")
            if self.config.problem == "classification":
                metrics[f"{split}_accuracy"] = float(((out >= 0) == (y > 0)).float().mean())
        return metrics

    # ---- changes --------------------------------------------------------------------

    def configure(self, config: Config) -> Rebuilt:
        old, self.config = self.config, config
        changed = {k for k in Config.model_fields if getattr(old, k) != getattr(config, k)}
        if changed & DATA_KEYS:
            self._build_data()
        if changed & (DATA_KEYS | NETWORK_KEYS):
            self._build_network()
            return "network"
        if "batch_size" in changed:
            self._batches = []  # next step starts a new epoch-order with the new size
        if changed & OPTIMIZER_KEYS:
            self._build_optimizer()
            return "optimizer"
        if "learning_rate" in changed:
            for group in self.optimizer.param_groups:
                group["lr"] = config.learning_rate
        return "none"

    def reset(self) -> None:
        self.resets += 1
        self._build_network()

    # ---- reading --------------------------------------------------------------------

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def metrics(self) -> dict[str, float | None]:
        return {k: (v if v is None or math.isfinite(v) else None) for k, v in self._epoch_metrics.items()}

    @torch.no_grad()
    def views(self, full: bool) -> dict[str, Any]:
        boundary = self.model(self.x_grid).squeeze(1)
        views: dict[str, Any] = {
            "boundary": {
                "resolution": GRID,
                "extent": EXTENT,
                "range": (-1.0, 1.0),
                "encoding": "base64-uint8",
                "data": encode_unit(torch.nan_to_num(boundary, nan=0.0)),
            },
            "grad_norms": [
                float(w.grad.norm()) if w.grad is not None else 0.0 for w in self.weights
            ],
            "layers": [f"layer {i + 1}" for i in range(len(self.weights))],
        }
        if full:
            views["data"] = {
                "train": _points(self.train_xy, self.train_label),
                "test": _points(self.test_xy, self.test_label),
            }
        return views


def _points(xy: np.ndarray, label: np.ndarray) -> dict[str, list[float]]:
    return {
        "x1": np.round(xy[:, 0], 3).tolist(),
        "x2": np.round(xy[:, 1], 3).tolist(),
        "label": np.round(label, 3).tolist(),
    }
