"""What the optimizer/schedule/gradient-view features cost the MLP lab: µs per training
step (the hot path) and ms per frame's views (statistics computed at frame time).
Medians of several runs on one thread, like the worker. Run:
PYTHONPATH=backend python scripts/bench_training_stats.py"""

from __future__ import annotations

import statistics
import time

import torch

from descent.labs.mlp.lab import Lab
from descent.labs.mlp.schema import Config

SETUPS = {
    "default (sgd, constant)": {},
    "sgd + cosine schedule": {"schedule": "cosine"},
    "adam + warmup_cosine": {"optimizer": "adam", "schedule": "warmup_cosine"},
    "yogi (hand-written)": {"optimizer": "yogi"},
    "batchnorm + dropout": {"norm": "batch", "dropout": 0.1},
    "big: 7 features, 6x8": {"features": ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"], "hidden": [8] * 6},
}


def median_time(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    torch.set_num_threads(1)
    cpu = torch.device("cpu")
    print(f"{'setup':28} {'µs/step':>9} {'views ms':>9} {'schedule curve ms':>18}")
    for name, overrides in SETUPS.items():
        lab = Lab(Config(**overrides), cpu)
        lab.step(50)  # warm up
        steps = 200
        per_step = median_time(lambda: lab.step(steps)) / steps * 1e6
        views = median_time(lambda: lab.views(full=False)) * 1e3
        curve = median_time(lambda: lab.schedule_view(), repeats=3) * 1e3
        print(f"{name:28} {per_step:9.0f} {views:9.2f} {curve:18.1f}")


if __name__ == "__main__":
    main()
