"""Where one default-setup training step goes (MLP lab: circle, 2-4-2-1 tanh, MSE, SGD,
batch 10; one CPU thread), and what the same step costs without autograd and nn.Module.

    PYTHONPATH=backend python -m bench.step

The stages are timed with the lab's own model, loss, optimizer and schedule on one batch,
cumulatively (forward; + loss; + zero_grad and backward; + optimizer step; + schedule step),
so each row is a difference of medians. Epoch work (shuffling the batches, evaluating both
splits once an epoch) is shown per step, amortised over the epoch's steps. The last rows
are a hand-written step (the same maths: tanh layers, 0.5*mean squared error, plain SGD,
written as matrix products under no_grad) checked against autograd on the lab's own
weights, to show what the Python/autograd/optimizer machinery costs. For scale, the issue's
figures: eager PyTorch ~450 µs per step, TensorFlow Playground's JavaScript 7.3 µs."""

from __future__ import annotations

import copy
import statistics
import time

import torch

from bench.common import DEVICE, WHERE, Row, median_time
from descent.labs.mlp.lab import Lab
from descent.labs.mlp.schema import Config

TITLE = f"one default-setup step, stage by stage ({WHERE})"
REPS = 2000


def per_step(fn, reps: int = REPS) -> float:  # type: ignore[no-untyped-def]
    """Median over 5 runs of ``reps`` calls, in µs per call."""

    def run() -> None:
        for _ in range(reps):
            fn()

    return median_time(run) / reps * 1e6


def manual_step(weights: list[torch.Tensor], biases: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor,
                lr: float) -> None:
    """One SGD step of a tanh MLP (tanh output) on 0.5*mean((out - y)^2), by hand.
    weights[i]: (out_i, in_i) as nn.Linear stores them; x: (B, in_0); y: (B,)."""
    acts = [x]  # acts[i]: (B, width_i), the input of layer i
    for w, b in zip(weights, biases):
        acts.append(torch.tanh(torch.addmm(b, acts[-1], w.t())))
    out = acts[-1]  # (B, 1)
    # d loss / d out = (out - y) / B; through tanh: * (1 - out^2)
    delta = (out - y[:, None]) * (1.0 - out * out) / x.shape[0]  # (B, width_L)
    for i in range(len(weights) - 1, -1, -1):
        grad_w = delta.t() @ acts[i]  # (out_i, in_i)
        grad_b = delta.sum(0)
        if i:  # the previous layer's delta, through its tanh
            delta = (delta @ weights[i]) * (1.0 - acts[i] * acts[i])
        weights[i].sub_(grad_w, alpha=lr)
        biases[i].sub_(grad_b, alpha=lr)


def rows() -> list[Row]:
    torch.set_num_threads(1)
    lab = Lab(Config(), DEVICE)
    lab.step(100)  # warm up
    spe = lab.steps_per_epoch
    model, opt, sched, loss_fn = lab.model, lab.optimizer, lab.schedule, lab.loss_fn
    xb, yb = lab.x_train[: lab.config.batch_size], lab.y_train[: lab.config.batch_size]
    names = ["forward (nn.Sequential, autograd recording)", "loss (0.5 * mse_loss)", "zero_grad + backward",
             "optimizer.step (torch.optim.SGD)", "schedule.step (LR scheduler)"]

    def staged() -> list[float]:
        """µs per step in each stage: one loop of steps with a clock read between stages."""
        spent = [0.0] * len(names)
        clock = time.perf_counter
        for _ in range(REPS):
            t0 = clock()
            out = model(xb)
            t1 = clock()
            loss = loss_fn(out, yb)
            t2 = clock()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            t3 = clock()
            opt.step()
            t4 = clock()
            sched.step()
            t5 = clock()
            for i, (a, b) in enumerate(((t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5))):
                spent[i] += b - a
        return [x / REPS * 1e6 for x in spent]

    runs, wholes = [], []
    for _ in range(5):  # interleaved, so the machine's load shifts both alike
        runs.append(staged())
        wholes.append(per_step(lambda: lab.step(1), reps=REPS // 2))
    whole = statistics.median(wholes)
    shuffle = per_step(lab.new_epoch, reps=200) / spe
    evaluate = per_step(lab.evaluate, reps=200) / spe
    stages = [(name, statistics.median(r[i] for r in runs)) for i, name in enumerate(names)]
    stages += [(f"shuffle and split an epoch, per step (/{spe})", shuffle),
               (f"evaluate train+test at epoch end, per step (/{spe})", evaluate)]
    out: list[Row] = [{"name": "whole step, lab.step(1)", "value": round(whole), "unit": "µs",
                       "note": f"as the worker runs it (with the update-ratio snapshot of a call's last step); {spe} steps per epoch"}]
    for name, us in stages:
        out.append({"name": f"  {name}", "value": round(us), "unit": "µs", "note": f"{100 * us / whole:.0f}% of the whole step"})
    rest = whole - sum(us for _, us in stages)
    out.append({"name": "  the rest (lab.step's loop, snapshot, counters)", "value": round(rest), "unit": "µs",
                "note": "whole minus the stages above"})

    # the same step by hand, checked against autograd from the same weights
    ref = copy.deepcopy(model).requires_grad_(True)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=lab.lr)
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        weights = [m.weight.detach().clone() for m in linears]  # (out, in) each
        biases = [m.bias.detach().clone() for m in linears]
        for _ in range(50):
            manual_step(weights, biases, xb, yb, lab.lr)
    for _ in range(50):
        ref_opt.zero_grad(set_to_none=True)
        loss_fn(ref(xb), yb).backward()
        ref_opt.step()
    ref_params = [p.detach() for m in ref if isinstance(m, torch.nn.Linear) for p in (m.weight, m.bias)]
    mine = [p for pair in zip(weights, biases) for p in pair]
    err = max(float((a - b).abs().max()) for a, b in zip(ref_params, mine))
    moved = max(float((m.weight.detach() - w).abs().max()) for m, w in zip(linears, weights))  # the check is not vacuous

    def by_hand() -> None:
        with torch.no_grad():
            manual_step(weights, biases, xb, yb, lab.lr)

    hand = per_step(by_hand)
    out.append({"name": "hand-written step (no autograd, no nn.Module, no optim)", "value": round(hand), "unit": "µs",
                "note": f"{whole / hand:.1f}x less than lab.step; after 50 steps (weights moved up to {moved:.1e}) it differs from autograd+SGD by {err:.1e} at most"})
    out.append({"name": "reference: TensorFlow Playground (JavaScript)", "value": 7.3, "unit": "µs",
                "note": "the issue's figure; eager PyTorch: ~450 µs"})
    return out


if __name__ == "__main__":
    from bench.common import print_table

    print_table(TITLE, rows())
