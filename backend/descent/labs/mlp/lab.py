"""The MLP playground lab: data, network, training loop and the views it shows."""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from pydantic import ValidationError
from torch import nn

from descent.history import History
from descent.labs.base import Lab as BaseLab
from descent.labs.base import Rebuilt
from descent.labs.commands import refusal
from descent.labs.mlp import cohort, diagnosis, inside
from descent.labs.mlp.datasets import EXTENT, featurize, generate, grid
from descent.labs.mlp.fork import Fork, penalty
from descent.labs.mlp.schema import COMMANDS, GRID, Config, ForkArgs, NoArgs, SetWeightArgs
from descent.labs.mlp.scoring import scored
from descent.nn import stats
from descent.nn.activations import ACTIVATIONS, activation_curve
from descent.nn.dropout import Dropout
from descent.nn.initializers import InitParams, linear
from descent.nn.losses import LOSSES
from descent.nn.optimizers import OPTIMIZERS, OptimizerParams
from descent.nn.schedules import ScheduleParams, build_schedule, schedule_curve

DATA_KEYS = {"problem", "dataset", "classes", "noise", "train_ratio", "seed"}
NETWORK_KEYS = {"features", "hidden", "activation", "loss", "dropout", "norm"} | set(InitParams.model_fields)
SCHEDULE_KEYS = {"schedule_steps"} | set(ScheduleParams.model_fields)
# A schedule change rebuilds the optimizer too: both start afresh on the kept network.
OPTIMIZER_KEYS = {"optimizer"} | set(OptimizerParams.model_fields) | SCHEDULE_KEYS
SPIKE = 2.0  # a train loss over twice the last epoch's (and up by 0.01 at least) is a spike
MAX_SPIKES = 20  # the most recent ones are kept
CURVE_POINTS = 500  # at most this many sampled points of the LR curve go to the page


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


def encode_probability(p: torch.Tensor) -> str:
    """Probabilities in [0, 1] -> base64 of uint8 (byte = round(255 p))."""
    return base64.b64encode((p * 255).round().to(torch.uint8).cpu().numpy().tobytes()).decode("ascii")


def class_heatmap(probs: torch.Tensor) -> dict[str, Any]:
    """(GRID^2, classes) softmax probabilities -> the ``ClassHeatmap`` view: argmax class and its probability."""
    confidence, label = probs.max(1)
    return {
        "resolution": GRID,
        "extent": EXTENT,
        "classes": probs.shape[1],
        "encoding": "base64-uint8-class",
        "data": base64.b64encode(label.to(torch.uint8).cpu().numpy().tobytes()).decode("ascii"),
        "confidence": encode_probability(confidence),
    }


def blown_layer(norms: list[float]) -> str:
    """Which layer's gradient blew up in the last step (its per-layer norms): the first not
    finite, else the largest."""
    for i, n in enumerate(norms):
        if not math.isfinite(n):
            return f"layer {i + 1}'s gradient norm was the first to overflow"
    worst = max(range(len(norms)), key=lambda i: norms[i])
    return f"layer {worst + 1} had the largest gradient norm ({norms[worst]:.3g})"


