"""Threads or worker processes for training on the CPU? The same work, 8 default-setup labs
stepping for a fixed time, on 1 thread, on 2 threads of one process (they share the GIL),
and in 2 processes (4 labs each); total epochs/s of all labs.

    PYTHONPATH=backend python -m bench.workers

The server uses one worker thread today; this row set is the measurement to decide on."""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time

import torch

from bench.common import DEVICE, WHERE, Row

TITLE = f"training workers: threads or processes ({WHERE} each)"
LABS = 8
SECONDS = 4.0


def train(n_labs: int, seconds: float) -> float:
    """Step ``n_labs`` default labs round-robin (8 steps each in turn) for ``seconds``; epochs done."""
    from descent.labs.mlp.lab import Lab
    from descent.labs.mlp.schema import Config

    torch.set_num_threads(1)
    labs = [Lab(Config(seed=i), DEVICE) for i in range(n_labs)]
    for lab in labs:
        lab.step(20)  # warm up
    start = [lab.step_count for lab in labs]
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        for lab in labs:
            lab.step(8)
    return sum((lab.step_count - s) / lab.steps_per_epoch for lab, s in zip(labs, start))


def _child(n_labs: int, seconds: float, out: mp.Queue[float]) -> None:
    out.put(train(n_labs, seconds))


def in_threads(k: int) -> float:
    results: list[float] = []
    threads = [threading.Thread(target=lambda: results.append(train(LABS // k, SECONDS))) for _ in range(k)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(results) / SECONDS


def in_processes(k: int) -> float:
    ctx = mp.get_context("spawn")
    out: mp.Queue[float] = ctx.Queue()
    procs = [ctx.Process(target=_child, args=(LABS // k, SECONDS, out)) for _ in range(k)]
    for p in procs:
        p.start()
    total = sum(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join()
    return total / SECONDS


def rows(rounds: int = 2) -> list[Row]:
    load = os.getloadavg()[0]
    variants = {"1 thread": lambda: in_threads(1), "2 threads, one process (GIL shared)": lambda: in_threads(2),
                "2 processes": lambda: in_processes(2)}
    seen: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):  # interleaved, so a busy moment of the shared machine hits all alike
        for name, fn in variants.items():
            seen[name].append(fn())
    return [{"name": f"{LABS} default labs, {name}", "value": round(max(v), 1), "unit": "epochs/s",
             "note": f"all labs together, best of {rounds} x {SECONDS:g} s ({', '.join(f'{x:.0f}' for x in v)}); "
                     f"load average {load:.1f} at the start on {os.cpu_count()} cores"}
            for name, v in seen.items()]


if __name__ == "__main__":
    from bench.common import print_table

    print_table(TITLE, rows())
