"""The attention lab: a tiny transformer trained live on a toy task, its attention maps shown."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from descent.history import Cursor, History
from descent.labs.attention import cost
from descent.labs.attention.maps import encode_weights, head_entropy, to_bytes
from descent.labs.attention.model import Transformer, masked_loss
from descent.labs.attention.schema import COMMANDS, EPOCH_STEPS, Config, ProbeArgs
from descent.labs.attention.tasks import IGNORE, Task, make_task
from descent.labs.attention.timelapse import Timelapse
from descent.labs.base import Lab as BaseLab
from descent.labs.base import Rebuilt

TASK_KEYS = {"task", "length", "symbols", "seed"}
NETWORK_KEYS = {"layers", "heads", "d_model", "ffn", "positional", "causal", "norm", "ffn_activation"}
EVAL_SIZE = 128  # held-out sequences scored at the end of every epoch
SAMPLES = 6  # held-out examples shown as input -> output
CONTINUATION = 24  # tokens a probe of a next-token task generates
TIMELAPSE_BYTES = 512 * 1024  # per session: 48 frames of small maps, fewer of big ones


class Lab(BaseLab[Config]):
    command_args = COMMANDS
    curve_points = 200  # the planned LR curve is sent at this many points

    def __init__(self, config: Config, device: torch.device) -> None:
        super().__init__(config, device)
        self.resets = 0
        self._build_task()
        self._build_network()

    @classmethod
    def parameter_count(cls, config: Config) -> int:
        """Trainable parameters of the transformer ``config`` builds (see cost.py)."""
        return cost.parameter_count(config)

    cost_fields = ("batch_size", "length", "d_model", "ffn", "layers")

    @classmethod
    def step_work(cls, config: Config) -> float:
        """Multiply-adds of one training step (see cost.py)."""
        return cost.step_work(config)

    # ---- building -------------------------------------------------------------------

    def _build_task(self) -> None:
        cfg = self.config
        self.task: Task = make_task(cfg.task, cfg.length, cfg.symbols)
        tokens, targets = self.task.generate(np.random.default_rng([cfg.seed, 1]), EVAL_SIZE, True)
        self.eval_tokens = torch.from_numpy(tokens).to(self.device)
        self.eval_targets = torch.from_numpy(targets).to(self.device)

    def _build_network(self) -> None:
        cfg, task = self.config, self.task
        # the run's own random streams (never torch's global one, which every session of the
        # worker shares): the initial weights, the dropout masks, the training batches
        init_rng = torch.Generator().manual_seed(cfg.seed * 1009 + self.resets)
        dropout_rng = torch.Generator(self.device).manual_seed(cfg.seed * 6007 + self.resets + 1)
        self.rng = np.random.default_rng([cfg.seed, 2, self.resets])
        self.model = Transformer(
            vocab=len(task.vocab),
            max_len=task.seq_len,
            d_model=cfg.d_model,
            heads=cfg.heads,
            layers=cfg.layers,
            ffn=cfg.ffn,
            positional=cfg.positional,
            activation=cfg.ffn_activation,
            dropout=cfg.dropout,
            pre_norm=cfg.norm == "pre",
            causal=cfg.causal,
            init_rng=init_rng,
            dropout_rng=dropout_rng,
        ).to(self.device)
        self.step_count = 0
        self.epoch = 0
        self.build_optimizer(self.model.parameters())
        self.diverged = None
        self._epoch_losses: list[torch.Tensor] = []
        self.head_names = [f"entropy_{layer + 1}_{h + 1}" for layer in range(cfg.layers) for h in range(cfg.heads)]
        series = ("train_loss", "test_loss", "test_accuracy", "sequence_accuracy", "perplexity", "lr")
        self.history = History((*series, *self.head_names))
        frame = cfg.layers * cfg.heads * task.seq_len**2  # bytes of one time-lapse frame
        self.timelapse = Timelapse(cap=max(8, min(48, TIMELAPSE_BYTES // frame)))
        self._timelapse_sent = Cursor()
        self.epoch_metrics = self._evaluate(train_loss=None)
        self._record()

    # ---- training -------------------------------------------------------------------

    @property
    def steps_per_epoch(self) -> int:
        return EPOCH_STEPS

    def step(self, n: int) -> None:
        self.model.train()
        self.counted_steps(n, self._train_step)

    def _train_step(self) -> None:
        tokens, targets = self.task.generate(self.rng, self.config.batch_size, False)
        logits, _ = self.model(torch.from_numpy(tokens).to(self.device))
        loss = masked_loss(logits, torch.from_numpy(targets).to(self.device))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step_schedule()
        self._epoch_losses.append(loss.detach())

    def end_epoch(self) -> None:
        self.epoch += 1
        train_loss = float(torch.stack(self._epoch_losses).mean())
        self._epoch_losses = []
        self.epoch_metrics = self._evaluate(train_loss)
        self._record()
        if not math.isfinite(train_loss):
            self.diverged = f"train loss became {train_loss} at epoch {self.epoch}"

    @torch.no_grad()
    def _evaluate(self, train_loss: float | None) -> dict[str, float | None]:
        self.model.eval()
        logits, maps = self.model(self.eval_tokens)
        self.model.train()
        loss = float(masked_loss(logits, self.eval_targets))
        scored = self.eval_targets != IGNORE
        right = (logits.argmax(-1) == self.eval_targets) | ~scored
        finite = math.isfinite(loss)
        self._entropy = head_entropy(maps).flatten().tolist() if finite else [None] * len(self.head_names)
        return {
            "train_loss": train_loss,
            "test_loss": loss if finite else None,
            "test_accuracy": float(right[scored].float().mean()),
            "sequence_accuracy": float(right.all(dim=1).float().mean()),
            # exp of the mean cross-entropy per scored token, in nats: the model is as unsure as a
            # uniform choice among this many tokens
            "perplexity": math.exp(loss) if finite and loss < 700 else None,
        }

    def _record(self) -> None:
        """History point and time-lapse frame for the current epoch."""
        values = {**self.epoch_metrics, "lr": self.lr, **dict(zip(self.head_names, self._entropy))}
        self.history.append(self.epoch, values)
        self._capture()

    def _capture(self) -> None:
        maps, _ = self._example_maps()
        self.timelapse.add(self.epoch, to_bytes(maps))

    # ---- changes --------------------------------------------------------------------

    def reconfigure(self, old: Config, changed: set[str]) -> Rebuilt:
        config = self.config
        if changed & TASK_KEYS:
            self._build_task()
        if changed & (TASK_KEYS | NETWORK_KEYS):
            self._build_network()
            return "network"
        if "dropout" in changed:  # a rate, not a shape: set it in place
            for module in self.model.modules():
                if isinstance(module, torch.nn.Dropout):
                    module.p = config.dropout
        if "example" in changed:
            self.timelapse.clear()  # its frames show the old example
            self._capture()
        return self.retrain(changed, self.model.parameters())

    def reset(self) -> None:
        self.resets += 1
        self._build_network()

    transient = ("task",)  # (its generators are closures)

    def rebuilt(self) -> None:
        """After a restore: the task, and the schedule at the step it had reached."""
        cfg = self.config
        self.task = make_task(cfg.task, cfg.length, cfg.symbols)
        super().rebuilt()

    # ---- reading --------------------------------------------------------------------

    @torch.no_grad()
    def _run(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Eval-mode forward: (B, T) -> logits (B, T, V), maps (L, B, H, T, T)."""
        self.model.eval()
        try:
            return self.model(tokens)
        finally:
            self.model.train()

    def _example_maps(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The chosen example's maps (L, H, T, T) and logits (T, V)."""
        k = self.config.example
        logits, maps = self._run(self.eval_tokens[k : k + 1])
        return maps[:, 0], logits[0]

    def _maps_view(self, maps: torch.Tensor | np.ndarray, ids: list[int]) -> dict[str, Any]:
        return {
            "shape": list(maps.shape),
            "encoding": "base64-uint8",
            "data": encode_weights(maps),
            "tokens": [self.task.vocab[i] for i in ids],
        }

    def _ideal_view(self, ids: list[int]) -> str | None:
        ideal = self.task.ideal(ids)
        return None if ideal is None else encode_weights(torch.from_numpy(ideal))

    def views(self, full: bool, detail: bool = True) -> dict[str, Any]:
        n = max(SAMPLES, self.config.example + 1)
        logits, maps = self._run(self.eval_tokens[:n])
        predictions = logits.argmax(-1)  # (n, T)
        k = self.config.example
        ids = self.eval_tokens[k].tolist()
        vocab = self.task.vocab
        views: dict[str, Any] = {
            "maps": self._maps_view(maps[:, k], ids),
            "ideal": self._ideal_view(ids),
            "scored": (self.eval_targets[k] != IGNORE).tolist(),
            "predictions": [vocab[i] for i in predictions[k].tolist()],
            "samples": [self._sample(i, predictions[i]) for i in range(SAMPLES)],
            "heads": self.head_names,
        }
        if full:
            self._timelapse_sent = Cursor()
            views["vocab"] = list(vocab)
        views["timelapse"] = self.timelapse.since(self._timelapse_sent)
        views.update(self.schedule_views(full))
        return views

    def _sample(self, i: int, predicted: torch.Tensor) -> dict[str, Any]:
        vocab, targets = self.task.vocab, self.eval_targets[i]
        scored = targets != IGNORE
        ids = self.eval_tokens[i].tolist()
        output = "".join(vocab[t] for t in predicted[scored].tolist())
        target = "".join(vocab[t] for t in targets[scored].tolist())
        return {"input": "".join(vocab[t] for t in ids[: self.task.input_len]), "output": output, "target": target, "correct": output == target}

    # ---- commands -------------------------------------------------------------------

    def command_probe(self, args: ProbeArgs) -> dict[str, Any]:
        """Run the model on a typed input: its maps, its per-position predictions and its
        answer. (It changes nothing: the eval-mode forward puts train mode back.)"""
        text = args.tokens
        task = self.task
        ids, answer = task.complete(task.ids(text))
        logits, maps = self._run(torch.tensor([ids], device=self.device))
        predicted = [task.vocab[i] for i in logits[0].argmax(-1).tolist()]
        output = "".join(predicted[i] for i in answer)
        reply = {
            "input": text,
            "maps": self._maps_view(maps[:, 0], ids),
            "ideal": self._ideal_view(ids),
            "predictions": predicted,
            "output": output,
            "answer": answer,
        }
        if task.causal_only:  # next-token tasks: let the model go on by itself
            reply["continuation"] = "".join(task.vocab[i] for i in self._generate(ids, CONTINUATION))
        return reply

    def _generate(self, ids: list[int], steps: int) -> list[int]:
        """Greedy continuation, each token read from the last seq_len tokens (the trained context)."""
        out: list[int] = []
        window = list(ids)
        for _ in range(steps):
            logits, _ = self._run(torch.tensor([window[-self.task.seq_len :]], device=self.device))
            out.append(int(logits[0, -1].argmax()))
            window.append(out[-1])
        return out
