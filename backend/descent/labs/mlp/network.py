"""The playground's data and network: the datasets drawn from the config, their tensors on
the lab's device, the network built from the registries, and its evaluation."""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from descent.labs.base import Lab
from descent.labs.mlp import inside
from descent.labs.mlp.datasets import featurize, generate, grid
from descent.labs.mlp.flat import Flat
from descent.labs.mlp.schema import GRID, Config
from descent.labs.mlp.scoring import scored
from descent.nn.activations import ACTIVATIONS
from descent.nn.dropout import Dropout
from descent.nn.initializers import linear
from descent.nn.losses import LOSSES


def stream_seeds(seed: int, resets: int = 0) -> dict[str, int]:
    """The seeds of a run's random streams, each its own generator (never torch's global
    one, which every session of a worker shares): the initial weights, the dropout masks
    and the batch order. From the config's seed, and the resets (a reset starts anew)."""
    return {"init": seed * 1009 + resets, "dropout": seed * 6007 + resets + 1, "order": seed * 7919 + resets}


def build_network(config: Config, seed: int, dropout_rng: torch.Generator | None = None) -> nn.Sequential:
    """features -> hidden... -> outputs. Each hidden layer: Linear, [Batch/LayerNorm],
    activation, [Dropout]. The output is tanh-squashed for classification with a
    value loss (labels are -1/+1), raw logits for BCE/CE (one per class for CE), linear
    for regression. The initial weights are drawn (on the CPU) from a generator seeded
    ``seed``, layer by layer; the dropout masks from ``dropout_rng`` (on the device the
    model will train on; a CPU one seeded ``seed + 1`` if not given)."""
    init_rng = torch.Generator().manual_seed(seed)
    if dropout_rng is None:
        dropout_rng = torch.Generator().manual_seed(seed + 1)
    loss = LOSSES[config.loss].meta
    widths = [len(config.features), *config.hidden, config.outputs]
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        layers.append(linear(fan_in, fan_out, init_rng, config))
        if i < len(widths) - 2:
            if config.norm == "batch":
                layers.append(nn.BatchNorm1d(fan_out))
            elif config.norm == "layer":
                layers.append(nn.LayerNorm(fan_out))
            layers.append(ACTIVATIONS[config.activation].fn())
            if config.dropout > 0:
                layers.append(Dropout(config.dropout, dropout_rng))
    if config.problem == "classification" and not loss["logits"]:
        layers.append(nn.Tanh())
    return nn.Sequential(*layers)


def steps_per_epoch(config: Config) -> int:
    n, bs = config.train_size + len(config.drawn) // 3, config.batch_size  # drawn points train too
    if config.norm == "batch" and n % bs == 1:
        return n // bs  # the 1-sample remainder is dropped (BatchNorm needs 2)
    return math.ceil(n / bs)


class Network(Lab[Config]):
    """The data and the network of a playground run (training.py trains it, lab.py is the lab)."""

    horizon_field = "schedule_steps"
    cost_fields = ("batch_size", "hidden", "features")

    def __init__(self, config: Config, device: torch.device) -> None:
        super().__init__(config, device)
        self.resets = 0  # a reset draws new weights (stream_seeds)
        self.data_version = 0  # bumped by every new dataset: the page gets the points again
        self.build_data()
        self.build_network()

    @property
    def steps_per_epoch(self) -> int:
        return steps_per_epoch(self.config)

    # ---- data -------------------------------------------------------------------------

    def build_data(self) -> None:
        cfg = self.config
        xy, label = generate(cfg.dataset, cfg.noise / 100, cfg.seed, classes=cfg.classes)
        n_train = cfg.train_size
        self.train_xy, self.train_label = xy[:n_train], label[:n_train]
        self.test_xy, self.test_label = xy[n_train:], label[n_train:]
        if cfg.drawn:  # drawn points join the training data
            drawn = np.asarray(cfg.drawn, dtype=np.float32).reshape(-1, 3)  # (points, [x1, x2, label])
            self.train_xy = np.concatenate([self.train_xy, drawn[:, :2]])
            self.train_label = np.concatenate([self.train_label, drawn[:, 2]])
        self.data_version += 1

    def tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).to(self.device)

    def training_tensors(self) -> None:
        """The training split on the device, and both splits as one (``evaluate`` scores
        them in one pass)."""
        self.x_train = self.tensor(featurize(self.train_xy, self.config.features))
        self.y_train = self.tensor(self.train_label)
        self.x_eval = torch.cat([self.x_train, self.x_test])
        self.y_eval = torch.cat([self.y_train, self.y_test])

    # ---- network ----------------------------------------------------------------------

    def build_network(self) -> None:
        """Tensors, network and loss from the config, then a new run on them (``start_run``)."""
        cfg = self.config
        self.x_test = self.tensor(featurize(self.test_xy, cfg.features))
        self.y_test = self.tensor(self.test_label)
        self.training_tensors()
        # the main heatmap's grid (GRID^2 rows) then the neuron maps' grid (NEURON_GRID^2 rows):
        # one forward pass over both
        self.x_grid = self.tensor(featurize(np.concatenate([grid(GRID), grid(inside.NEURON_GRID)]), cfg.features))
        seeds = stream_seeds(cfg.seed, self.resets)
        self.dropout_rng = torch.Generator(self.device).manual_seed(seeds["dropout"])  # (a cohort draws from it too)
        self.model = build_network(cfg, seeds["init"], self.dropout_rng).to(self.device)
        self.shuffler = torch.Generator().manual_seed(seeds["order"])  # the batch order's
        self.linears = [m for m in self.model if isinstance(m, nn.Linear)]
        self.flat = Flat(self.linears)  # (its parameters are views of one buffer: a cohort copies them at once)
        self.taps = inside.hidden_taps(self.model)
        self.weights = [m.weight for m in self.linears]
        self.loss_fn: Callable[..., torch.Tensor] = LOSSES[cfg.loss].fn
        self.predict: Callable[..., torch.Tensor] = LOSSES[cfg.loss].meta["predict"]
        self.start_run()

    @abstractmethod
    def start_run(self) -> None:
        """A new run on the network just built: optimizer, counters, history (training.py)."""

    @torch.no_grad()
    def evaluate(self, model: nn.Sequential | None = None) -> dict[str, Any]:
        """Losses (and accuracies) of ``model`` (the lab's own by default) on both splits: one
        forward pass over both, in eval mode (dropout off, BatchNorm on its running
        statistics, so each row's output is its own), and one read of the numbers."""
        out, _ = inside.forward_with_taps(model or self.model, self.x_eval, [])
        names, values = scored(out.unsqueeze(0), self.y_eval.unsqueeze(0), len(self.y_train), self.config.problem,
                               lambda o, y: self.loss_fn(o[0], y[0]).unsqueeze(0), self.predict)
        return dict(zip(names, values[0]))
