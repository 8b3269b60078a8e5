"""Cross-session batching: playground runs of one shape step together.

A class running the same preset holds many networks of identical shape. Stepped one by one,
each tiny step is mostly interpreter and dispatch overhead (bench/step.py); stacked, S
networks' weights become (S, out, in) tensors and one ``baddbmm`` per layer, one autograd
call and one update step them all (bench/batching.py measures the cost per session).

Each run keeps its own everything else: batch order and dropout masks (drawn from its own
generators, in the order stepping alone draws them), learning rate and schedule, counters,
epoch-end evaluation, divergence. Results equal stepping each alone, up to float rounding
(tests/test_cohort.py).

Who qualifies (``key``): an optimizer with an update rule over stacked runs (stacked.py's
``RULES``: every optimizer has one; their state is stacked too), no BatchNorm/LayerNorm,
no fork; the key holds everything the batched computation depends on. A run
whose current batch is short (the last of an epoch when the batch size does not divide the
data) takes that one step alone, on its own network, inside the same loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from descent.labs.mlp.penalty import penalty
from descent.labs.mlp.scoring import scored
from descent.labs.mlp.stack import Stack, rule_of
from descent.labs.mlp.training import Training as Lab
from descent.nn import stats
from descent.nn.activations import ACTIVATIONS
from descent.nn.losses import LOSSES
from descent.nn.optimizers import OPTIMIZERS

SCORE_ROWS = 200_000  # rows (runs x evaluation rows) per batched scoring pass at most


def key(lab: Lab) -> tuple[Any, ...] | None:
    cfg = lab.config
    if lab.fork or rule_of(cfg) is None or cfg.norm != "none":
        return None
    hyper = tuple(getattr(cfg, name) for name in OPTIMIZERS[cfg.optimizer].meta["uses"])  # (weight decay among them)
    return ("mlp", str(lab.device), tuple(cfg.features), tuple(cfg.hidden), cfg.outputs, cfg.activation, cfg.loss,
            cfg.problem, cfg.batch_size, cfg.optimizer, hyper, cfg.regularization, cfg.regularization_rate, cfg.dropout)


@dataclass
class EpochEnd:
    """An epoch a run ended inside a batched call: scored after the call, with the others'."""

    run: int  # index into the call's labs
    step: int
    lr: float
    flat: torch.Tensor  # its weights and biases then (a copy of its row of Stack.flat)
    grads: torch.Tensor | list[torch.Tensor | None]  # its last step's gradients: a copy of its (1, P) row (Stack.grads_copy)
    stack: Stack

    def grad_list(self) -> list[torch.Tensor | None]:
        """The last step's gradients, weights then biases (seen per parameter only when asked:
        an epoch end is one copy of a row, not one per parameter)."""
        return self.grads if isinstance(self.grads, list) else [g[0] for g in self.stack.views(self.grads)]

    def grad_norms(self) -> list[float]:
        """The last step's gradient norm per layer (asked for only to explain a spike or a divergence)."""
        grads = self.grad_list()
        return stats.norms(grads[: len(grads) // 2])


def step_together(labs: list[Lab], n: int) -> None:
    """``n`` steps of every lab in ``labs`` (equal ``key``s). The epochs that end on the way
    are scored after the last step, all in one batched pass; a run whose loss turns out to
    have diverged at one of them is put back to that point, where stepping alone would have
    stopped it (tests/test_cohort.py)."""
    cfg = labs[0].config
    stack = Stack(labs)
    activation = ACTIVATIONS[cfg.activation].fn()
    loss_fn = LOSSES[cfg.loss].fn
    squash = cfg.problem == "classification" and not LOSSES[cfg.loss].meta["logits"]
    before = [lab.before_step for lab in labs]  # (a run put back gets its own back)
    ends: list[EpochEnd] = []
    for t in range(n):
        last = t == n - 1
        full: list[tuple[int, int, int]] = []  # (run, its batch's rows [start, end))
        for s, lab in enumerate(labs):
            start, stop = lab.next_rows()
            if stop - start == cfg.batch_size:
                full.append((s, start, stop))
            else:  # a short batch: this step alone
                stack.write_back(s)
                lab.descend(lab.epoch_x[start:stop], lab.epoch_y[start:stop], snapshot=last)
                stack.read(s)
        if full:
            rows = [s for s, _, _ in full]
            if last:
                for s in rows:
                    labs[s].before_step = [w[s].clone() for w in stack.weights]
            masks = _dropout_masks([labs[s] for s in rows], cfg)
            flat_grads = _descend(stack, rows, full, activation, loss_fn, squash, cfg, masks)
            for row, s in enumerate(rows):
                stack.grads[s] = (flat_grads, row)
        for s, lab in enumerate(labs):
            if lab.count_step():  # (no fork in a cohort: it needs no batch)
                ends.append(EpochEnd(s, lab.step_count, lab.lr, stack.flat[s].clone(), stack.grads_copy(s), stack))
    for s in range(len(labs)):
        stack.write_back(s)
    stopped: set[int] = set()
    for end, metrics in zip(ends, _scores(stack, ends, activation, squash)):
        lab = labs[end.run]
        if end.run in stopped:
            continue
        lab.close_epoch(metrics, end.step, end.lr, end.grad_norms)
        if lab.diverged:
            stopped.add(end.run)
            _stop_at(lab, end, stack.views(end.flat.unsqueeze(0)), before[end.run])


def _stop_at(lab: Lab, end: EpochEnd, params: list[torch.Tensor], before_step: list[torch.Tensor]) -> None:
    """A run that diverged at ``end`` takes back what it did after it: weights, gradients,
    step count, learning rate and update snapshot (``before_step``: its snapshot before the
    call) are those it stopped at. (Not its optimizer state: a diverged run trains no more
    until its network is rebuilt, with a new optimizer.)"""
    depth = len(lab.linears)  # (params: its weights then biases at ``end``, each (1, ...))
    grads = end.grad_list()
    for i, linear in enumerate(lab.linears):
        linear.weight.data.copy_(params[i][0])
        linear.bias.data.copy_(params[depth + i][0])
        linear.weight.grad, linear.bias.grad = grads[i], grads[depth + i]
    lab.stop_at(end.step, end.lr, before_step)


@torch.no_grad()
def _scores(stack: Stack, ends: list[EpochEnd], activation: Any, squash: bool) -> list[dict[str, float]]:
    """The metrics of every epoch end in ``ends``: the runs' weights at that point stacked,
    one forward pass over their evaluation data per data size (a class shares one), one
    host read."""
    if not ends:
        return []
    labs = stack.labs
    cfg = labs[0].config
    fn = LOSSES[cfg.loss].fn
    vmapped = torch.vmap(fn)

    def loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """(runs, rows, outputs), (runs, rows) -> each run's loss (vmap costs as much as 4 plain calls)."""
        return vmapped(out, y) if len(out) >= 4 else torch.stack([fn(o, t) for o, t in zip(out, y)])

    predict = LOSSES[cfg.loss].meta["predict"]
    groups: dict[tuple[int, int], list[int]] = {}
    for i, end in enumerate(ends):
        lab = labs[end.run]
        groups.setdefault((len(lab.y_train), len(lab.y_eval)), []).append(i)
    scores: list[dict[str, float]] = [{}] * len(ends)
    for (n_train, rows), members in groups.items():
        size = max(1, SCORE_ROWS // rows)
        for chunk in (members[i: i + size] for i in range(0, len(members), size)):
            x = torch.stack([labs[ends[i].run].x_eval for i in chunk])
            y = torch.stack([labs[ends[i].run].y_eval for i in chunk])
            flat = torch.stack([ends[i].flat for i in chunk])
            if stack.fused is not None:  # (numpy, as its steps: fused.py)
                names, values = stack.fused.scores(flat.numpy(), x.numpy(), y.numpy(), n_train)
            else:
                out = _layers(stack.views(flat), x, activation)[-1]
                names, values = scored(out.tanh() if squash else out, y, n_train, cfg.problem, loss, predict)
            for i, run in zip(chunk, values):
                scores[i] = dict(zip(names, run))
    return scores


def _dropout_masks(labs: list[Lab], cfg: Any) -> list[torch.Tensor] | None:
    """Each run's dropout masks for a step, kept units scaled by 1 / (1 - p) (None without
    dropout): drawn from its own generator as its own forward pass draws them (dropout.py),
    layer by layer, then stacked: (runs, batch, width) per hidden layer."""
    if cfg.dropout == 0:
        return None
    keep = 1 - cfg.dropout
    device = labs[0].x_train.device
    return [torch.stack([torch.empty(cfg.batch_size, width, device=device).bernoulli_(keep, generator=lab.dropout_rng)
                         for lab in labs]).div_(keep) for width in cfg.hidden]


def _descend(stack: Stack, rows: list[int], batch: list[tuple[int, int, int]], activation: Any, loss_fn: Any,
             squash: bool, cfg: Any, masks: list[torch.Tensor] | None) -> torch.Tensor:
    """One step of the stacked runs ``rows`` on their batches (the optimizer's stacked
    rule), with their dropout ``masks``; returns the gradients, (len(rows), P) in the flat
    layout."""
    every = len(rows) == len(stack.labs)
    index = None if every else torch.tensor(rows, device=stack.flat.device)
    if every and stack.fused is not None:  # (numpy: fused.py, on the epochs' host views)
        g = stack.fused.gradients(*_host_batches(stack.labs, batch))
    else:
        g = _gradients(stack, index, batch, activation, loss_fn, squash, cfg, masks)
    if stack.rule.counts_steps:
        for s in rows:
            stack.steps[s] += 1
    if every and stack.fused is not None and stack.rule.numpy is not None:  # (the update in numpy too: stacked.py)
        stack.rule.numpy(stack.fused.flat, stack.fused.flat_grad, stack.numpy_state(), [lab.lr for lab in stack.labs],
                         stack.steps, cfg)
        return g
    lr = stack.rates([stack.labs[s].lr for s in rows])
    step = None
    if stack.rule.counts_steps:
        step = torch.tensor([stack.steps[s] for s in rows], dtype=torch.float64, device=g.device)
    # (no autograd here: neither the flat weights nor the gradients require grad)
    if index is None:
        stack.rule.update(stack.flat, g, stack.state, lr, step, cfg)
    else:
        mine, own = stack.flat.index_select(0, index), {k: v.index_select(0, index) for k, v in stack.state.items()}
        stack.rule.update(mine, g, own, lr, step, cfg)
        stack.flat.index_copy_(0, index, mine)
        for k, v in own.items():
            stack.state[k].index_copy_(0, index, v)
    return g


def _host_batches(labs: list[Lab], batch: list[tuple[int, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """The runs' batches stacked from their epochs' host views: (k, batch, features), (k, batch)."""
    xs, ys = [], []
    for s, a, b in batch:
        host = labs[s].epoch_numpy
        assert host is not None  # (the fused step runs on the CPU)
        xs.append(host[0][a:b])
        ys.append(host[1][a:b])
    return np.stack(xs), np.stack(ys)


def _gradients(stack: Stack, index: torch.Tensor | None, batch: list[tuple[int, int, int]], activation: Any,
               loss_fn: Any, squash: bool, cfg: Any, masks: list[torch.Tensor] | None) -> torch.Tensor:
    """The runs' gradients in torch (by hand where the activation and loss allow, else by
    autograd), (runs, P) in the flat layout."""
    labs = stack.labs
    x = torch.stack([labs[s].epoch_x[a:b] for s, a, b in batch])  # (k, batch, features)
    y = torch.stack([labs[s].epoch_y[a:b] for s, a, b in batch])  # (k, batch)
    slope, error = ACTIVATIONS[cfg.activation].meta.get("slope"), LOSSES[cfg.loss].meta.get("error")
    if slope is not None and error is not None:
        params = [p if index is None else p.index_select(0, index) for p in stack.params()]
        grads = _by_hand(params, x, y, activation, slope, error, squash, cfg, masks)
    else:
        params = [(p if index is None else p.index_select(0, index)).detach().requires_grad_() for p in stack.params()]
        grads = _by_autograd(params, x, y, activation, loss_fn, squash, cfg, masks)
    with torch.no_grad():
        return torch.cat([g.reshape(len(x), -1) for g in grads], 1)


def _layers(params: list[torch.Tensor], x: torch.Tensor, activation: Any,
            masks: list[torch.Tensor] | None = None) -> list[torch.Tensor]:
    """The stacked runs' forward pass: [x, each layer's output] (the last before any squash;
    the hidden ones after dropout by ``masks``, if any)."""
    return _forward(params, x, activation, masks)[0]


def _forward(params: list[torch.Tensor], x: torch.Tensor, activation: Any,
             masks: list[torch.Tensor] | None) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """``_layers``' outputs, and each hidden layer's activations before dropout (what the
    activation's slope is a function of)."""
    depth = len(params) // 2
    outputs, activations = [x], []
    for i in range(depth):
        h = torch.baddbmm(params[depth + i].unsqueeze(1), outputs[-1], params[i].transpose(1, 2))
        if i < depth - 1:
            h = activation(h)
            activations.append(h)
            if masks is not None:
                h = h * masks[i]
        outputs.append(h)
    return outputs, activations


def _by_autograd(params: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor, activation: Any, loss_fn: Any, squash: bool,
                 cfg: Any, masks: list[torch.Tensor] | None) -> list[torch.Tensor]:
    """Gradients of every stacked run's loss (weights then biases) by one autograd call."""
    weights = params[: len(params) // 2]
    h = _layers(params, x, activation, masks)[-1]
    if squash:
        h = h.tanh()
    k, batch = y.shape
    # mean over all k*batch rows times k = the sum of each run's own mean loss: each run's
    # gradient is then its own (the runs share no parameter)
    loss = loss_fn(h.reshape(k * batch, -1), y.reshape(-1)) * k + penalty(cfg, weights)
    return list(torch.autograd.grad(loss, params))


@torch.no_grad()
def _by_hand(params: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor, activation: Any, slope: Any, error: Any,
             squash: bool, cfg: Any, masks: list[torch.Tensor] | None) -> list[torch.Tensor]:
    """The same gradients without autograd, for the family where they are plain matrix
    products (a loss with a simple ``error``, an activation whose derivative is a function
    of its output, registry meta both): the forward keeps each layer's output, the backward
    multiplies the error back through them. Equal to autograd up to float rounding
    (tests/test_cohort.py)."""
    depth = len(params) // 2
    weights = params[:depth]
    outputs, activations = _forward(params, x, activation, masks)  # outputs[i]: the input of layer i
    out = outputs.pop()  # (k, batch, 1)
    if squash:
        out = out.tanh()
    delta = error(out, y).unsqueeze(2)  # dloss/dout, per run (k, batch, 1)
    if squash:
        delta = delta * ACTIVATIONS["tanh"].meta["slope"](out)
    grad_w: list[torch.Tensor] = [torch.empty(0)] * depth
    grad_b: list[torch.Tensor] = [torch.empty(0)] * depth
    for i in range(depth - 1, -1, -1):
        grad_w[i] = torch.bmm(delta.transpose(1, 2), outputs[i])
        grad_b[i] = delta.sum(1)
        if i:
            delta = torch.bmm(delta, weights[i])
            if masks is not None:  # (in autograd's order: through the dropout, then the activation)
                delta = delta * masks[i - 1]
            delta = delta * slope(activations[i - 1])
    if cfg.regularization == "l2" and cfg.regularization_rate:
        grad_w = [g + cfg.regularization_rate * w for g, w in zip(grad_w, weights)]
    elif cfg.regularization == "l1" and cfg.regularization_rate:
        grad_w = [g + cfg.regularization_rate * w.sign() for g, w in zip(grad_w, weights)]
    return [*grad_w, *grad_b]
