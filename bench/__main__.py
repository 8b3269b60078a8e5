"""`make bench`: every benchmark's table, one section per lab. The soak test is separate
(`python -m bench.soak`, minutes long), and so is the load test (`make load`)."""

from __future__ import annotations

import platform

import torch

from bench import arena, attention, batching, cnn, frames, lone, lr_change, mlp, page, step, workers
from bench.common import DEVICE, print_table


def main() -> None:
    print(f"# Descent benchmarks\n\nmachine: {platform.machine()}, {torch.get_num_threads()} threads available, "
          f"torch {torch.__version__}, training device {DEVICE} (DESCENT_DEVICE overrides)")
    for module in (mlp, frames, lone, page, step, batching, lr_change, workers, attention, arena, cnn):
        print_table(module.TITLE, module.rows())


if __name__ == "__main__":
    main()
