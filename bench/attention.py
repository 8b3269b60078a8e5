"""Benchmark of the attention lab: training speed of the default setup, time to learn reverse,
and the size and cost of its frames. Run: PYTHONPATH=backend python -m bench.attention

Figures are medians of several runs on one thread (as the worker runs them); the machine is
shared and noisy, so compare rows of one run rather than runs of different days."""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import torch

from bench.common import DEVICE, WHERE, median_time, print_table
from descent.labs.attention.lab import Lab
from descent.labs.attention.schema import EPOCH_STEPS, Config

TITLE = f"attention lab ({WHERE})"

LARGEST = dict(layers=4, heads=8, d_model=128, ffn=512, length=16)  # the biggest maps a user can ask for



def frame_bytes(lab: Lab, full: bool) -> int:
    """Size of the views part of a frame as the transport sends it (JSON text)."""
    return len(json.dumps(lab.views(full), allow_nan=False).encode())


def time_to_learn_reverse(seed: int) -> tuple[int, float]:
    lab = Lab(Config(seed=seed), DEVICE)
    started = time.perf_counter()
    while lab.metrics()["test_accuracy"] < 0.99 and lab.step_count < 5000:
        lab.step(EPOCH_STEPS)
    return lab.step_count, time.perf_counter() - started


def rows() -> list[dict[str, Any]]:
    """The benchmark table: one dict per row (name, value, unit, note)."""
    torch.set_num_threads(1)
    out: list[dict[str, Any]] = []
    for label, cfg in (("default (reverse n=8, 2x2 heads, d=32)", Config()), ("largest (4 layers x 8 heads, d=128, T=33)", Config(**LARGEST))):
        lab = Lab(cfg, DEVICE)
        lab.step(EPOCH_STEPS)  # warm up
        steps = 5 * EPOCH_STEPS if cfg == Config() else EPOCH_STEPS
        seconds = median_time(lambda: lab.step(steps), repeats=3)
        out.append({"name": f"training steps/s, {label}", "value": round(steps / seconds, 1), "unit": "steps/s",
                    "note": f"batch {cfg.batch_size}, incl. the held-out evaluation every {EPOCH_STEPS} steps"})
        view_s = median_time(lambda: lab.views(False), repeats=20)
        out.append({"name": f"views() per frame, {label}", "value": round(view_s * 1e3, 2), "unit": "ms", "note": "maps + samples forward pass, encoding"})
        out.append({"name": f"frame views size, {label}", "value": frame_bytes(lab, False), "unit": "bytes",
                    "note": f"maps {cfg.layers}x{cfg.heads}x{lab.task.seq_len}x{lab.task.seq_len} as base64 uint8"})
        out.append({"name": f"full frame views size, {label}", "value": frame_bytes(lab, True), "unit": "bytes",
                    "note": "a new client: adds the vocabulary, the whole time-lapse and the planned LR"})
    learned = [time_to_learn_reverse(seed) for seed in (1, 2, 3)]
    out.append({"name": "steps to 99% on reverse n=8 (default setup)", "value": statistics.median(s for s, _ in learned), "unit": "steps",
                "note": f"seeds 1-3: {[s for s, _ in learned]}"})
    out.append({"name": "seconds to 99% on reverse n=8 (default setup)", "value": round(statistics.median(t for _, t in learned), 2), "unit": "s",
                "note": f"seeds 1-3: {[round(t, 2) for _, t in learned]}"})
    return out


def main() -> None:
    print_table(TITLE, rows())


if __name__ == "__main__":
    main()