class Lab(BaseLab):
    command_args = COMMANDS
    cost_fields = ("batch_size", "hidden", "features")

    def __init__(self, config: Config, device: torch.device) -> None:
        self.device = device
        self.config = config
        self.resets = 0
        self._build_data()
        self._build_network()

    # ---- building -------------------------------------------------------------------

    def _build_data(self) -> None:
        cfg = self.config
        xy, label = generate(cfg.dataset, cfg.noise / 100, cfg.seed, classes=cfg.classes)
        n_train = cfg.train_size
        self.train_xy, self.train_label = xy[:n_train], label[:n_train]
        self.test_xy, self.test_label = xy[n_train:], label[n_train:]
        if cfg.drawn:  # drawn points join the training data
            drawn = np.asarray(cfg.drawn, dtype=np.float32).reshape(-1, 3)  # (points, [x1, x2, label])
            self.train_xy = np.concatenate([self.train_xy, drawn[:, :2]])
            self.train_label = np.concatenate([self.train_label, drawn[:, 2]])
        self.data_version = getattr(self, "data_version", 0) + 1

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).to(self.device)

    def _eval_data(self) -> None:
        """Both splits as one (``evaluate`` scores them in one pass)."""
        self.x_eval = torch.cat([self.x_train, self.x_test])
        self.y_eval = torch.cat([self.y_train, self.y_test])

    def _build_network(self) -> None:
        cfg = self.config
        self.x_train = self._tensor(featurize(self.train_xy, cfg.features))
        self.y_train = self._tensor(self.train_label)
        self.x_test = self._tensor(featurize(self.test_xy, cfg.features))
        self.y_test = self._tensor(self.test_label)
        self._eval_data()
        # the main heatmap's grid (GRID^2 rows) then the neuron maps' grid (NEURON_GRID^2 rows):
        # one forward pass over both
        self.x_grid = self._tensor(featurize(np.concatenate([grid(GRID), grid(inside.NEURON_GRID)]), cfg.features))
        seeds = stream_seeds(cfg.seed, self.resets)
        self.dropout_rng = torch.Generator(self.device).manual_seed(seeds["dropout"])  # (a cohort draws from it too)
        self.model = build_network(cfg, seeds["init"], self.dropout_rng).to(self.device)
        self._shuffler = torch.Generator().manual_seed(seeds["order"])
        self.linears = [m for m in self.model if isinstance(m, nn.Linear)]
        self.taps = inside.hidden_taps(self.model)
        self.weights = [m.weight for m in self.linears]
        self.loss_fn = LOSSES[cfg.loss].fn
        self.predict = LOSSES[cfg.loss].meta["predict"]
        self.grad_trace = stats.Trace(len(self.weights))
        self._before_step: list[torch.Tensor] = []  # weights before the last step (update ratio)
        self.step_count = 0
        self._build_optimizer()
        self.epoch = 0
        self.diverged = None
        self._batches: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.history = History(("train_loss", "test_loss", "lr"))
        self.fork: Fork | None = None  # a network change ends a fork
        self.spikes: list[dict[str, Any]] = []  # loss spikes, explained (the chart marks them)
        self.watch = diagnosis.Watch()
        self._previous_loss: float | None = None
        self._fork_shown = getattr(self, "_fork_shown", False)
        self._epoch_metrics = self.evaluate()
        self.history.append(0, {**self._epoch_metrics, "lr": self.lr})

    def _build_optimizer(self) -> None:
        cfg = self.config
        self.optimizer = OPTIMIZERS[cfg.optimizer].fn(self.model.parameters(), cfg.learning_rate, cfg)
        self._build_schedule()

    def _build_schedule(self) -> None:
        """(Re)attach the schedule at the current step: the LR jumps onto the new curve there."""
        cfg = self.config
        self.schedule = build_schedule(self.optimizer, cfg, cfg.schedule_steps, start=self.step_count, base_lr=cfg.learning_rate)
        self.curve_version = getattr(self, "curve_version", 0) + 1
        self._curve_sent = -1

    # ---- training -------------------------------------------------------------------

    @property
    def steps_per_epoch(self) -> int:
        return steps_per_epoch(self.config)

    def _new_epoch(self) -> None:
        # the lab's own generator: a run's batch order depends on its seed alone, not on
        # which other sessions share the process (so stepping together equals stepping alone)
        order = torch.randperm(len(self.y_train), generator=self._shuffler).to(self.device)
        bs = self.config.batch_size
        self._batches = list(zip(self.x_train[order].split(bs), self.y_train[order].split(bs)))
        self._batches = self._batches[: self.steps_per_epoch]
        self._batches.reverse()  # pop() from the end is O(1)

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        if not self._batches:
            self._new_epoch()
        return self._batches.pop()

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
            self._before_step = [w.detach().clone() for w in self.weights]
        self.optimizer.step()

    def advance(self, xb: torch.Tensor | None, yb: torch.Tensor | None) -> bool:
        """After a step: the schedule, the fork, the counters and, when the epoch's batches
        are done, its evaluation. True if the run diverged (training stops)."""
        if self.count_step(xb, yb):
            self.close_epoch(self.evaluate(), self.step_count, self.lr, lambda: stats.grad_norms(self.weights))
        return self.diverged is not None

    def count_step(self, xb: torch.Tensor | None, yb: torch.Tensor | None) -> bool:
        """The schedule, the fork and the step counter after a step; True if it ended the
        epoch (its evaluation is due: ``close_epoch``)."""
        self.schedule.step()
        if self.fork and xb is not None:
            self.fork.step(self, xb, yb)
        self.step_count += 1
        return not self._batches

    def cohort_key(self) -> tuple[Any, ...] | None:
        """Labs with equal keys can step together over stacked parameters (cohort.py)."""
        return cohort.key(self)

    @classmethod
    def step_together(cls, labs: list[Lab], n: int) -> None:
        cohort.step_together(labs, n)

    def close_epoch(self, metrics: dict[str, float], step: int, lr: float, grad_norms: Callable[[], list[float]]) -> None:
        """The end of an epoch, evaluated (``metrics``) after step ``step`` at learning rate
        ``lr``: history, spikes, divergence. ``grad_norms``: that step's gradient norms per
        layer (asked for only to explain a spike or a divergence)."""
        self.epoch += 1
        self._epoch_metrics = metrics
        self.history.append(self.epoch, {**metrics, "lr": lr})
        if self.fork:
            self.fork.end_epoch(self)
        loss = metrics["train_loss"]
        if loss is None or not math.isfinite(loss):
            self.diverged = diagnosis.diverged(loss, lr, grad_norms())
        elif self._previous_loss is not None and loss > SPIKE * self._previous_loss and loss - self._previous_loss > 0.01:
            # a spike: marked on the chart with what explains it, while the run goes on
            self.spikes.append({"epoch": self.epoch, "step": step, "lr": lr,
                                "text": f"loss ×{loss / self._previous_loss:.1f} at step {step} (lr {lr:.3g}); {blown_layer(grad_norms())}"})
            del self.spikes[:-MAX_SPIKES]
        self._previous_loss = loss
        self.watch.epoch(metrics, lr, grad_norms, lambda: diagnosis.units_of(self))  # a stall, explained

    @torch.no_grad()
    def evaluate(self, model: nn.Module | None = None) -> dict[str, float]:
        """Losses (and accuracies) of ``model`` (the lab's own by default) on both splits: one
        forward pass over both, in eval mode (dropout off, BatchNorm on its running
        statistics, so each row's output is its own), and one read of the numbers."""
        out, _ = inside.forward_with_taps(model or self.model, self.x_eval, [])
        names, values = scored(out.unsqueeze(0), self.y_eval.unsqueeze(0), len(self.y_train), self.config.problem,
                               lambda o, y: self.loss_fn(o[0], y[0]).unsqueeze(0), self.predict)
        return dict(zip(names, values[0]))

    # ---- changes --------------------------------------------------------------------

    def configure(self, config: Config) -> Rebuilt:
        old, self.config = self.config, config
        changed = {k for k in Config.model_fields if getattr(old, k) != getattr(config, k)}
        if config.problem != "multiclass" and old.problem != "multiclass":
            changed.discard("classes")  # only multiclass data has classes: keep the run
        if changed & DATA_KEYS:
            self._build_data()
        elif "drawn" in changed:  # drawing keeps the network: new training data, training goes on
            self._build_data()
            self.x_train = self._tensor(featurize(self.train_xy, config.features))
            self.y_train = self._tensor(self.train_label)
            self._eval_data()
            self._batches = []
            self._epoch_metrics = self.evaluate()
        if changed & (DATA_KEYS | NETWORK_KEYS):
            self._build_network()
            return "network"
        if "batch_size" in changed:
            self._batches = []  # next step starts a new epoch-order with the new size
        if changed & OPTIMIZER_KEYS:
            self._build_optimizer()
            return "optimizer"
        if "learning_rate" in changed:
            self._build_schedule()  # same schedule from the new base LR; optimizer state kept
        return "none"

    def reset(self) -> None:
        self.resets += 1
        self._build_network()

    def rebuilt(self) -> None:
        """After a restore: the schedules (the run's and a fork's) at the steps they had reached."""
        cfg = self.config
        self.schedule = build_schedule(self.optimizer, cfg, cfg.schedule_steps, start=self.schedule.t, base_lr=cfg.learning_rate)
        if self.fork:
            f = self.fork.config
            self.fork.schedule = build_schedule(self.fork.optimizer, f, f.schedule_steps, start=self.fork.schedule.t, base_lr=f.learning_rate)

    def command_set_weight(self, args: SetWeightArgs) -> dict[str, Any]:
        """A weight or bias typed on the diagram, written into the live model (training goes on from it)."""
        args.check_fits([(m.out_features, m.in_features) for m in self.linears])
        kept = [(m.weight.detach().clone(), m.bias.detach().clone()) for m in self.linears]  # (a few dozen numbers)
        reply = inside.set_parameter(self.linears, args.model_dump(by_alias=True))
        try:
            metrics = self.evaluate()  # the losses shown reflect the edit at once
        except BaseException:  # all or nothing: the edit goes back with the error
            with torch.no_grad():
                for m, (w, b) in zip(self.linears, kept):
                    m.weight.copy_(w)
                    m.bias.copy_(b)
            raise
        self._epoch_metrics = metrics
        return reply

    # ---- reading --------------------------------------------------------------------

    def schedule_view(self) -> dict[str, Any]:
        cfg = self.config
        curve = schedule_curve(cfg, cfg.learning_rate, cfg.schedule_steps)
        steps, lr = _sampled(curve, CURVE_POINTS)
        return {"horizon": cfg.schedule_steps, "steps": steps, "lr": lr}

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def metrics(self) -> dict[str, float | None]:
        return {k: (v if v is None or math.isfinite(v) else None) for k, v in self._epoch_metrics.items()}

    @torch.no_grad()
    def views(self, full: bool) -> dict[str, Any]:
        out, hidden = inside.forward_with_taps(self.model, self.x_grid, self.taps)
        cells = GRID * GRID
        depth = len(self.linears)
        host = stats.on_host([*self.weights, *(m.bias for m in self.linears), *(w.grad for w in self.weights)])
        weights, biases, grads = host[:depth], host[depth: 2 * depth], host[2 * depth:]  # (one host copy on a GPU)
        grad_norms = [stats.norm(g) for g in grads]
        if grads[0] is not None:
            self.grad_trace.record(self.step_count, grad_norms)
        neurons = inside.neuron_maps([a[cells:] for a in hidden])
        if self.config.problem == "multiclass":
            probs = torch.nan_to_num(out, nan=0.0).softmax(1)  # (GRID^2 + NEURON_GRID^2, classes)
            boundary = class_heatmap(probs[:cells])
            neurons["outputs"] = encode_probability(probs[cells:].T.contiguous())  # (classes, cells)
        else:
            boundary = {
                "resolution": GRID,
                "extent": EXTENT,
                "range": (-1.0, 1.0),
                "encoding": "base64-uint8",
                "data": inside.encode_scaled(self.predict(out[:cells]), 1.0),  # (NaN -> 0)
            }
        views: dict[str, Any] = {
            "boundary": boundary,
            "neurons": neurons,
            **inside.weights_view(weights, biases),  # type: ignore[arg-type]
            "grad_norms": grad_norms,
            "layers": [f"layer {i + 1}" for i in range(len(self.weights))],
            "update_ratio": stats.update_ratios(self._before_step, self.weights),
            "grad_trace": self.grad_trace.encode(),
            "histograms": [
                {"weights": stats.histogram(w), "grads": stats.histogram(g if g is not None else np.zeros(0, np.float32))}
                for w, g in zip(weights, grads)
            ],
            "optimizer_state": stats.state_norms(self.optimizer, self.config.optimizer, self.weights),
        }
        if full or self._curve_sent != self.curve_version:
            views["schedule"] = self.schedule_view()
            self._curve_sent = self.curve_version
        if full:
            views["features"] = inside.feature_maps()
            views["activation"] = {"name": self.config.activation, **activation_curve(self.config.activation)}
        views["spikes"] = self.spikes
        views["diagnosis"] = self.watch.view()
        if self.fork or self._fork_shown:  # None once tells the page the fork ended
            views["fork"] = self.fork.view(full) if self.fork else None
            self._fork_shown = self.fork is not None
        if full or getattr(self, "_data_sent", None) != self.data_version:
            views["data"] = {
                "train": _points(self.train_xy, self.train_label),
                "test": _points(self.test_xy, self.test_label),
                "drawn": len(self.config.drawn) // 3,
            }
            self._data_sent = self.data_version
        return views

    # ---- commands -------------------------------------------------------------------

    def command_code(self, args: NoArgs) -> dict[str, Any]:
        """The plain PyTorch script of the current setup (show the code / download)."""
        from descent.labs.mlp.script import render

        return {"filename": "descent_run.py", "script": render(self.config)}

    def command_fork(self, args: ForkArgs) -> dict[str, Any]:
        """Fork here: a second run from this point with ``args.patch`` applied (replaces any
        fork). The fork is built whole from copies before it takes the old one's place."""
        try:
            fork = Fork(self, args.patch.model_dump(exclude_unset=True))
        except ValidationError as e:  # the patched config as a whole (a horizon too short ...)
            raise refusal(e, ("args", "patch"), Config) from None
        self.fork = fork
        return {"label": fork.label}

    def command_unfork(self, args: NoArgs) -> dict[str, Any]:
        self.fork = None
        return {"label": None}


def _sampled(curve: list[float], points: int) -> tuple[list[int], list[float]]:
    """At most ~``points`` evenly spaced samples of ``curve``, keeping its first and last."""
    stride = max(1, math.ceil(len(curve) / points))
    steps = list(range(0, len(curve), stride))
    if steps[-1] != len(curve) - 1:
        steps.append(len(curve) - 1)
    return steps, [curve[i] for i in steps]


def _points(xy: np.ndarray, label: np.ndarray) -> dict[str, list[float]]:
    return {
        "x1": np.round(xy[:, 0], 3).tolist(),
        "x2": np.round(xy[:, 1], 3).tolist(),
        "label": np.round(label, 3).tolist(),
    }
