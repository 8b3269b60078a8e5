"""The convolution lab: a small CNN (or an MLP on the same pixels) trained live on image data,
its filters and feature maps shown."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from descent.history import History
from descent.labs.base import Lab as BaseLab
from descent.labs.base import Rebuilt
from descent.labs.cnn import views
from descent.labs.cnn.blocks import multiply_adds, parameter_count
from descent.labs.cnn.datasets import DATASETS, load
from descent.labs.cnn.network import Network, layers_of
from descent.labs.cnn.schema import COMMANDS, COMPARABLE, PRESETS, Config, NoArgs, PredictArgs
from descent.labs.commands import CommandError

DATA_KEYS = {"dataset"}
NETWORK_KEYS = {"dataset", "blocks", "activation", "seed", "init", "init_scale", "init_value"}
WRONG = 8  # the most confidently wrong test images shown


class Lab(BaseLab[Config]):
    command_args = COMMANDS
    comparable = COMPARABLE
    cost_fields = ("batch_size", "blocks", "dataset")
    transient = ("train_x", "train_y", "test_x", "test_y")

    def __init__(self, config: Config, device: torch.device) -> None:
        super().__init__(config, device)
        self.resets = 0
        self._load_data()
        self._build_network()

    @classmethod
    def parameter_count(cls, config: Config) -> int:
        return parameter_count(layers_of(config))

    @classmethod
    def step_work(cls, config: Config) -> float:
        """Multiply-adds of one step: the forward of one image (by formula, blocks.multiply_adds)
        times the batch, and the backward about twice that."""
        return 3.0 * config.batch_size * multiply_adds(layers_of(config))

    # ---- building -------------------------------------------------------------------

    def _load_data(self) -> None:
        train_x, train_y, test_x, test_y = load(self.config.dataset)
        to = lambda a: torch.from_numpy(a).to(self.device)  # noqa: E731
        self.train_x, self.train_y = to(train_x).unsqueeze(1), to(train_y)
        self.test_x, self.test_y = to(test_x).unsqueeze(1), to(test_y)

    def _build_network(self) -> None:
        cfg = self.config
        self.layers = layers_of(cfg)
        init_rng = torch.Generator().manual_seed(cfg.seed * 1009 + self.resets)
        self.order_rng = torch.Generator().manual_seed(cfg.seed * 7919 + self.resets)
        self.model = Network(self.layers, cfg.activation, cfg, init_rng).to(self.device)
        self.step_count = 0
        self.epoch = 0
        self.diverged = None
        self.twin = None  # a new network ends a second run
        self._order = torch.randperm(len(self.train_y), generator=self.order_rng)
        self._epoch_loss = torch.zeros((), device=self.device)
        self._epoch_right = torch.zeros((), device=self.device)
        self.grad_rows = [row for row, layer in enumerate(self.layers) if views.has_weights(layer)]
        series = ("train_loss", "test_loss", "train_accuracy", "test_accuracy", "lr")
        self.history = History((*series, *(views.grad_key(r) for r in self.grad_rows)))
        self._grad_norms: list[float | None] = [None] * len(self.grad_rows)
        self.build_optimizer(self.model.parameters())
        self._evaluate(train_loss=None, train_accuracy=None)

    # ---- training -------------------------------------------------------------------

    @property
    def steps_per_epoch(self) -> int:
        return max(1, len(self.train_y) // self.config.batch_size)

    def step(self, n: int) -> None:
        self.model.train()
        self.counted_steps(n, self._train_step)

    def _train_step(self) -> None:
        b = self.config.batch_size
        at = (self.step_count % self.steps_per_epoch) * b
        index = self._order[at : at + b].to(self.device)
        x, y = self.train_x[index], self.train_y[index]
        logits, _ = self.model(x)
        loss = F.cross_entropy(logits, y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step_schedule()
        self._epoch_loss += loss.detach() * len(y)
        self._epoch_right += (logits.detach().argmax(-1) == y).sum()

    def _layer_grad_norms(self) -> list[float | None]:
        """The gradient norm of each layer with weights (all its parameters together), last step."""
        norms = []
        for row in self.grad_rows:
            grads = [p.grad for p in self.model.blocks[row].parameters() if p.grad is not None]
            norms.append(float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))) if grads else None)
        return norms

    def end_epoch(self) -> None:
        self.epoch += 1
        seen = self.steps_per_epoch * self.config.batch_size
        train_loss = float(self._epoch_loss) / seen
        train_accuracy = float(self._epoch_right) / seen
        self._epoch_loss.zero_()
        self._epoch_right.zero_()
        self._order = torch.randperm(len(self.train_y), generator=self.order_rng)
        self._grad_norms = self._layer_grad_norms()
        self._evaluate(train_loss, train_accuracy)
        if not math.isfinite(train_loss):
            self.diverged = f"train loss became {train_loss} at epoch {self.epoch}"

    @torch.no_grad()
    def _evaluate(self, train_loss: float | None, train_accuracy: float | None) -> None:
        """Test loss and accuracy, the confusion matrix and the worst mistakes; a history point."""
        self.model.eval()
        logits, _ = self.model(self.test_x)
        self.model.train()
        loss = float(F.cross_entropy(logits, self.test_y))
        probs = torch.softmax(logits, -1)
        predicted = probs.argmax(-1)
        classes = len(DATASETS[self.config.dataset].classes)
        self.confusion = torch.bincount(self.test_y * classes + predicted, minlength=classes * classes).view(classes, classes).tolist()
        confidence = probs.max(-1).values.masked_fill(predicted == self.test_y, -1.0)
        worst = confidence.argsort(descending=True)[:WRONG]
        self.wrong = [
            {"index": int(i), "label": int(self.test_y[i]), "predicted": int(predicted[i]), "p": round(float(confidence[i]), 3),
             "image": views.image_bytes(self.test_x[i, 0])}
            for i in worst.tolist() if confidence[i] >= 0
        ]
        self.epoch_metrics = {
            "train_loss": train_loss,
            "test_loss": loss if math.isfinite(loss) else None,
            "train_accuracy": train_accuracy,
            "test_accuracy": float((predicted == self.test_y).float().mean()),
        }
        grads = dict(zip((views.grad_key(r) for r in self.grad_rows), self._grad_norms))
        self.history.append(self.epoch, {**self.epoch_metrics, "lr": self.lr, **grads})

    # ---- changes --------------------------------------------------------------------

    def reconfigure(self, old: Config, changed: set[str]) -> Rebuilt:
        if changed & DATA_KEYS:
            self._load_data()
        if changed & NETWORK_KEYS:
            self._build_network()
            return "network"
        return self.retrain(changed, self.model.parameters())

    def reset(self) -> None:
        self.resets += 1
        self._build_network()

    def rebuilt(self) -> None:
        """After a restore: the data (left out of snapshots) and the schedule at its step."""
        self._load_data()
        super().rebuilt()

    # ---- reading --------------------------------------------------------------------

    @torch.no_grad()
    def _predict(self, image: torch.Tensor, label: int | None) -> dict[str, Any]:
        """(S, S) image -> its prediction and feature maps (eval mode, then train mode back)."""
        self.model.eval()
        try:
            logits, outputs = self.model(image[None, None], keep=True)
        finally:
            self.model.train()
        return views.prediction(image, label, logits[0], outputs, self.layers, self.config.show)

    def views(self, full: bool, detail: bool = True) -> dict[str, Any]:
        k = self.config.example
        data = DATASETS[self.config.dataset]
        rows = views.shown(self.config.show, self.layers)
        filters = [views.encode(w, row) for row in rows if (w := self.model.first_filters(row)) is not None]
        return {
            "layers": views.layer_rows(self.layers),
            "filters": filters,
            "example": self._predict(self.test_x[k, 0], int(self.test_y[k])),
            "confusion": self.confusion,
            "wrong": self.wrong,
            "classes": list(data.classes),
            "size": data.size,
            "parameters": parameter_count(self.layers),
            **self.fork_views(full),
        }

    def change_words(self, key: str, value: Any) -> str:
        """A preset network by its name ('MLP on pixels'), other settings as usual."""
        preset = next((p["label"] for p in PRESETS.values() if key == "blocks" and p["blocks"] == value), None)
        return preset or super().change_words(key, value)

    # ---- commands -------------------------------------------------------------------

    def command_predict(self, args: PredictArgs) -> dict[str, Any]:
        """The network on a drawn image (it changes nothing)."""
        size = DATASETS[self.config.dataset].size
        pixels = args.pixels
        if len(pixels) != size * size:
            raise CommandError(f"args.pixels: {len(pixels)} values; this dataset's images are {size}x{size}, so {size * size} values in [0, 1]", ["args", "pixels"])
        bad = next((i for i, v in enumerate(pixels) if not 0 <= v <= 1), None)
        if bad is not None:
            raise CommandError(f"args.pixels[{bad}]: {pixels[bad]:g} is out of range; allowed [0, 1]", ["args", "pixels", bad])
        image = torch.tensor(pixels, dtype=torch.float32, device=self.device).view(size, size)
        return self._predict(image, None)

    def command_code(self, args: NoArgs) -> dict[str, Any]:
        """The plain PyTorch script of the current setup (show the code / download)."""
        from descent.labs.cnn.script import FILENAME, render

        return {"filename": FILENAME, "script": render(self.config)}
