"""Training a playground run: its batches (from its own generator), the optimizer step,
the counters and schedule after it, and the end of an epoch (history, loss spikes,
divergence, stalls). A cohort (cohort.py) drives the same steps for many runs at once
through ``next_batch``, ``descend``, ``count_step``, ``close_epoch`` and ``stop_at``."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from descent.history import History
from descent.labs.mlp import diagnosis
from descent.labs.mlp.fork import Fork
from descent.labs.mlp.network import Network
from descent.labs.mlp.penalty import penalty
from descent.nn import stats

SPIKE = 2.0  # a train loss over twice the last epoch's (and up by 0.01 at least) is a spike
MAX_SPIKES = 20  # the most recent ones are kept


def blown_layer(norms: list[float]) -> str:
    """Which layer's gradient blew up in the last step (its per-layer norms): the first not
    finite, else the largest."""
    for i, n in enumerate(norms):
        if not math.isfinite(n):
            return f"layer {i + 1}'s gradient norm was the first to overflow"
    worst = max(range(len(norms)), key=lambda i: norms[i])
    return f"layer {worst + 1} had the largest gradient norm ({norms[worst]:.3g})"


class Training(Network):
    """A playground run's training (on the network of ``Network``)."""

    def start_run(self) -> None:
        self.step_count = 0
        self.epoch = 0
        self.diverged = None
        self.build_optimizer(self.model.parameters())
        self.grad_trace = stats.Trace(len(self.weights))
        self.before_step: list[torch.Tensor] = []  # weights before the last step (the update ratio view)
        self.epoch_x, self.epoch_y = self.x_train, self.y_train  # the epoch's data in its shuffled order
        self.batches_left = 0  # of the epoch's steps_per_epoch batches (0: a new epoch order is due)
        self.batch_at = self.epoch_rows = 0  # the row of epoch_x where the next batch starts; its rows
        self.epoch_numpy: tuple[np.ndarray, np.ndarray] | None = None
        self.history = History(("train_loss", "test_loss", "lr"))
        self.fork: Fork | None = None  # a network change ends a fork
        self.spikes: list[dict[str, Any]] = []  # loss spikes, explained (the chart marks them)
        self.watch = diagnosis.Watch()
        self.previous_loss: float | None = None
        self.epoch_metrics = self.evaluate()
        self.history.append(0, {**self.epoch_metrics, "lr": self.lr})

    # ---- batches ----------------------------------------------------------------------

    def new_epoch(self) -> None:
        # the lab's own generator: a run's batch order depends on its seed alone, not on
        # which other sessions share the process (so stepping together equals stepping alone)
        order = torch.randperm(len(self.y_train), generator=self.shuffler).to(self.device)
        self.epoch_x, self.epoch_y = self.x_train[order], self.y_train[order]
        # (host views of the same rows: a cohort's numpy step takes its batches from them, cohort.py)
        self.epoch_numpy = (self.epoch_x.numpy(), self.epoch_y.numpy()) if self.epoch_x.device.type == "cpu" else None
        self.batches_left = self.steps_per_epoch  # (a BatchNorm run leaves out a last batch of 1)
        self.batch_at, self.epoch_rows = 0, int(order.shape[0])

    def next_rows(self) -> tuple[int, int]:
        """The epoch's next batch: rows [start, end) of its shuffled data (``epoch_x``,
        ``epoch_y``); the last one of an epoch may be short."""
        if not self.batches_left:
            self.new_epoch()
        start = self.batch_at
        self.batch_at = end = min(start + self.config.batch_size, self.epoch_rows)
        self.batches_left -= 1
        return start, end

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        start, end = self.next_rows()
        return self.epoch_x[start:end], self.epoch_y[start:end]

    def restart_epoch(self) -> None:
        """The next step starts a new epoch order (new training data, a new batch size)."""
        self.batches_left = 0

    # ---- steps ------------------------------------------------------------------------

    def step(self, n: int) -> None:
        for i in range(n):
            xb, yb = self.next_batch()
            # only the last step of a call feeds the update/weight ratio view
            self.descend(xb, yb, snapshot=i == n - 1)
            if self.advance(xb, yb):
                return

    def descend(self, xb: torch.Tensor, yb: torch.Tensor, snapshot: bool) -> None:
        """One optimizer step on a batch (gradients left in .grad for the views)."""
        loss = self.loss_fn(self.model(xb), yb) + penalty(self.config, self.weights)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if snapshot:
            self.before_step = [w.detach().clone() for w in self.weights]
        self.optimizer.step()

    def advance(self, xb: torch.Tensor, yb: torch.Tensor) -> bool:
        """After a step: the schedule, the fork, the counters and, when the epoch's batches
        are done, its evaluation. True if the run diverged (training stops)."""
        if self.count_step(xb, yb):
            self.close_epoch(self.evaluate(), self.step_count, self.lr, lambda: stats.grad_norms(self.weights))
        return self.diverged is not None

    def count_step(self, xb: torch.Tensor | None = None, yb: torch.Tensor | None = None) -> bool:
        """The schedule, the fork (on the batch ``xb``, ``yb``) and the step counter after a
        step; True if it ended the epoch (its evaluation is due: ``close_epoch``)."""
        self.step_schedule()
        if self.fork and xb is not None and yb is not None:
            self.fork.step(self, xb, yb)
        self.step_count += 1
        return not self.batches_left

    def close_epoch(self, metrics: dict[str, Any], step: int, lr: float, grad_norms: Callable[[], list[float]]) -> None:
        """The end of an epoch, evaluated (``metrics``) after step ``step`` at learning rate
        ``lr``: history, spikes, divergence. ``grad_norms``: that step's gradient norms per
        layer (asked for only to explain a spike or a divergence)."""
        self.epoch += 1
        self.epoch_metrics = metrics
        self.history.append(self.epoch, {**metrics, "lr": lr})
        if self.fork:
            self.fork.end_epoch(self)
        loss = metrics["train_loss"]
        if loss is None or not math.isfinite(loss):
            self.diverged = diagnosis.diverged(loss, lr, grad_norms())
        elif self.previous_loss is not None and loss > SPIKE * self.previous_loss and loss - self.previous_loss > 0.01:
            # a spike: marked on the chart with what explains it, while the run goes on
            self.spikes.append({"epoch": self.epoch, "step": step, "lr": lr,
                                "text": f"loss ×{loss / self.previous_loss:.1f} at step {step} (lr {lr:.3g}); {blown_layer(grad_norms())}"})
            del self.spikes[:-MAX_SPIKES]
        self.previous_loss = loss
        self.watch.epoch(metrics, lr, grad_norms, lambda: diagnosis.units_of(self))  # a stall, explained

    def stop_at(self, step: int, lr: float, before_step: list[torch.Tensor]) -> None:
        """A cohort's run that diverged at step ``step`` (at learning rate ``lr``) after the
        cohort stepped it further: the counters, LR and update snapshot go back there (its
        weights and gradients are put back by the cohort)."""
        if step != self.step_count:  # (else it stopped at the call's last step, which keeps its snapshot)
            self.before_step = before_step
            self.restart_epoch()
        self.step_count = step
        for group in self.optimizer.param_groups:
            group["lr"] = lr
