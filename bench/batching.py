"""Cross-session batching: K sessions with the same network shape (the default setup,
2-4-2-1 tanh, 0.5*MSE, SGD, batch 10), each with its own weights and its own batch,
stepped (a) one by one (lab.step), (b) as the worker does for a cohort: whole lab steps
(batch order, schedule, counters, epoch-end evaluation) with one stacked baddbmm forward,
autograd and update for all (``Lab.step_together``, labs/mlp/cohort.py), and, bare steps
only, (c) with torch.func (vmap of grad of functional_call), (d) with hand-written
batched matrix products and no autograd. Per-session cost as the class grows, and each
stacked result checked against stepping every session alone. Then the cohort path for
optimizers with state (momentum, Adam: their state stacked too) against lab.step.

    PYTHONPATH=backend python -m bench.batching"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch.func import functional_call, grad, stack_module_state, vmap

from bench.common import DEVICE, WHERE, Row, median_time
from descent.labs.mlp.lab import Lab
from descent.labs.mlp.schema import Config

TITLE = f"cross-session batching, default setup ({WHERE})"
CLASS_SIZES = (1, 10, 50)
CHECK_STEPS = 20


class Stacked:
    """K same-shaped sessions' weights as stacked tensors: weights[l] (K, out, in),
    biases[l] (K, out)."""

    def __init__(self, labs: list[Lab]) -> None:
        linears = [[m for m in lab.model if isinstance(m, torch.nn.Linear)] for lab in labs]
        self.weights = [torch.stack([ls[i].weight.detach() for ls in linears]) for i in range(len(linears[0]))]
        self.biases = [torch.stack([ls[i].bias.detach() for ls in linears]) for i in range(len(linears[0]))]

    def bmm_step(self, x: torch.Tensor, y: torch.Tensor, lr: float) -> None:
        """x: (K, B, in), y: (K, B). The hand-written step of bench.step, batched over K."""
        acts = [x]  # acts[i]: (K, B, width_i)
        for w, b in zip(self.weights, self.biases):
            acts.append(torch.tanh(torch.baddbmm(b[:, None, :], acts[-1], w.transpose(1, 2))))
        out = acts[-1]  # (K, B, 1)
        delta = (out - y[..., None]) * (1.0 - out * out) / x.shape[1]
        for i in range(len(self.weights) - 1, -1, -1):
            grad_w = delta.transpose(1, 2) @ acts[i]  # (K, out_i, in_i)
            grad_b = delta.sum(1)
            if i:
                delta = (delta @ self.weights[i]) * (1.0 - acts[i] * acts[i])
            self.weights[i].sub_(grad_w, alpha=lr)
            self.biases[i].sub_(grad_b, alpha=lr)

    def flat(self, k: int) -> list[torch.Tensor]:
        return [t[k] for pair in zip(self.weights, self.biases) for t in pair]


def vmap_stepper(labs: list[Lab]) -> tuple[Callable[[torch.Tensor, torch.Tensor], None], dict[str, torch.Tensor]]:
    params, _ = stack_module_state([lab.model for lab in labs])  # name -> (K, ...)
    params = {k: v.detach().clone() for k, v in params.items()}
    base = copy.deepcopy(labs[0].model).to("meta")
    loss_fn, lr = labs[0].loss_fn, labs[0].lr

    def loss(p: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return loss_fn(functional_call(base, p, (x,)), y)

    grads_of = vmap(grad(loss))

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        g = grads_of(params, x, y)
        with torch.no_grad():
            torch._foreach_sub_(list(params.values()), [g[k] for k in params], alpha=lr)

    return step, params


def rows() -> list[Row]:
    torch.set_num_threads(1)
    out: list[Row] = []
    for k in CLASS_SIZES:
        labs = [Lab(Config(seed=i), DEVICE) for i in range(k)]
        bs = labs[0].config.batch_size
        x = torch.stack([lab.x_train[:bs] for lab in labs])  # (K, B, 2)
        y = torch.stack([lab.y_train[:bs] for lab in labs])  # (K, B)
        lr = labs[0].lr
        stacked = Stacked(labs)
        vstep, vparams = vmap_stepper(labs)
        # equality: every session stepped alone (autograd + torch.optim.SGD on a copy)
        alone = []
        for i, lab in enumerate(labs):
            model = copy.deepcopy(lab.model).requires_grad_(True)
            opt = torch.optim.SGD(model.parameters(), lr=lr)
            for _ in range(CHECK_STEPS):
                opt.zero_grad(set_to_none=True)
                lab.loss_fn(model(x[i]), y[i]).backward()
                opt.step()
            alone.append([p.detach() for p in model.parameters()])
        for _ in range(CHECK_STEPS):
            stacked.bmm_step(x, y, lr)
            vstep(x, y)
        names = list(vparams)
        err_bmm = max(float((a - b).abs().max()) for i in range(k) for a, b in zip(alone[i], stacked.flat(i)))
        err_vmap = max(float((alone[i][j] - vparams[n][i]).abs().max()) for i in range(k) for j, n in enumerate(names))

        # the worker's path, on copies of the labs, against the same copies stepped alone
        cohort = [Lab(Config(seed=i), DEVICE) for i in range(k)]
        cohort_alone = [Lab(Config(seed=i), DEVICE) for i in range(k)]
        Lab.step_together(cohort, CHECK_STEPS)
        for lab in cohort_alone:
            lab.step(CHECK_STEPS)
        err_cohort = max(float((a.weight - b.weight).detach().abs().max()) for p, q in zip(cohort, cohort_alone)
                         for a, b in zip(p.linears, q.linears))

        # steps per call: about what the worker gives a cohort per round (1/35 s shared by the
        # class, ~100 steps at ~10 µs per session-step), over which a call's fixed costs
        # (stacking, writing back, scoring the epoch ends) spread
        reps = 100

        def one_by_one() -> None:
            for _ in range(reps):
                for lab in labs:
                    lab.step(1)

        def together_bmm() -> None:
            for _ in range(reps):
                stacked.bmm_step(x, y, lr)

        def together_cohort() -> None:
            Lab.step_together(cohort, reps)

        def together_vmap() -> None:
            for _ in range(reps):
                vstep(x, y)

        for name, fn, err in (("one by one (lab.step)", one_by_one, None),
                              ("stacked, Lab.step_together (the worker's cohorts)", together_cohort, err_cohort),
                              ("stacked, torch.func vmap(grad)", together_vmap, err_vmap),
                              ("stacked, hand-written bmm", together_bmm, err_bmm)):
            us = median_time(fn, repeats=3) / (reps * k) * 1e6
            note = "per session per step"
            if err is not None:
                note += f"; after {CHECK_STEPS} steps differs from each session stepped alone by {err:.1e} at most"
            out.append({"name": f"{k} sessions, {name}", "value": round(us, 1), "unit": "µs", "note": note})
    return out + stateful_rows()


def stateful_rows() -> list[Row]:
    """The same comparison for optimizers that keep state (stacked with the weights in a cohort)."""
    out: list[Row] = []
    for optimizer in ("momentum", "adam"):
        for k in CLASS_SIZES:
            labs = [Lab(Config(seed=i, optimizer=optimizer, learning_rate=0.01), DEVICE) for i in range(k)]
            reps = 100
            alone = median_time(lambda: [lab.step(reps // 10) for lab in labs], repeats=3) / (reps // 10 * k) * 1e6
            together = median_time(lambda: Lab.step_together(labs, reps), repeats=3) / (reps * k) * 1e6
            out.append({"name": f"{k} sessions on {optimizer}, stacked, Lab.step_together", "value": round(together, 1), "unit": "µs",
                        "note": f"per session per step; one by one (lab.step): {alone:.1f} µs"})
    return out


if __name__ == "__main__":
    from bench.common import print_table

    print_table(TITLE, rows())
