"""Gradient/weight/optimizer-state statistics against direct torch computations."""

from __future__ import annotations

import base64

import pytest
import torch

from descent.nn import stats
from descent.nn.optimizers import OPTIMIZERS, OptimizerParams


def test_norms_histogram_and_ratios() -> None:
    torch.manual_seed(0)
    a, b = torch.randn(4, 3), torch.randn(7)
    # (summed in float64 on the host: torch's float32 norm agrees to float32 rounding)
    assert stats.norms([a, None, b]) == pytest.approx([float(torch.linalg.norm(a)), 0.0, float(torch.linalg.norm(b))], rel=1e-6)
    h = stats.histogram(a, bins=5)
    assert sum(h["counts"]) == 12 and h["lo"] == float(a.min()) and h["hi"] == float(a.max())
    assert stats.histogram(torch.full((6,), 0.3))["counts"].count(6) == 1  # all equal: one bin
    after = [a + 0.01]
    (ratio,) = stats.update_ratios([a], after)
    assert abs(ratio - float(torch.linalg.norm(torch.full_like(a, 0.01)) / torch.linalg.norm(a))) < 1e-6


def test_state_norms_read_the_optimizer_state() -> None:
    w = torch.ones(3, requires_grad=True)
    opt = OPTIMIZERS["adam"].fn([w], 0.1, OptimizerParams())
    assert stats.state_norms(opt, "adam", [w]) == []  # nothing before the first step
    w.grad = torch.tensor([1.0, 2.0, 3.0])
    opt.step()
    got = {s["key"]: s["values"][0] for s in stats.state_norms(opt, "adam", [w])}
    assert got["exp_avg_sq"] == pytest.approx(float(torch.linalg.norm(opt.state[w]["exp_avg_sq"])), rel=1e-6)
    assert got["exp_avg"] == pytest.approx(float(torch.linalg.norm(0.1 * w.grad)), rel=1e-6)


def test_trace_is_bounded_and_decodes() -> None:
    trace = stats.Trace(layers=2, cap=8)
    for step in range(1, 30):
        trace.record(step, [10.0**-step, 1.0])
    assert len(trace.steps) < 8 and trace.steps == sorted(trace.steps)
    enc = trace.encode()
    data = base64.b64decode(enc["data"])
    assert len(data) == 2 * len(enc["steps"])
    lo, hi = enc["range"]
    row0 = list(data[: len(enc["steps"])])
    assert row0 == sorted(row0, reverse=True)  # layer 0 shrinks over steps
    step = enc["steps"][0]
    decoded = lo + (row0[0] - 1) / 254 * (hi - lo)
    assert abs(decoded - (-step)) < (hi - lo) / 254 + 1e-9
    trace.record(99, [float("nan"), 0.0])
    last = base64.b64decode(trace.encode()["data"])
    n = len(trace.steps)
    assert last[n - 1] == 255 and last[2 * n - 1] == 0  # not finite / zero
