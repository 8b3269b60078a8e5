"""What a recurrent-lab frame shows, computed at most once per epoch (or change) and cached:
the chosen layer's hidden state, gates and cell state on a held-out sequence, the BPTT view
(||dL/dh_t|| along time), predictions vs targets, the clipping trace and a text sample."""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Protocol

import torch

from descent.encoding import b64
from descent.labs.rnn.bptt import scored_count, sequence_loss
from descent.labs.rnn.model import Recurrent
from descent.labs.rnn.schema import GATES, Config
from descent.labs.rnn.tasks import IGNORE, Task
from descent.labs.rnn.unroll import unroll

BPTT_BATCH = 32  # held-out sequences the BPTT view averages its gradient over
SAMPLE_CHARS = 80  # characters of a sampled text continuation


class Lab(Protocol):
    """What the views read of the lab (lab.py), which builds them."""

    config: Config
    model: Recurrent
    task: Task
    eval_x: torch.Tensor
    eval_y: torch.Tensor
    clip_trace: deque[tuple[int, float, float]]
    layer_names: list[str]
    step_count: int
    resets: int

    def schedule_views(self, full: bool) -> dict[str, Any]: ...




def grid(values: torch.Tensor, low: float | None = None, high: float | None = None) -> dict[str, Any]:
    """(rows, T, units) -> uint8 over [low, high] when bounded, else float16 (NaN stays NaN)."""
    v = values.detach().float().cpu()
    if low is not None and high is not None:
        data = ((torch.nan_to_num(v, nan=low).clamp(low, high) - low) / (high - low) * 255).round().to(torch.uint8).numpy()
        return {"shape": list(v.shape), "encoding": "base64-uint8", "data": b64(data), "low": low, "high": high}
    return {"shape": list(v.shape), "encoding": "base64-float16", "data": b64(v.numpy().astype("<f2"))}


def cut_steps(length: int, bptt: int) -> list[int]:
    """The steps whose incoming state training detaches (the starts of the BPTT chunks after the first)."""
    return list(range(bptt, length, bptt)) if bptt else []


def hidden_gradients(lab: Lab, x: torch.Tensor, y: torch.Tensor) -> tuple[list[list[float | None]], Any]:
    """||dL/dh_t|| per layer and step (forward direction), L the training loss on (x, y), the
    graph cut where training cuts it; and the unrolled network (for the other views)."""
    cfg = lab.config
    with torch.enable_grad():
        run = unroll(lab.model, x, cfg.nonlinearity, set(cut_steps(cfg.length, cfg.bptt)))
        loss = sequence_loss(lab.task, run.logits, y, max(1, scored_count(lab.task, y)))
        flat = [h for layer in run.hidden for h in layer]
        grads = torch.autograd.grad(loss, flat, allow_unused=True)
    norms = [float(torch.linalg.vector_norm(g)) if g is not None else 0.0 for g in grads]
    steps = x.shape[1]
    return [[_finite(n) for n in norms[i * steps : (i + 1) * steps]] for i in range(len(run.hidden))], run


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


class ViewMaker:
    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.stale = True
        self._cached: dict[str, Any] = {}
        self._sample_key: tuple | None = None
        self._sample: str | None = None

    def views(self, full: bool) -> dict[str, Any]:
        lab = self.lab
        if self.stale or not self._cached:
            self._cached = self._compute()
            self.stale = False
        views = {**self._cached, "clip": self._clip_trace(), "layer_grads": lab.layer_names, "sample": self._text_sample()}
        if full:
            views["vocab"] = list(lab.task.vocab)
        views.update(lab.schedule_views(full))  # the planned LR: when it changes, and to a new client
        return views

    def _compute(self) -> dict[str, Any]:
        lab, cfg = self.lab, self.lab.config
        k = cfg.example
        n = max(BPTT_BATCH, k + 1)
        lab.model.eval()
        try:
            norms, run = hidden_gradients(lab, lab.eval_x[:n], lab.eval_y[:n])
        finally:
            lab.model.train()
        layer = cfg.view_layer - 1
        bounded = cfg.cell != "rnn" or cfg.nonlinearity == "tanh"
        inside: dict[str, Any] = {"layer": cfg.view_layer, "gate_names": GATES[cfg.cell],
                                  "hidden": grid(run.outputs[layer][k : k + 1], *((-1.0, 1.0) if bounded else (None, None)))}
        gates = run.gates[layer]
        if gates is not None:
            inside["gates"] = grid(gates[:, k], -1.0, 1.0)
        cells = run.cells[layer]
        if cells is not None:
            inside["cell"] = grid(cells[k : k + 1])
        return {
            "inside": inside,
            "bptt": {"norms": norms, "cuts": cut_steps(cfg.length, cfg.bptt)},
            "prediction": self._prediction(run.logits[k].detach(), k),
        }

    def _prediction(self, logits: torch.Tensor, k: int) -> dict[str, Any]:
        task, x, y = self.lab.task, self.lab.eval_x[k], self.lab.eval_y[k]
        if task.kind == "regression":
            return {"target": [_finite(v) for v in y.tolist()], "output": [_finite(v) for v in logits[:, 0].tolist()],
                    "inputs": x[:, 0].tolist()}
        probs = torch.softmax(logits, -1)
        scored = y != IGNORE
        target = [task.vocab[t] if s else None for t, s in zip(y.tolist(), scored.tolist())]
        output = [task.vocab[i] if s else None for i, s in zip(logits.argmax(-1).tolist(), scored.tolist())]
        confidence = [float(probs[t, int(y[t])]) if s else None for t, s in enumerate(scored.tolist())]
        if task.name == "parity":
            inputs = [str(int(v)) for v in x[:, 0].tolist()]
        else:
            inputs = [task.input_vocab[i] for i in x[:, : len(task.vocab)].argmax(-1).tolist()]
        return {"target": target, "output": output, "confidence": confidence, "inputs": inputs}

    def _clip_trace(self) -> dict[str, Any]:
        trace = list(self.lab.clip_trace)
        return {"step": [s for s, _, _ in trace], "before": [_finite(b) for _, b, _ in trace], "after": [_finite(a) for _, _, a in trace]}

    def _text_sample(self) -> str | None:
        """text: a continuation of the held-out example, sampled at the temperature (once per epoch)."""
        lab, cfg = self.lab, self.lab.config
        if lab.task.name != "text":
            return None
        key = (lab.step_count, cfg.temperature, cfg.example, lab.resets)
        if key != self._sample_key:
            self._sample_key, self._sample = key, sample_text(lab, SAMPLE_CHARS)
        return self._sample


@torch.no_grad()
def sample_text(lab: Lab, chars: int) -> str:
    """Read the held-out example, then sample ``chars`` characters one at a time, each fed back
    in, from softmax(logits / temperature); seeded by the run and its step (reproducible)."""
    cfg, task = lab.config, lab.task
    generator = torch.Generator().manual_seed(cfg.seed * 7919 + lab.step_count)
    lab.model.eval()
    try:
        logits, state = lab.model(lab.eval_x[cfg.example : cfg.example + 1])
        out: list[int] = []
        for _ in range(chars):
            probs = torch.softmax(logits[0, -1].float().cpu() / cfg.temperature, -1)
            if not bool(torch.isfinite(probs).all()):
                break
            out.append(int(torch.multinomial(probs, 1, generator=generator)))
            x = torch.zeros(1, 1, task.features, device=lab.eval_x.device)
            x[0, 0, out[-1]] = 1.0
            logits, state = lab.model(x, state)
    finally:
        lab.model.train()
    return "".join(task.vocab[i] for i in out)
