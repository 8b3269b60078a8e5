"""The recurrent lab: an RNN, LSTM or GRU trained live on a sequence task, with backprop through
time made visible (hidden states, gates, dL/dh_t along time, clipping)."""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np
import torch

from descent.history import History
from descent.labs.base import Lab as BaseLab
from descent.labs.base import Rebuilt
from descent.labs.rnn import model as recurrent
from descent.labs.rnn.bptt import backprop_chunks, scored_count, sequence_loss
from descent.labs.rnn.model import Recurrent, State
from descent.labs.rnn.schema import COMMANDS, COMPARABLE, EPOCH_STEPS, Config
from descent.labs.rnn.tasks import IGNORE, Task, make_task
from descent.labs.rnn.views import ViewMaker

TASK_KEYS = {"task", "length", "symbols", "seed"}
NETWORK_KEYS = {"cell", "nonlinearity", "layers", "hidden", "bidirectional", "forget_bias"}
__all__ = ["Lab", "backprop_chunks", "sequence_loss"]  # (the BPTT functions: bptt.py)
EVAL_SIZE = 256  # held-out sequences scored at the end of every epoch
CLIP_TRACE = 200  # steps of before/after clipping norms kept for the view


class Lab(BaseLab[Config]):
    curve_points = 200  # the planned LR curve is sent at this many points
    command_args = COMMANDS
    comparable = COMPARABLE
    cost_fields = ("batch_size", "length", "hidden", "layers")

    def __init__(self, config: Config, device: torch.device) -> None:
        super().__init__(config, device)
        self.resets = 0
        self._build_task()
        self._build_network()

    @staticmethod
    def _sizes(config: Config) -> tuple[int, int]:
        task = make_task(config.task, config.symbols)
        return task.features, task.outputs

    @classmethod
    def parameter_count(cls, config: Config) -> int:
        features, outputs = cls._sizes(config)
        return recurrent.parameter_count(config.cell, features, config.hidden, config.layers, 2 if config.bidirectional else 1, outputs)

    @classmethod
    def step_work(cls, config: Config) -> float:
        features, outputs = cls._sizes(config)
        return recurrent.step_work(config.cell, features, config.hidden, config.layers, 2 if config.bidirectional else 1,
                                   outputs, config.length, config.batch_size)

    # ---- building -------------------------------------------------------------------

    def _build_task(self) -> None:
        cfg = self.config
        self.task: Task = make_task(cfg.task, cfg.symbols)
        x, y, _ = self.task.generate(np.random.default_rng([cfg.seed, 1]), EVAL_SIZE, cfg.length, True, None)
        self.eval_x = torch.from_numpy(x).to(self.device)
        self.eval_y = torch.from_numpy(y).to(self.device)

    def _build_network(self) -> None:
        cfg, task = self.config, self.task
        init_rng = torch.Generator().manual_seed(cfg.seed * 1009 + self.resets)
        self.rng = np.random.default_rng([cfg.seed, 2, self.resets])
        self.model = Recurrent(cfg.cell, cfg.nonlinearity, task.features, cfg.hidden, cfg.layers, cfg.bidirectional,
                               task.outputs, init_rng, cfg.forget_bias).to(self.device)
        self.step_count = 0
        self.epoch = 0
        self.diverged = None
        self.twin = None  # a new network ends a second run
        self._state: State | None = None  # the last batch's final state, when carried
        self._position: np.ndarray | None = None  # where each stream stopped (sine, text)
        self._epoch_losses: list[torch.Tensor] = []
        self._epoch_norms: list[torch.Tensor] = []  # per step: (pre-clip, post-clip, per layer...)
        self.clip_trace: deque[tuple[int, float, float]] = deque(maxlen=CLIP_TRACE)
        self.layer_names = [f"grad_{i + 1}" for i in range(cfg.layers)] + ["grad_head"]
        series = ("train_loss", "test_loss", "test_accuracy", "grad_norm", "clipped_norm", "lr")
        self.history = History((*series, *self.layer_names))
        self.build_optimizer(self.model.parameters())
        self.viewer = ViewMaker(self)
        self.epoch_metrics = self._evaluate(None)
        self._record({})

    # ---- training -------------------------------------------------------------------

    @property
    def steps_per_epoch(self) -> int:
        return EPOCH_STEPS

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.config
        carry = cfg.carry_state and self.task.streams
        x, y, position = self.task.generate(self.rng, cfg.batch_size, cfg.length, False, self._position if carry else None)
        self._position = position
        return torch.from_numpy(x).to(self.device), torch.from_numpy(y).to(self.device)

    def train_step(self) -> torch.Tensor:
        """One optimizer step on one batch: the sequence in BPTT chunks, each backpropagated on
        its own with the state handed on detached (the graph is cut between chunks), gradients
        summed, clipped, applied. Returns the batch's mean loss."""
        cfg, model = self.config, self.model
        x, y = self._batch()
        state = self._state if cfg.carry_state else None
        if state is not None and state_batch(state) != x.shape[0]:
            state = None
        self.optimizer.zero_grad(set_to_none=True)
        total, state = backprop_chunks(model, self.task, x, y, cfg.bptt, state)
        self._state = state if cfg.carry_state else None
        self._after_backward()
        self.optimizer.step()
        self.step_schedule()
        return total

    def _after_backward(self) -> None:
        """Per-layer gradient norms, then clipping; both norms kept for the views."""
        model = self.model
        norms = [_norm(layer.parameters()) for layer in model.layers] + [_norm(model.head.parameters())]
        before = torch.stack(norms).square().sum().sqrt()
        if self.config.clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), self.config.max_norm)
            after = _norm(model.parameters())
        else:
            after = before
        self._epoch_norms.append(torch.stack([before, after, *norms]))

    def step(self, n: int) -> None:
        self.model.train()
        self.counted_steps(n, lambda: self._epoch_losses.append(self.train_step()))

    def end_epoch(self) -> None:
        self.epoch += 1
        train_loss = float(torch.stack(self._epoch_losses).mean())
        norms = torch.stack(self._epoch_norms).cpu()  # (steps, 2 + layers + 1)
        first = self.step_count - len(norms) + 1
        self.clip_trace.extend((first + i, float(b), float(a)) for i, (b, a) in enumerate(norms[:, :2].tolist()))
        self._epoch_losses, self._epoch_norms = [], []
        self.epoch_metrics = self._evaluate(train_loss)
        means = norms.mean(0).tolist()
        self._record({"grad_norm": means[0], "clipped_norm": means[1], **dict(zip(self.layer_names, means[2:]))})
        if not math.isfinite(train_loss):
            finite = norms[:, 0][torch.isfinite(norms[:, 0])]
            peak = f" (the gradient norm reached {float(finite.max()):.3g} before it" if len(finite) else " (the gradient norm was not finite from the start"
            self.diverged = f"train loss became {train_loss} at epoch {self.epoch}{peak}; clipping bounds each step)"

    @torch.no_grad()
    def _evaluate(self, train_loss: float | None) -> dict[str, float | None]:  # (None: not measured)
        self.model.eval()
        logits, _ = self.model(self.eval_x)
        self.model.train()
        loss = float(sequence_loss(self.task, logits, self.eval_y, max(1, scored_count(self.task, self.eval_y))))
        accuracy = None
        if self.task.kind == "classification":
            mask = self.eval_y != IGNORE
            accuracy = float((logits.argmax(-1)[mask] == self.eval_y[mask]).float().mean())
        self.viewer.stale = True
        return {"train_loss": train_loss, "test_loss": loss if math.isfinite(loss) else None, "test_accuracy": accuracy}

    def _record(self, norms: dict[str, float]) -> None:
        # (a None metric is a gap in the history's series)
        self.history.append(self.epoch, {**self.epoch_metrics, "lr": self.lr, **norms})

    # ---- changes --------------------------------------------------------------------

    def reconfigure(self, old: Config, changed: set[str]) -> Rebuilt:
        if changed & TASK_KEYS:
            self._build_task()
        if changed & (TASK_KEYS | NETWORK_KEYS):
            self._build_network()
            return "network"
        if changed & {"bptt", "carry_state"}:
            self._state, self._position = None, None
        self.viewer.stale = True
        return self.retrain(changed, self.model.parameters())

    def reset(self) -> None:
        self.resets += 1
        self._build_network()

    transient = ("task", "viewer")

    def rebuilt(self) -> None:
        """After a restore: the task, the view cache, and the schedule at the step it had reached."""
        cfg = self.config
        self.task = make_task(cfg.task, cfg.symbols)
        self.viewer = ViewMaker(self)
        super().rebuilt()

    # ---- reading --------------------------------------------------------------------

    def views(self, full: bool, detail: bool = True) -> dict[str, Any]:
        return {**self.viewer.views(full), **self.fork_views(full)}

    def command_code(self, args: Any) -> dict[str, Any]:
        """The plain PyTorch script of the current setup (show the code / download)."""
        from descent.labs.rnn.script import FILENAME, render

        return {"filename": FILENAME, "script": render(self.config)}

    def twin_views(self, run: Lab) -> dict[str, Any]:
        """The second run's BPTT view beside this run's (RNN vs LSTM on the same sequences)."""
        return {"bptt": run.viewer.views(False)["bptt"]}


def _norm(params: Any) -> torch.Tensor:
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


def state_batch(state: State) -> int:
    first = state[0]
    return int((first[0] if isinstance(first, tuple) else first).shape[1])
