"""Fork and compare: a second run that starts from the main run's current point (the same
weights and, when the optimizer is the same, the same optimizer state) and then sees the
same batches in the same order and drops the same units (its model's copy of the dropout
generator), differing only in the training settings the user changed.
Its loss curves go beside the main run's, labelled with what differs."""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING, Any

import torch

from descent.history import Cursor, History
from descent.labs.mlp.penalty import penalty
from descent.labs.mlp.schema import FORKABLE as FORK_KEYS
from descent.labs.mlp.schema import Config
from descent.nn.optimizers import OPTIMIZERS
from descent.nn.schedules import build_schedule

if TYPE_CHECKING:
    from descent.labs.mlp.network import Network

FORKABLE = frozenset(FORK_KEYS)  # what a fork may change (see the schema)


class Fork:
    def __init__(self, lab: Network, patch: Any) -> None:
        if not isinstance(patch, dict) or not patch:
            raise ValueError("args.patch: the settings the fork changes, e.g. {\"optimizer\": \"adam\"}")
        bad = sorted(set(patch) - FORKABLE)
        if bad:
            raise ValueError(f"args.patch.{bad[0]}: a fork changes only how the network is trained; allowed: {', '.join(sorted(FORKABLE))}")
        self.config = Config.model_validate({**lab.config.model_dump(), **patch})  # errors name the field
        changed = {k: getattr(self.config, k) for k in patch if getattr(self.config, k) != getattr(lab.config, k)}
        if not changed:
            raise ValueError("args.patch: these are the main run's settings already; change at least one")
        self.label = "fork: " + ", ".join(f"{'lr' if k == 'learning_rate' else k} {v}" for k, v in changed.items())
        self.model = copy.deepcopy(lab.model)
        self.weights = [m.weight for m in self.model if isinstance(m, torch.nn.Linear)]
        cfg = self.config
        self.optimizer = OPTIMIZERS[cfg.optimizer].fn(self.model.parameters(), cfg.learning_rate, cfg)
        if cfg.optimizer == lab.config.optimizer:
            # the same optimizer carries its state (momentum, moments) over; its own
            # hyper-parameters stay the fork's
            own = [{k: v for k, v in g.items() if k != "params"} for g in self.optimizer.param_groups]
            self.optimizer.load_state_dict(copy.deepcopy(lab.optimizer.state_dict()))  # (it would share tensors)
            for group, settings in zip(self.optimizer.param_groups, own):
                group.update(settings)
        self.schedule = build_schedule(self.optimizer, cfg, cfg.schedule_steps, start=lab.step_count, base_lr=cfg.learning_rate)
        self.history = History(("train_loss", "test_loss"))
        self.history.append(lab.epoch, lab.evaluate(self.model))
        self.cursor = Cursor()
        self.diverged: str | None = None

    def step(self, lab: Network, xb: torch.Tensor, yb: torch.Tensor) -> None:
        """One step on the main run's batch."""
        if self.diverged:
            return
        loss = lab.loss_fn(self.model(xb), yb) + penalty(self.config, self.weights)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.schedule.step()

    def end_epoch(self, lab: Network) -> None:
        if self.diverged:
            return
        metrics = lab.evaluate(self.model)
        self.history.append(lab.epoch, metrics)
        if not math.isfinite(metrics["train_loss"] or math.nan):
            self.diverged = f"the fork diverged at epoch {lab.epoch}"

    def view(self, full: bool) -> dict[str, Any]:
        cursor = Cursor() if full else self.cursor
        history = self.history.since(cursor)
        if full:
            self.cursor = cursor
        return {"label": self.label, "history": history, "diverged": self.diverged}
